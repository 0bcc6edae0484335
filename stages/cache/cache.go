package cache

import (
	"net/http"
	"strconv"
	"time"

	"sluice/record"
)

// Cache keeps responses between runs (--cache) so that a request can be
// made conditional and a 304 completed from what was kept. The fetcher
// asks it under the request URL; Store keeps them on disk.
// Lookup and Store are safe for concurrent use; a failing store reports
// its trouble itself and answers as if empty.
type Cache interface {
	Lookup(key string) *Stored     // without its body, which Body reads
	Body(key string) []byte        // the body kept for key; nil when there is none
	Store(key string, s *Stored)   // a new response: all of it
	Refresh(key string, s *Stored) // the same body, with new header fields and times (a 304)
	Touch(key string)              // a fresh hit: the entry was used, for eviction by least recent use
	Invalidate(key string)         // forget key's entry: an unsafe request changed its target
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
	Miss        = "miss"        // nothing kept for the URL: a plain request
	Fresh       = "fresh"       // --cache-fresh: kept and still fresh, not requested
	Revalidated = "revalidated" // a conditional request answered 304: completed from the cache
	Changed     = "changed"     // kept, and the answer differs: a new status or body
	Unchanged   = "unchanged"   // kept, answered in full (no validators) with the same status and body
	Stale       = "stale"       // kept and stale, used without a request: the origin failed (stale-if-error) or the request allowed it (max-stale)
)

// Cacheable reports whether a request may be answered from, and stored
// in, the cache: GET or HEAD without a body, and no "no-store" asked for.
func Cacheable(method string, body []byte, h http.Header) bool {
	return (method == http.MethodGet || method == http.MethodHead) && body == nil &&
		!directives(h).Has("no-store")
}

// Conditional adds s's validators to a request's header, a copy of h.
func Conditional(h http.Header, s *Stored) http.Header {
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

// Fresh reports whether s may still be used without asking the server, by
// itself (no request directives): its freshness lifetime is more than its
// current age, and it does not say no-cache.
func (s *Stored) Fresh(now time.Time) bool { return s.Reusable(now, nil) == reuseFresh }

// Revalidated updates s from a 304's header fields (RFC 9111, 4.3.4 and
// 3.2): the new ones replace the kept ones of their names, but for
// Content-Length and the fields a cache does not keep.
func (s *Stored) Revalidated(h http.Header, requested, received time.Time) {
	s.Header = s.Header.Clone()
	for k, vs := range StoredHeader(h) {
		if k != "Content-Length" {
			s.Header[k] = vs
		}
	}
	s.Requested, s.Received = requested, received
}

// Fill completes r from s, as if s had just been received; body is s's
// body when r needs it, else nil.
func (s *Stored) Fill(r *record.Record, body []byte) {
	r.Status = s.Status
	r.ContentType = s.Header.Get("Content-Type")
	r.ContentLength = s.Length
	r.Truncated = s.Truncated
	r.Body, r.Header = body, s.Header
}

// Reused completes r from s without a request, as at now: with the Age
// the cache must generate (RFC 9111, 4) and without the fields a qualified
// no-cache names (5.2.2.4).
func (s *Stored) Reused(r *record.Record, body []byte, now time.Time) {
	s.Fill(r, body)
	h := s.Header.Clone()
	for _, name := range noCacheFields(directives(h)) {
		h.Del(name)
	}
	h.Set("Age", strconv.FormatInt(int64(s.age(now)/time.Second), 10))
	r.Header = h
}

// cacheLookup is what the cache holds for one request, and what the
// request asks of it.
//

// Counts are the records by their cache field, and the body bytes
// that did not cross the network thanks to the cache (fresh and
// revalidated records' bodies). A retried record counts once, as it ends.
type Counts struct {
	Fresh       int64 `json:"fresh"`
	Revalidated int64 `json:"revalidated"`
	Changed     int64 `json:"changed"`
	Unchanged   int64 `json:"unchanged"`
	Stale       int64 `json:"stale"`
	Miss        int64 `json:"miss"`
	BytesSaved  int64 `json:"bytes_saved"`
}
