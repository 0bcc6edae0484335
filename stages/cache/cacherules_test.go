package cache

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// One case (or a few) for each RFC 9111 rule --cache applies, named by
// its section. These are the findings of the cache-tests suite run
// (bench/cache-tests.sh) that the rules now get right.

// 3: what may be stored. Explicit freshness or a heuristically cacheable
// status (RFC 9110 15.1); Vary with * anywhere; must-understand.
func TestRuleStorable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		h      http.Header
		want   bool
	}{
		{"3: 200 heuristically cacheable", 200, nil, true},
		{"3: 203, 204, 300, 301, 308, 404, 405, 410, 414, 501 too", 410, nil, true},
		{"3: 500 without explicit freshness", 500, nil, false},
		{"3: 500 with max-age", 500, http.Header{"Cache-Control": {"max-age=60"}}, true},
		{"3: 599 with Expires", 599, http.Header{"Expires": {"Thu, 01 Jan 2099 00:00:00 GMT"}}, true},
		{"3: 599 with public", 599, http.Header{"Cache-Control": {"public"}}, true},
		{"3: 206 is not kept", 206, http.Header{"Cache-Control": {"max-age=60"}}, false},
		{"5.2.2.5: no-store", 200, http.Header{"Cache-Control": {"max-age=60, no-store"}}, false},
		{"5.2.2.3: must-understand with a known status overrides no-store", 200, http.Header{"Cache-Control": {"must-understand, no-store"}}, true},
		{"5.2.2.3: must-understand with an unknown status", 599, http.Header{"Cache-Control": {"must-understand, max-age=60"}}, false},
		{"4.1: Vary: *", 200, http.Header{"Vary": {"*"}}, false},
		{"4.1: Vary: *, *", 200, http.Header{"Vary": {"*, *"}}, false},
		{"4.1: Vary: , *", 200, http.Header{"Vary": {", *"}}, false},
		{"4.1: Vary over two lines, the second *", 200, http.Header{"Vary": {"", "*"}}, false},
		{"4.1: Vary: Accept, *", 200, http.Header{"Vary": {"Accept, *"}}, false},
		{"4.1: Vary: *, Accept", 200, http.Header{"Vary": {"*, Accept"}}, false},
		{"4.1: Vary: Accept", 200, http.Header{"Vary": {"Accept"}}, true},
	} {
		if got := Storable(tc.status, tc.h); got != tc.want {
			t.Errorf("%s: storable(%d, %v) = %v; want %v", tc.name, tc.status, tc.h, got, tc.want)
		}
	}
}

// 3.1: the connection's own fields, those Connection names, and the proxy
// authentication fields are not kept.
func TestRuleStoredHeader(t *testing.T) {
	h := http.Header{
		"Connection": {"close, X-Hop"}, "X-Hop": {"1"}, "Keep-Alive": {"timeout=5"}, "Proxy-Authenticate": {"Basic"},
		"Proxy-Authentication-Info": {"x"}, "Upgrade": {"h2c"}, "Te": {"trailers"}, "Transfer-Encoding": {"chunked"},
		"Proxy-Connection": {"keep-alive"}, "Cache-Control": {"max-age=60"}, "Etag": {`"a"`},
	}
	got := StoredHeader(h)
	if len(got) != 2 || got.Get("Etag") != `"a"` || got.Get("Cache-Control") != "max-age=60" {
		t.Errorf("storedHeader = %v; want only Cache-Control and ETag", got)
	}
	if h.Get("X-Hop") != "1" {
		t.Errorf("storedHeader changed the response's own header")
	}
}

