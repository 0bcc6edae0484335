package stages

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"sluice/record"
)

// Cache keeps responses between runs (--cache) so that a request can be
// made conditional and a 304 completed from what was kept. The fetcher
// asks it under the request URL; internal/cache keeps them on disk.
// Lookup and Store are safe for concurrent use; a failing store reports
// its trouble itself and answers as if empty.
type Cache interface {
	Lookup(key string) *Stored     // without its body, which Body reads
	Body(key string) []byte        // the body kept for key; nil when there is none
	Store(key string, s *Stored)   // a new response: all of it
	Refresh(key string, s *Stored) // the same body, with new header fields and times (a 304)
	Touch(key string)              // a fresh hit: the entry was used, for eviction by least recent use
}

// Stored is a response as a cache keeps it: enough to answer for it later.
type Stored struct {
	Status    int
	Header    http.Header // the response's header fields (validators, freshness, Content-Type, ...)
	Body      []byte      // as read, decoded, at most --max-body; nil from Lookup
	Length    int64       // the body's length
	Sum       [32]byte    // the body's SHA-256: a new body is compared with it
	Truncated bool
	Vary      string    // the request's values of the fields its Vary names; a request with others is a miss
	Requested time.Time // when the request was sent (RFC 9111's request_time)
	Received  time.Time // when the response came (response_time)
}

// The cache field of a record.
const (
	CacheMiss        = "miss"        // nothing kept for the URL: a plain request
	CacheFresh       = "fresh"       // --cache-fresh: kept and still fresh, not requested
	CacheRevalidated = "revalidated" // a conditional request answered 304: completed from the cache
	CacheChanged     = "changed"     // kept, and the answer differs: a new status or body
	CacheUnchanged   = "unchanged"   // kept, answered in full (no validators) with the same status and body
)

// cacheable reports whether a request may be answered from, and stored
// in, the cache: GET or HEAD without a body, and no "no-store" asked for.
func cacheable(method string, body []byte, h http.Header) bool {
	return (method == http.MethodGet || method == http.MethodHead) && body == nil &&
		!directives(h)["no-store"].set
}

// conditional adds s's validators to a request's header, a copy of h.
func conditional(h http.Header, s *Stored) http.Header {
	etag, modified := s.Header.Get("ETag"), s.Header.Get("Last-Modified")
	if etag == "" && modified == "" {
		return h
	}
	c := h.Clone()
	if etag != "" {
		c.Set("If-None-Match", etag)
	}
	if modified != "" {
		c.Set("If-Modified-Since", modified)
	}
	return c
}

// storable reports whether a response may be stored: a 200 not marked
// no-store, without Vary: *. A private cache may keep "private" ones.
func storable(status int, h http.Header) bool {
	return status == http.StatusOK && !directives(h)["no-store"].set && h.Get("Vary") != "*"
}

// varyKey is what a request sent of the fields a response varies on.
func varyKey(resp, req http.Header) string {
	var b strings.Builder
	for _, v := range resp.Values("Vary") {
		for _, name := range strings.Split(v, ",") {
			name = http.CanonicalHeaderKey(strings.TrimSpace(name))
			if name != "" {
				b.WriteString(name + ":" + strings.Join(req.Values(name), ",") + "\n")
			}
		}
	}
	return b.String()
}

// Fresh reports whether s may still be used without asking the server,
// under RFC 9111 (section 4.2) for a private cache: its freshness lifetime
// (max-age, else Expires - Date, else a tenth of Date - Last-Modified up to
// a day) is more than its current age. "no-cache" is never fresh.
func (s *Stored) Fresh(now time.Time) bool {
	d := directives(s.Header)
	if d["no-cache"].set {
		return false
	}
	return s.lifetime(d) > s.age(now)
}

func (s *Stored) lifetime(d map[string]directive) time.Duration {
	date := s.date()
	switch {
	case d["max-age"].set:
		n, err := strconv.ParseInt(d["max-age"].value, 10, 64)
		if err != nil || n < 0 {
			return 0 // invalid: stale (RFC 9111, 4.2.1)
		}
		return time.Duration(min(n, 1<<31)) * time.Second
	case s.Header.Get("Expires") != "":
		exp, err := http.ParseTime(s.Header.Get("Expires"))
		if err != nil {
			return 0
		}
		return exp.Sub(date)
	case s.Header.Get("Last-Modified") != "":
		mod, err := http.ParseTime(s.Header.Get("Last-Modified"))
		if err != nil || mod.After(date) {
			return 0
		}
		return min(date.Sub(mod)/10, 24*time.Hour)
	}
	return 0
}

// age is the response's current age (RFC 9111, 4.2.3).
func (s *Stored) age(now time.Time) time.Duration {
	apparent := max(0, s.Received.Sub(s.date()))
	var given time.Duration
	if n, err := strconv.ParseInt(s.Header.Get("Age"), 10, 64); err == nil && n > 0 {
		given = time.Duration(min(n, 1<<31)) * time.Second
	}
	initial := max(apparent, given+s.Received.Sub(s.Requested))
	return initial + now.Sub(s.Received)
}

// date is the response's Date, or when it came without one.
func (s *Stored) date() time.Time {
	if d, err := http.ParseTime(s.Header.Get("Date")); err == nil {
		return d
	}
	return s.Received
}

// revalidated updates s from a 304's header fields (RFC 9111, 4.3.4): the
// new ones replace the kept ones of their names, Content-Length aside.
func (s *Stored) revalidated(h http.Header, requested, received time.Time) {
	s.Header = s.Header.Clone()
	for k, vs := range h {
		if k != "Content-Length" {
			s.Header[k] = vs
		}
	}
	s.Requested, s.Received = requested, received
}

