package record

// Origin is how a task entered a crawl's frontier.
type Origin uint8

const (
	OriginInput       Origin = iota // an input line: a seed
	OriginLink                      // a link on a page the crawl fetched
	OriginRedirect                  // the target of a redirect the crawl fetched
	OriginSitemapURL                // a URL a sitemap lists (--sitemaps)
	OriginSitemapFile               // a sitemap or sitemap index: internal, not written
	OriginRobots                    // a seed host's robots.txt, read for its Sitemap lines: internal, not written
)

// Internal reports whether a task of origin o is the crawl's own (a
// sitemap, a robots.txt read for sitemaps): fetched through the same
// schedule, read by the discover stage, and never written.
func (o Origin) Internal() bool { return o == OriginSitemapFile || o == OriginRobots }

// Task is a crawl's envelope of a record (--follow): where the record came
// from and what it may lead to. Only the frontier and the discover stage
// read or write it; the fetch and extract stages never look at it. It is
// nil for a run that does not crawl.
//
// Depth and Parent are also written out (depth, parent): they say where in
// the crawl the record was found.
type Task struct {
	Origin Origin
	Depth  int    // links followed from the seed: 0 for a seed; a redirect keeps its page's depth
	Parent int64  // the seq of the record that first linked here; 0 for a seed
	Hops   int    // redirects followed in a row to get here, for --max-redirects
	Scope  *Scope // the seed's scope, shared by every task that descends from it

	Retried bool // it has gone into a retry's backoff: its level no longer waits for it
}

// Scope is what a seed lets its crawl reach: one of Key's kinds, decided
// by the discover stage (stages.Scope). Shared, read-only.
type Scope struct {
	Kind string // "host", "domain", "prefix" or "any"
	Key  string // the seed's host key, registrable domain, or URL prefix
}
