package cache

import (
	"net/http"
	"testing"
	"time"
)

// Freshness under RFC 9111 for a private cache: explicit max-age, then
// Expires - Date, then a tenth of Date - Last-Modified up to a day, minus
// the current age (Age, the apparent age, the time since it came).
func TestStoredFresh(t *testing.T) {
	received := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	date := received.Format(http.TimeFormat)
	for _, tc := range []struct {
		name   string
		header http.Header
		after  time.Duration // since received
		fresh  bool
	}{
		{"max-age, young", http.Header{"Cache-Control": {"max-age=60"}, "Date": {date}}, 59 * time.Second, true},
		{"max-age, old", http.Header{"Cache-Control": {"max-age=60"}, "Date": {date}}, 61 * time.Second, false},
		{"max-age with Age", http.Header{"Cache-Control": {"public, max-age=60"}, "Date": {date}, "Age": {"50"}}, 20 * time.Second, false},
		{"max-age beats Expires", http.Header{"Cache-Control": {"max-age=0"}, "Expires": {received.Add(time.Hour).Format(http.TimeFormat)}, "Date": {date}}, 0, false},
		{"invalid max-age", http.Header{"Cache-Control": {"max-age=soon"}, "Date": {date}}, 0, false},
		{"Expires", http.Header{"Expires": {received.Add(time.Hour).Format(http.TimeFormat)}, "Date": {date}}, 59 * time.Minute, true},
		{"Expires past", http.Header{"Expires": {received.Add(time.Hour).Format(http.TimeFormat)}, "Date": {date}}, 61 * time.Minute, false},
		{"bad Expires", http.Header{"Expires": {"0"}, "Date": {date}}, 0, false},
		{"no-cache", http.Header{"Cache-Control": {"no-cache, max-age=600"}, "Date": {date}}, 0, false},
		{"heuristic", http.Header{"Last-Modified": {received.Add(-100 * time.Hour).Format(http.TimeFormat)}, "Date": {date}}, 9 * time.Hour, true},
		{"heuristic, later", http.Header{"Last-Modified": {received.Add(-100 * time.Hour).Format(http.TimeFormat)}, "Date": {date}}, 11 * time.Hour, false},
		{"heuristic, a day at most", http.Header{"Last-Modified": {received.Add(-1000 * time.Hour).Format(http.TimeFormat)}, "Date": {date}}, 25 * time.Hour, false},
		{"nothing", http.Header{"ETag": {`"x"`}, "Date": {date}}, 0, false},
	} {
		s := &Stored{Status: 200, Header: tc.header, Requested: received, Received: received}
		if got := s.Fresh(received.Add(tc.after)); got != tc.fresh {
			t.Errorf("%s: Fresh = %v; want %v", tc.name, got, tc.fresh)
		}
	}
}

// What is kept, and what a request carries back.
func TestCacheRules(t *testing.T) {
	for _, tc := range []struct {
		method string
		body   []byte
		h      http.Header
		want   bool
	}{
		{"GET", nil, nil, true}, {"HEAD", nil, nil, true}, {"POST", nil, nil, false},
		{"GET", []byte("x"), nil, false}, {"GET", nil, http.Header{"Cache-Control": {"no-store"}}, false},
	} {
		if got := Cacheable(tc.method, tc.body, tc.h); got != tc.want {
			t.Errorf("cacheable(%s, %q, %v) = %v", tc.method, tc.body, tc.h, got)
		}
	}
	for _, tc := range []struct {
		status int
		h      http.Header
		want   bool
	}{
		{200, nil, true}, {200, http.Header{"Cache-Control": {"private, max-age=5"}}, true},
		{200, http.Header{"Cache-Control": {"max-age=5, No-Store"}}, false}, {200, http.Header{"Vary": {"*"}}, false},
		{404, nil, true}, {304, nil, false}, {206, http.Header{"Cache-Control": {"max-age=5"}}, false},
	} {
		if got := Storable(tc.status, tc.h); got != tc.want {
			t.Errorf("storable(%d, %v) = %v", tc.status, tc.h, got)
		}
	}
	sent := http.Header{"Accept": {"text/html"}, "X-Other": {"1"}}
	kept := &Stored{Header: http.Header{"Etag": {`"v1"`}, "Last-Modified": {"Thu, 01 Jan 2026 00:00:00 GMT"}}}
	c := Conditional(sent, kept)
	if c.Get("If-None-Match") != `"v1"` || c.Get("If-Modified-Since") != "Thu, 01 Jan 2026 00:00:00 GMT" || sent.Get("If-None-Match") != "" {
		t.Errorf("conditional = %v; the flags' header became %v", c, sent)
	}
	if got := VaryKey(http.Header{"Vary": {"accept, Accept-Language"}}, sent); got != "Accept:text/html\nAccept-Language:\n" {
		t.Errorf("varyKey = %q", got)
	}
	kept.Header.Set("Cache-Control", "max-age=5")
	kept.Revalidated(http.Header{"Cache-Control": {"max-age=60"}, "Content-Length": {"0"}}, time.Now(), time.Now())
	if kept.Header.Get("Cache-Control") != "max-age=60" || kept.Header.Get("Content-Length") != "" || kept.Header.Get("Etag") != `"v1"` {
		t.Errorf("after a 304: %v", kept.Header)
	}
}
