package robots

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"sluice/record"
	"sluice/stages/internal/evict"
)

// Robots is --robots: each host's robots.txt (RFC 9309), fetched through
// the schedule before the host's first request, kept per host, and asked
// before each request. It is safe for concurrent use.
//
// The file is read by Parse, line by line as RFC 9309 says:
// the rules that parse count whatever else the file holds.
type Robots struct {
	agent string // the product token of --user-agent, lower case
	now   func() time.Time

	mu    sync.Mutex
	hosts map[string]*robotsEntry
}

type robotsEntry struct {
	rules    Rules    // for the agent; the zero Rules allow everything
	sitemaps []string // its Sitemap lines, for --sitemaps
	disallow bool     // robots.txt could not be read: nothing may be fetched
	why      string   // for disallow
	expires  time.Time
}

// Robots' bounds and times.
const (
	maxRobotsHosts = 100_000
	robotsMaxAge   = 24 * time.Hour  // RFC 9309: a cached robots.txt is used 24 h at most
	robotsRetry    = 5 * time.Minute // a robots.txt that could not be read is asked for again after this
)

// NewRobots returns the robots.txt cache for user agent ua.
func NewRobots(ua string) *Robots {
	token, _, _ := strings.Cut(strings.TrimSpace(ua), "/")
	if f := strings.Fields(token); len(f) > 0 {
		token = f[0]
	}
	return &Robots{agent: strings.ToLower(token), now: time.Now, hosts: map[string]*robotsEntry{}}
}

// Known reports whether host's robots.txt is at hand and fresh.
func (rb *Robots) Known(host string, now time.Time) bool {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	e := rb.hosts[host]
	return e != nil && now.Before(e.expires)
}

// Request returns the record that fetches the robots.txt of the host of r.
func (rb *Robots) Request(r *record.Record) *record.Record {
	target := r.Target
	if target == nil {
		target, _ = url.Parse(r.URL) // the schedule holds only records with a host
	}
	u := &url.URL{Scheme: target.Scheme, Host: target.Host, Path: "/robots.txt"}
	return &record.Record{URL: u.String(), Target: u, Host: r.Host, Task: &record.Task{Origin: record.OriginRobotsRules}}
}

// Store reads a fetched robots.txt record: a 2xx body is parsed, any other
// 4xx, or more redirects than RobotsMaxRedirects, allows everything, and a
// 5xx, a 429 or no answer at all disallows everything until robotsRetry
// has passed (RFC 9309, 2.3.1).
func (rb *Robots) Store(r *record.Record) {
	now := rb.now()
	e := &robotsEntry{expires: now.Add(freshness(r.Header))}
	switch {
	case r.Err != nil && r.Err.Kind == record.KindRedirects:
		// More than RobotsMaxRedirects: RFC 9309 lets a crawler take the
		// file as unavailable, as a 4xx, which allows everything.
	case r.Err != nil && r.Status == 0:
		e.disallow, e.why, e.expires = true, fmt.Sprintf("could not be read (%s)", r.Err.Kind), now.Add(robotsRetry)
	case r.Status >= 500 || r.Status == http.StatusTooManyRequests:
		e.disallow, e.why, e.expires = true, fmt.Sprintf("could not be read (HTTP %d)", r.Status), now.Add(robotsRetry)
	case r.Status >= 200 && r.Status < 300:
		file := Parse(r.Body)
		e.rules, e.sitemaps = file.For(rb.agent), file.Sitemaps
	}
	rb.mu.Lock()
	defer rb.mu.Unlock()
	evict.ToFit(rb.hosts, maxRobotsHosts,
		func(old *robotsEntry) bool { return !now.Before(old.expires) },
		func(*robotsEntry) bool { return true })
	rb.hosts[r.Host] = e
}

// freshness is how long a robots.txt answer is kept: its max-age, at most
// robotsMaxAge.
func freshness(h http.Header) time.Duration {
	for _, d := range strings.Split(h.Get("Cache-Control"), ",") {
		if v, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(d)), "max-age="); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				return min(time.Duration(n)*time.Second, robotsMaxAge)
			}
		}
	}
	return robotsMaxAge
}

// Sitemaps returns the Sitemap lines of host's robots.txt, and whether the
// file is at hand (read, or found missing or unreadable: no lines).
func (rb *Robots) Sitemaps(host string) ([]string, bool) {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	e := rb.hosts[host]
	if e == nil {
		return nil, false
	}
	return e.sitemaps, true
}

// Allowed reports whether r may be fetched, and why not; a host whose
// robots.txt is not at hand allows it.
func (rb *Robots) Allowed(r *record.Record) (bool, string) {
	rb.mu.Lock()
	e := rb.hosts[r.Host]
	rb.mu.Unlock()
	switch {
	case e == nil:
		return true, ""
	case e.disallow:
		return false, fmt.Sprintf("robots.txt of %s %s: nothing may be fetched until it can be", r.Host, e.why)
	}
	path := "/"
	if r.Target != nil {
		path = r.Target.RequestURI()
	}
	if e.rules.Allowed(path) {
		return true, ""
	}
	return false, fmt.Sprintf("robots.txt of %s disallows %s for %s", r.Host, record.QuoteShort(path), rb.agent)
}

// CrawlDelay returns host's Crawl-delay, 0 for none.
func (rb *Robots) CrawlDelay(host string) time.Duration {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if e := rb.hosts[host]; e != nil {
		return e.rules.CrawlDelay
	}
	return 0
}
