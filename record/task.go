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
	OriginAgain                     // a page a crawl through a queue found again nearer its seed: fetched again to follow its links from there, not written again
	OriginRobotsRules               // a host's robots.txt, read for --robots before anything of the host goes: the schedule's own, never leaves the fetch stage
)

// Internal reports whether a task of origin o is the crawl's own (a
// sitemap, a robots.txt read for sitemaps): fetched through the same
// schedule, read by the discover stage, and never written.
func (o Origin) Internal() bool { return o == OriginSitemapFile || o == OriginRobots }

// Written reports whether a task of origin o is written out: all but the
// crawl's own and a page fetched again, whose record its first fetch wrote.
func (o Origin) Written() bool { return !o.Internal() && o != OriginAgain }

// Task is a record's envelope: where the record came from and what it may
// lead to. A crawl (--follow) gives every record one: its origin, depth and
// lineage; only the frontier and the discover stage read or write those. A
// queue (--in) gives one to every message: its id. The fetch and extract
// stages never look at it. It is nil for a line of input
// without --follow.
//
// Depth and Parent are also written out (depth, parent) for a crawl: they
// say where in the crawl the record was found.
type Task struct {
	Origin Origin
	Depth  int    // links followed from the seed: 0 for a seed; a redirect keeps its page's depth
	Parent int64  // the seq of the record that first linked here; 0 for a seed
	Hops   int    // redirects followed in a row to get here, for --max-redirects
	Scope  *Scope // the seed's scope, shared by every task that descends from it; nil when not crawling

	Retried bool // it has gone into a retry's backoff: its level no longer waits for it

	// A queue's message (--in nats://…); zero for line input. Its
	// acknowledgement is not here but beside the record (flow.Acks).
	MsgID       string // the input message's stream and sequence: the output's Nats-Msg-Id
	Redelivered bool   // the message was delivered before: a worker took it and did not ack it
}

// RobotsRules reports whether t is a host's robots.txt fetched for
// --robots (robots.Robots.Request).
func (t *Task) RobotsRules() bool { return t != nil && t.Origin == OriginRobotsRules }

// Crawled reports whether t is a crawl's task (--follow).
func (t *Task) Crawled() bool { return t != nil && t.Scope != nil }

// Scope is what a seed lets its crawl reach: one of Key's kinds, decided
// by the discover stage (crawl.ScopeOf). Shared, read-only.
type Scope struct {
	Kind string // "host", "domain", "prefix" or "any"
	Key  string // the seed's host key, registrable domain, or URL prefix
}

// Found is a URL a crawled page leads to (a link, a redirect's target, a
// sitemap's entry), with its place in the crawl: what the discover stage
// offers a frontier, local or a queue's.
type Found struct {
	URL    string // absolute http(s), serialized by the WHATWG URL Standard, no fragment
	Host   string // its politeness key
	Origin Origin
	Depth  int
	Hops   int
	Scope  *Scope // the parent's
}

// Why a found URL was not admitted: the reasons a crawl counts (--stats).
const (
	NotSeen         = "seen"           // admitted before
	NotScope        = "scope"          // outside its seed's --scope
	NotDepth        = "depth"          // on a page at --depth
	NotExcluded     = "excluded"       // --exclude matched, or no --include did
	NotMaxPages     = "max_pages"      // --max-pages reached
	NotMaxHostPages = "max_host_pages" // --max-host-pages reached for its host
	NotRedirects    = "redirects"      // more than --max-redirects redirects in a row
	NotStopped      = "stopped"        // found after sluice began to stop
)
