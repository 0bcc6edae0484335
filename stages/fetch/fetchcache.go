package fetch

import (
	"crypto/sha256"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"sluice/record"
	"sluice/stages/cache"
)

// A response that varies on request fields is kept twice: under the URL's
// key (the last one kept, which says which fields select a variant) and
// under that key with its fields' values (variantKey), so that each
// variant of a URL is kept and found (RFC 9111, 4.1).
type cacheLookup struct {
	key     string        // the URL's key: the URL, "HEAD " before it for a HEAD
	entry   string        // where kept was found: key, or a variant's key
	kept    *cache.Stored // nil: none
	matches bool          // kept was sent for the same values of the fields its Vary names
	req     cache.Control // the request's Cache-Control
	browser bool          // a rendered page's request: the browser needs body and header
}

// variantKey is the key of the variant of key for the Vary values vary.
// Store.Invalidate drops the variants of a key with it (they follow a NUL).
func variantKey(key, vary string) string { return key + "\x00" + vary }

// find looks up key and, when what it keeps varies on fields the request
// sent other values of, the variant for those values.
func (f *Fetcher) find(lk *cacheLookup, sent http.Header) {
	lk.entry = lk.key
	lk.kept = f.cfg.Cache.Lookup(lk.key)
	if lk.kept == nil {
		return
	}
	vary := cache.VaryKey(lk.kept.Header, sent)
	if lk.matches = lk.kept.Vary == vary; lk.matches || vary == "" {
		return
	}
	if v := f.cfg.Cache.Lookup(variantKey(lk.key, vary)); v != nil && v.Vary == vary {
		lk.entry, lk.kept, lk.matches = variantKey(lk.key, vary), v, true
	}
}

// store keeps s under lk's key and, when it varies, as its variant.
func (f *Fetcher) store(lk *cacheLookup, s *cache.Stored) {
	f.cfg.Cache.Store(lk.key, s)
	if s.Vary != "" {
		f.cfg.Cache.Store(variantKey(lk.key, s.Vary), s)
	}
}

// lookup finds what the cache keeps for r's request, if r's request may
// use the cache (nil if not), and reports whether it completed r without a
// request: with --cache-fresh, or when the request says only-if-cached, a
// kept response it may reuse (fresh, or stale within the request's
// max-stale) answers at once, its cache field "fresh" or "stale"; with
// only-if-cached and none, the answer is a 504 (RFC 9111, 5.2.1.7). A
// response kept for other values of its Vary fields is not reused, but its
// validators still go with the request.
func (f *Fetcher) lookup(r *record.Record, sh shaped, browser bool) (*cacheLookup, bool) {
	if !cache.Cacheable(sh.method, sh.body, sh.header) {
		return nil, false
	}
	url := r.URL
	if r.Target != nil {
		url = r.Target.String()
	}
	lk := &cacheLookup{key: url, req: cache.RequestControl(sh.header), browser: browser}
	if sh.method == http.MethodHead {
		lk.key = "HEAD " + url // a HEAD's answer has no body to complete a GET with
	}
	f.find(lk, sh.header)
	onlyCached := lk.req.Has("only-if-cached")
	if lk.matches && (f.cfg.CacheFresh || onlyCached) {
		now := time.Now()
		if how := lk.kept.Reusable(now, lk.req); how != cache.ReuseNo {
			lk.kept.Reused(r, f.keptBody(lk), now)
			r.FinalURL, r.Cache = url, cache.Fresh
			if how == cache.ReuseStale {
				r.Cache = cache.Stale
			}
			f.cfg.Cache.Touch(lk.entry)
			f.trim(r, lk)
			return lk, true
		}
	}
	if onlyCached {
		r.Status, r.FinalURL, r.Cache = http.StatusGatewayTimeout, url, cache.Miss
		return lk, true
	}
	return lk, false
}

// staleOnError answers a failed attempt (no response, or a 500, 502, 503
// or 504) with what the cache keeps, when it may (Stored.staleIfError):
// r's cache field says "stale", and its error is gone.
func (f *Fetcher) staleOnError(r *record.Record, lk *cacheLookup) bool {
	if lk == nil || !lk.matches {
		return false
	}
	switch {
	case r.Err != nil && r.Status == 0, r.Status == 500, r.Status == 502, r.Status == 503, r.Status == 504:
	default:
		return false
	}
	now := time.Now()
	if !lk.kept.StaleIfError(now, lk.req, f.cfg.CacheStaleIfError) {
		return false
	}
	r.Err, r.RetryAfter = nil, 0
	lk.kept.Reused(r, f.keptBody(lk), now)
	r.Cache = cache.Stale
	f.trim(r, lk)
	return true
}