// 4.1: a request's field lines are combined with ", " for the secondary key.
func TestRuleVaryCombine(t *testing.T) {
	resp := http.Header{"Vary": {"Foo"}}
	if a, b := VaryKey(resp, http.Header{"Foo": {"1", "2"}}), VaryKey(resp, http.Header{"Foo": {"1, 2"}}); a != b {
		t.Errorf("two lines %q and one combined %q differ", a, b)
	}
	if a, b := VaryKey(resp, http.Header{"Foo": {"1,2"}}), VaryKey(resp, http.Header{"Foo": {" 1, 2 "}}); a != b {
		t.Errorf("%q and %q differ only in blanks", a, b)
	}
	if a, b := VaryKey(resp, http.Header{"Foo": {"1"}}), VaryKey(resp, http.Header{"Foo": {"2"}}); a == b {
		t.Errorf("Foo: 1 and Foo: 2 select the same response: %q", a)
	}
}

// 4.2.1, 4.2.2, 4.2.3 and 5.1, 5.3: freshness lifetime and age.
func TestRuleFreshness(t *testing.T) {
	received := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	date := received.Format(http.TimeFormat)
	inHour := received.Add(time.Hour).Format(http.TimeFormat)
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
		after  time.Duration
		fresh  bool
	}{
		{"5.3: Expires in an hour", 200, http.Header{"Expires": {inHour}, "Date": {date}}, time.Minute, true},
		{"5.3: an Expires with a one-digit hour is invalid: stale", 200, http.Header{"Expires": {"Mon, 01 Jun 2026 3:00:00 GMT"}, "Date": {date}}, time.Minute, false},
		{"5.3: doubled spaces: stale", 200, http.Header{"Expires": {"Mon, 01  Jun 2026 13:00:00 GMT"}, "Date": {date}}, time.Minute, false},
		{"5.3: two Expires lines: stale", 200, http.Header{"Expires": {inHour, inHour}, "Date": {date}}, time.Minute, false},
		{"5.3: Expires 0: stale", 200, http.Header{"Expires": {"0"}, "Date": {date}}, 0, false},
		{"5.6.7 of RFC 9110: the obsolete RFC 850 form", 200, http.Header{"Expires": {"Monday, 01-Jun-26 13:00:00 GMT"}, "Date": {date}}, time.Minute, true},
		{"5.6.7 of RFC 9110: asctime", 200, http.Header{"Expires": {"Mon Jun  1 13:00:00 2026"}, "Date": {date}}, time.Minute, true},
		{"a lower-case zone passes too", 200, http.Header{"Expires": {"Mon, 01 jun 2026 13:00:00 gmt"}, "Date": {date}}, time.Minute, true},
		{"a wrong-case weekday passes, as in browsers", 200, http.Header{"Expires": {"MON, 01 Jun 2026 13:00:00 GMT"}, "Date": {date}}, time.Minute, true},
		{"4.2.1: the first max-age counts", 200, http.Header{"Cache-Control": {"max-age=3600, max-age=0"}, "Date": {date}}, time.Minute, true},
		{"4.2.1: max-age=1.5 is invalid: stale", 200, http.Header{"Cache-Control": {"max-age=1.5"}, "Date": {date}}, 0, false},
		{"4.2.1: a quoted max-age", 200, http.Header{"Cache-Control": {`max-age="3600"`}, "Date": {date}}, time.Minute, true},
		{"4.2.2: heuristic for a 404", 404, http.Header{"Last-Modified": {received.Add(-100 * time.Hour).Format(http.TimeFormat)}, "Date": {date}}, time.Hour, true},
		{"4.2.2: no heuristic for a 500", 500, http.Header{"Last-Modified": {received.Add(-100 * time.Hour).Format(http.TimeFormat)}, "Date": {date}}, time.Hour, false},
		{"4.2.2: heuristic for a 599 with public", 599, http.Header{"Cache-Control": {"public"}, "Last-Modified": {received.Add(-100 * time.Hour).Format(http.TimeFormat)}, "Date": {date}}, time.Hour, true},
		{"5.1: Age 7200, 0: the first member counts", 200, http.Header{"Cache-Control": {"max-age=3600"}, "Age": {"7200, 0"}, "Date": {date}}, 0, false},
		{"5.1: Age 0, 7200", 200, http.Header{"Cache-Control": {"max-age=3600"}, "Age": {"0, 7200"}, "Date": {date}}, 0, true},
		{"5.1: the first Age line counts", 200, http.Header{"Cache-Control": {"max-age=3600"}, "Age": {"7200", "0"}, "Date": {date}}, 0, false},
		{"5.1: an invalid Age is ignored", 200, http.Header{"Cache-Control": {"max-age=3600"}, "Age": {"old"}, "Date": {date}}, 0, true},
		{"5.2.2.4: no-cache is never fresh", 200, http.Header{"Cache-Control": {"no-cache, max-age=600"}, "Date": {date}}, 0, false},
		{"5.2.2.4: a qualified no-cache is", 200, http.Header{"Cache-Control": {`no-cache="Set-Cookie, X-A", max-age=600`}, "Date": {date}}, 0, true},
	} {
		s := &Stored{Status: tc.status, Header: tc.header, Requested: received, Received: received}
		if got := s.Fresh(received.Add(tc.after)); got != tc.fresh {
			t.Errorf("%s: Fresh = %v; want %v", tc.name, got, tc.fresh)
		}
	}
}