// fill completes r from s, as if s had just been received; body is s's
// body when r needs it, else nil.
func (s *Stored) fill(r *record.Record, body []byte) {
	r.Status = s.Status
	r.ContentType = s.Header.Get("Content-Type")
	r.ContentLength = s.Length
	r.Truncated = s.Truncated
	r.Body, r.Header = body, s.Header
}

type directive struct {
	set   bool
	value string
}

// directives parses the Cache-Control fields of h, names in lower case.
func directives(h http.Header) map[string]directive {
	vs := h.Values("Cache-Control")
	if len(vs) == 0 {
		return nil
	}
	d := map[string]directive{}
	for _, v := range vs {
		for _, part := range strings.Split(v, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
			d[strings.ToLower(strings.TrimSpace(name))] = directive{true, strings.Trim(strings.TrimSpace(value), `"`)}
		}
	}
	return d
}

// lookup finds what the cache keeps for r's request, if r's request may
// use the cache: key is then its URL (for a HEAD, apart from the GET's).
// With --cache-fresh, a fresh response
// completes r at once (its cache field says "fresh").
func (f *Fetcher) lookup(r *record.Record, sh shaped) (key string, kept *Stored) {
	if !cacheable(sh.method, sh.body, sh.header) {
		return "", nil
	}
	url := r.URL
	if r.Target != nil {
		url = r.Target.String()
	}
	key = url
	if sh.method == http.MethodHead {
		key = "HEAD " + url // a HEAD's answer has no body to complete a GET with
	}
	kept = f.cfg.Cache.Lookup(key)
	if kept != nil && kept.Vary != varyKey(kept.Header, sh.header) {
		kept = nil
	}
	if kept != nil && f.cfg.CacheFresh && !directives(sh.header)["no-cache"].set && kept.Fresh(time.Now()) {
		kept.fill(r, f.keptBody(key))
		r.FinalURL, r.Cache = url, CacheFresh
		f.cfg.Cache.Touch(key)
		f.trim(r)
	}
	return key, kept
}

// keptBody reads the body kept for key when the record needs it (for
// extraction or --body).
func (f *Fetcher) keptBody(key string) []byte {
	if !f.cfg.KeepBody {
		return nil
	}
	return f.cfg.Cache.Body(key)
}

// keep settles a response with the cache: a 304 to a conditional request
// completes r from what was kept; a storable response is kept. It sets
// r's cache field, and drops the body and header fields again unless the
// record needs them.
func (f *Fetcher) keep(r *record.Record, key string, kept *Stored, sent, got http.Header, requested time.Time) {
	defer f.trim(r)
	now := time.Now()
	switch {
	case kept != nil && r.Status == http.StatusNotModified:
		kept.revalidated(got, requested, now)
		kept.fill(r, f.keptBody(key))
		r.Cache = CacheRevalidated
		f.cfg.Cache.Refresh(key, kept)
		return
	}
	sum := sha256.Sum256(r.Body)
	switch {
	case kept == nil:
		r.Cache = CacheMiss
	case r.Status == kept.Status && sum == kept.Sum:
		r.Cache = CacheUnchanged
	default:
		r.Cache = CacheChanged
	}
	if r.Err == nil && storable(r.Status, got) {
		f.cfg.Cache.Store(key, &Stored{
			Status: r.Status, Header: got, Body: r.Body, Length: int64(len(r.Body)), Sum: sum, Truncated: r.Truncated,
			Vary: varyKey(got, sent), Requested: requested, Received: now,
		})
	}
}

// wantBody says whether the cache needs a response's body: to keep it, or
// to tell a changed page from the kept one.
func wantBody(kept *Stored, resp *http.Response) bool {
	return kept != nil && resp.StatusCode != http.StatusNotModified || storable(resp.StatusCode, resp.Header)
}

// trim drops what the cache had the record keep and nothing else needs.
func (f *Fetcher) trim(r *record.Record) {
	if !f.cfg.KeepBody {
		r.Body = nil
	}
	if !f.cfg.KeepHeader {
		r.Header = nil
	}
}

// CacheCounts are the records by their cache field, and the body bytes
// that did not cross the network thanks to the cache (fresh and
// revalidated records' bodies). A retried record counts once, as it ends.
type CacheCounts struct {
	Fresh       int64 `json:"fresh"`
	Revalidated int64 `json:"revalidated"`
	Changed     int64 `json:"changed"`
	Unchanged   int64 `json:"unchanged"`
	Miss        int64 `json:"miss"`
	BytesSaved  int64 `json:"bytes_saved"`
}

type cacheCounts struct {
	fresh, revalidated, changed, unchanged, miss, saved atomic.Int64
}

// Settled counts r by its cache field once its last attempt is made
// (FetchFlow calls it).
func (f *Fetcher) Settled(r *record.Record) {
	c := &f.cached
	switch r.Cache {
	case CacheFresh:
		c.fresh.Add(1)
		c.saved.Add(r.ContentLength)
	case CacheRevalidated:
		c.revalidated.Add(1)
		c.saved.Add(r.ContentLength)
	case CacheChanged:
		c.changed.Add(1)
	case CacheUnchanged:
		c.unchanged.Add(1)
	case CacheMiss:
		c.miss.Add(1)
	}
}

// CacheCounts returns the records so far by their cache field (--cache).
func (f *Fetcher) CacheCounts() CacheCounts {
	c := &f.cached
	return CacheCounts{c.fresh.Load(), c.revalidated.Load(), c.changed.Load(), c.unchanged.Load(), c.miss.Load(), c.saved.Load()}
}
