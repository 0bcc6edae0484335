package crawl

import (
	"context"
	"net/url"
	"strings"

	"sluice/record"
	"sluice/stages/robots"
)

// Discoverer is the discover stage (--follow): after extraction, it offers
// the frontier what a page leads to (its links, as --extract links gives
// them, and a redirect's target), each within its seed's scope and the
// --include and --exclude patterns, and counts the rest by reason. It
// keeps no state of its own: what was seen, and the page limits, are the
// frontier's. Safe for concurrent use.
type Discoverer struct {
	cfg    Config
	f      Offerer
	robots *robots.Robots // --robots: robots.txt's Sitemap lines come from its cache; nil without
}

// Offerer is where the discover stage offers what a page leads to: the
// Frontier on one machine, the work queue (sources.Queue) with --in.
type Offerer interface {
	// Offer takes what parent leads to, before parent goes on to be
	// written; it returns once what it admitted is safe (queued, or
	// published and confirmed).
	Offer(parent *record.Record, found []record.Found)
	// Count counts a URL not admitted, by reason.
	Count(reason string)
}

// NewDiscoverer returns the stage that offers to f; robots is --robots'
// cache, or nil.
func NewDiscoverer(cfg Config, f Offerer, robots *robots.Robots) *Discoverer {
	return &Discoverer{cfg: cfg, f: f, robots: robots}
}

// Discover offers what r leads to. A record without a task envelope (it
// was not crawlable: invalid, skipped) leads nowhere.
func (d *Discoverer) Discover(_ context.Context, r *record.Record) {
	t := r.Task
	if t == nil || t.Scope == nil { // no envelope, or one that only acks (--state)
		return
	}
	if t.Origin.Internal() {
		d.f.Offer(r, d.sitemap(r))
		return
	}
	var found []record.Found
	if r.Location != "" {
		if t.Hops >= d.cfg.MaxRedirects {
			d.f.Count(record.NotRedirects)
		} else if fd, ok := d.check(t, r.Location); ok {
			fd.Origin, fd.Depth, fd.Hops = record.OriginRedirect, t.Depth, t.Hops+1
			found = append(found, fd)
		}
	}
	if p := r.Page; p != nil {
		for _, link := range p.Links {
			if t.Depth >= d.cfg.Depth {
				d.f.Count(record.NotDepth)
				continue
			}
			if fd, ok := d.check(t, link); ok {
				fd.Origin, fd.Depth = record.OriginLink, t.Depth+1
				found = append(found, fd)
			}
		}
		d.trim(r)
	}
	d.f.Offer(r, found)
}

// check reads link, an absolute http(s) URL as record.LinkBase writes it,
// against t's scope and the patterns.
func (d *Discoverer) check(t *record.Task, link string) (record.Found, bool) {
	scheme, hostport, ok := linkHost(link)
	if !ok {
		d.f.Count(record.NotScope) // not a URL the fetch stage could send
		return record.Found{}, false
	}
	if !inScope(t.Scope, link, scheme, hostport) {
		d.f.Count(record.NotScope)
		return record.Found{}, false
	}
	if !d.included(link) {
		d.f.Count(record.NotExcluded)
		return record.Found{}, false
	}
	return record.Found{URL: link, Host: record.HostKey(scheme, hostport), Scope: t.Scope}, true
}

// linkHost is link's scheme and host with its port (url.URL's Host);
// false when it has no host.
func linkHost(link string) (scheme, hostport string, ok bool) {
	if scheme, hostport, ok = splitLink(link); ok {
		return scheme, hostport, true
	}
	u, err := url.Parse(link)
	if err != nil || u.Host == "" {
		return "", "", false
	}
	return u.Scheme, u.Host, true
}

// splitLink takes the scheme and host (with its port) from a link as the
// WHATWG serializer writes it, when that is plain: no userinfo and no IPv6
// literal (url.Parse reads those). It saves a url.Parse per link.
func splitLink(link string) (scheme, hostport string, ok bool) {
	scheme, rest, ok := strings.Cut(link, "://")
	if !ok || scheme != "http" && scheme != "https" {
		return "", "", false
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if rest == "" || strings.ContainsAny(rest, "@[") {
		return "", "", false
	}
	return scheme, rest, true
}

// included applies --include (one must match, when any is given) and
// --exclude (none may).
func (d *Discoverer) included(link string) bool {
	for _, re := range d.cfg.Exclude {
		if re.MatchString(link) {
			return false
		}
	}
	if len(d.cfg.Include) == 0 {
		return true
	}
	for _, re := range d.cfg.Include {
		if re.MatchString(link) {
			return true
		}
	}
	return false
}

// trim drops from r's page what was extracted only to be followed.
func (d *Discoverer) trim(r *record.Record) {
	switch {
	case !d.cfg.WritePage && !d.cfg.WriteLinks:
		r.Page = nil
	case !d.cfg.WriteLinks:
		r.Page.Links, r.Page.HasLinks = nil, false
	}
}