// ruleReceived is when the responses of the rule tests came.
var ruleReceived = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// stored is a 200 received at ruleReceived with Cache-Control cc.
func stored(cc string) *Stored {
	return &Stored{Status: 200, Requested: ruleReceived, Received: ruleReceived,
		Header: http.Header{"Cache-Control": {cc}, "Date": {ruleReceived.Format(http.TimeFormat)}}}
}

// 5.2.1: what a request's Cache-Control asks, and 5.4: Pragma.
func TestRuleRequestDirectives(t *testing.T) {
	received := ruleReceived
	for _, tc := range []struct {
		name     string
		response string
		request  http.Header
		after    time.Duration
		want     reuse
	}{
		{"fresh", "max-age=100", nil, 50 * time.Second, reuseFresh},
		{"5.2.1.1: max-age=0", "max-age=100", http.Header{"Cache-Control": {"max-age=0"}}, 50 * time.Second, ReuseNo},
		{"5.2.1.1: max-age above the age", "max-age=100", http.Header{"Cache-Control": {"max-age=60"}}, 50 * time.Second, reuseFresh},
		{"5.2.1.3: min-fresh beyond what is left", "max-age=100", http.Header{"Cache-Control": {"min-fresh=60"}}, 50 * time.Second, ReuseNo},
		{"5.2.1.3: min-fresh within", "max-age=100", http.Header{"Cache-Control": {"min-fresh=40"}}, 50 * time.Second, reuseFresh},
		{"stale", "max-age=100", nil, 150 * time.Second, ReuseNo},
		{"5.2.1.2: max-stale with no value", "max-age=100", http.Header{"Cache-Control": {"max-stale"}}, time.Hour, ReuseStale},
		{"5.2.1.2: max-stale within", "max-age=100", http.Header{"Cache-Control": {"max-stale=60"}}, 150 * time.Second, ReuseStale},
		{"5.2.1.2: max-stale beyond", "max-age=100", http.Header{"Cache-Control": {"max-stale=10"}}, 150 * time.Second, ReuseNo},
		{"5.2.2.2: must-revalidate beats max-stale", "max-age=100, must-revalidate", http.Header{"Cache-Control": {"max-stale"}}, 150 * time.Second, ReuseNo},
		{"5.2.1.4: no-cache", "max-age=100", http.Header{"Cache-Control": {"no-cache"}}, 0, ReuseNo},
		{"5.4: Pragma: no-cache without Cache-Control", "max-age=100", http.Header{"Pragma": {"no-cache"}}, 0, ReuseNo},
		{"5.4: Pragma is ignored beside Cache-Control", "max-age=100", http.Header{"Pragma": {"no-cache"}, "Cache-Control": {"max-stale"}}, 0, reuseFresh},
	} {
		if got := stored(tc.response).Reusable(received.Add(tc.after), RequestControl(tc.request)); got != tc.want {
			t.Errorf("%s: reusable = %v; want %v", tc.name, got, tc.want)
		}
	}
}