// invalidate drops what the cache keeps of the target of an unsafe
// request answered without error, and of the URLs its Location and
// Content-Location name on the same origin (RFC 9111, 4.4).
func (f *Fetcher) invalidate(resp *http.Response) {
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return
	}
	target := resp.Request.URL
	drop := func(u *url.URL) {
		f.cfg.Cache.Invalidate(u.String())
		f.cfg.Cache.Invalidate("HEAD " + u.String())
	}
	drop(target)
	for _, field := range []string{"Location", "Content-Location"} {
		if v := resp.Header.Get(field); v != "" {
			if u, err := target.Parse(v); err == nil && u.Scheme == target.Scheme && u.Host == target.Host {
				u.Fragment = ""
				drop(u)
			}
		}
	}
}

// keptBody reads the body kept for key when the record needs it (for
// extraction or --body, or a browser's).
func (f *Fetcher) keptBody(lk *cacheLookup) []byte {
	if !f.cfg.KeepBody && !lk.browser {
		return nil
	}
	return f.cfg.Cache.Body(lk.entry)
}

// keep settles a response with the cache: a 304 to a conditional request
// completes r from what was kept; a storable response is kept. It sets
// r's cache field, and drops the body and header fields again unless the
// record needs them.
//
// A 304 for a response kept for other values of its Vary fields completes
// r as well (the server says the kept one is what it would send), and the
// entry is kept for this request's values from then on.
func (f *Fetcher) keep(r *record.Record, lk *cacheLookup, sent, got http.Header, requested time.Time) {
	defer f.trim(r, lk)
	kept := lk.kept
	now := time.Now()
	switch {
	case kept != nil && r.Status == http.StatusNotModified:
		kept.Revalidated(got, requested, now)
		kept.Fill(r, f.keptBody(lk))
		r.Cache = cache.Revalidated
		if lk.matches {
			f.cfg.Cache.Refresh(lk.entry, kept)
		} else if body := f.cfg.Cache.Body(lk.entry); body != nil || kept.Length == 0 {
			kept.Vary, kept.Body = cache.VaryKey(kept.Header, sent), body
			f.store(lk, kept)
			kept.Body = nil
		}
		return
	}
	sum := sha256.Sum256(r.Body)
	switch {
	case kept == nil:
		r.Cache = cache.Miss
	case r.Status == kept.Status && sum == kept.Sum:
		r.Cache = cache.Unchanged
	default:
		r.Cache = cache.Changed
	}
	if r.Err == nil && cache.Storable(r.Status, got) {
		f.store(lk, &cache.Stored{
			Status: r.Status, Header: cache.StoredHeader(got), Body: r.Body, Length: int64(len(r.Body)), Sum: sum, Truncated: r.Truncated,
			Vary: cache.VaryKey(got, sent), Requested: requested, Received: now,
		})
	}
}

// wantBody says whether the cache needs a response's body: to keep it, or
// to tell a changed page from the kept one.
func wantBody(kept *cache.Stored, resp *http.Response) bool {
	return kept != nil && resp.StatusCode != http.StatusNotModified || cache.Storable(resp.StatusCode, resp.Header)
}

// trim drops what the cache had the record keep and nothing else needs.
func (f *Fetcher) trim(r *record.Record, lk *cacheLookup) {
	if lk.browser { // the browser needs them
		return
	}
	if !f.cfg.KeepBody {
		r.Body = nil
	}
	if !f.cfg.KeepHeader {
		r.Header = nil
	}
}

type cacheCounts struct {
	fresh, revalidated, changed, unchanged, stale, miss, saved atomic.Int64
}

// Settled counts r by its cache field once its last attempt is made
// (FetchFlow calls it), and hands a robots.txt's archive to --warc's
// writer.
func (f *Fetcher) Settled(r *record.Record) {
	f.cfg.Archive.Robots(r)
	c := &f.cached
	switch r.Cache {
	case cache.Fresh:
		c.fresh.Add(1)
		c.saved.Add(r.ContentLength)
	case cache.Revalidated:
		c.revalidated.Add(1)
		c.saved.Add(r.ContentLength)
	case cache.Changed:
		c.changed.Add(1)
	case cache.Unchanged:
		c.unchanged.Add(1)
	case cache.Stale:
		c.stale.Add(1)
		c.saved.Add(r.ContentLength)
	case cache.Miss:
		c.miss.Add(1)
	}
}

// CacheCounts returns the records so far by their cache field (--cache).
func (f *Fetcher) CacheCounts() cache.Counts {
	c := &f.cached
	return cache.Counts{
		Fresh: c.fresh.Load(), Revalidated: c.revalidated.Load(), Changed: c.changed.Load(), Unchanged: c.unchanged.Load(),
		Stale: c.stale.Load(), Miss: c.miss.Load(), BytesSaved: c.saved.Load(),
	}
}