// RFC 5861, 4: stale-if-error, from the flag, the response or the request;
// never past must-revalidate or no-cache.
func TestRuleStaleIfError(t *testing.T) {
	received := ruleReceived
	at := received.Add(160 * time.Second) // 100 s of freshness, then 60 s stale
	for _, tc := range []struct {
		name, response string
		request        http.Header
		flag           time.Duration
		want           bool
	}{
		{"no allowance", "max-age=100", nil, 0, false},
		{"the flag allows a minute", "max-age=100", nil, time.Minute, true},
		{"the flag allows less", "max-age=100", nil, 59 * time.Second, false},
		{"the response allows it", "max-age=100, stale-if-error=120", nil, 0, true},
		{"the request allows it", "max-age=100", http.Header{"Cache-Control": {"stale-if-error=60"}}, 0, true},
		{"must-revalidate forbids it", "max-age=100, must-revalidate, stale-if-error=600", nil, time.Hour, false},
		{"no-cache forbids it", "no-cache, stale-if-error=600", nil, time.Hour, false},
	} {
		if got := stored(tc.response).StaleIfError(at, RequestControl(tc.request), tc.flag); got != tc.want {
			t.Errorf("%s: staleIfError = %v; want %v", tc.name, got, tc.want)
		}
	}
}

// 5.2: directives parse with quoted values holding commas; of a directive
// given twice the first counts.
func TestRuleDirectives(t *testing.T) {
	d := directives(http.Header{"Cache-Control": {`no-cache="a, b", Max-Age=5`, "max-age=9, private"}})
	if v, _ := d.get("no-cache"); v != "a, b" {
		t.Errorf("no-cache = %q; want a, b", v)
	}
	if v, _ := d.get("max-age"); v != "5" || !d.Has("private") {
		t.Errorf("directives = %v", d)
	}
	if got := noCacheFields(d); len(got) != 2 || got[1] != "b" {
		t.Errorf("noCacheFields = %q", got)
	}
}

// 4.4: which methods invalidate.
func TestRuleUnsafe(t *testing.T) {
	for m, want := range map[string]bool{"GET": false, "HEAD": false, "OPTIONS": false, "TRACE": false, "POST": true, "PUT": true, "DELETE": true, "M-SEARCH": true} {
		if UnsafeMethod(m) != want {
			t.Errorf("unsafeMethod(%s) = %v", m, !want)
		}
	}
}

// The cache's parsers of response and request fields read anything: they
// never panic, and what they accept as a date formats back to it.
func FuzzCacheFields(f *testing.F) {
	f.Add(`no-cache="a, \"b", max-age=5`, "Mon, 01 Jun 2026 13:00:00 GMT", "7200, 0")
	f.Add(`max-stale, ,=,"`, "Monday, 01-Jun-26 13:00:00 GMT", "x")
	f.Fuzz(func(t *testing.T, cc, date, age string) {
		h := http.Header{"Cache-Control": {cc}, "Expires": {date}, "Date": {date}, "Age": {age}, "Vary": {cc}}
		now := time.Unix(1_800_000_000, 0)
		s := &Stored{Status: 200, Header: h, Requested: now, Received: now}
		s.Reusable(now, RequestControl(h))
		s.StaleIfError(now, RequestControl(h), time.Minute)
		Storable(200, h)
		noCacheFields(directives(h))
		if tm, ok := httpDate(date); ok && !strings.EqualFold(afterWeekday(tm.Format(http.TimeFormat)), afterWeekday(date)) &&
			!strings.EqualFold(afterWeekday(tm.Format(time.ANSIC)), afterWeekday(date)) &&
			!strings.EqualFold(afterWeekday(tm.Format("Monday, 02-Jan-06 15:04:05 GMT")), afterWeekday(date)) {
			t.Fatalf("httpDate(%q) = %v: not one of the three forms", date, tm)
		}
	})
}
