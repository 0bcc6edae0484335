package cache

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The HTTP caching rules of RFC 9111 for a private cache, as --cache
// applies them: what may be stored, which of its header fields, how long
// it is fresh, how old it is, and what a request's Cache-Control asks.
// Each function cites its section; cache_rules_test.go has a case a rule.

// heuristicStatus are the statuses a response may be stored and reused
// with without explicit freshness (RFC 9110 15.1, "heuristically
// cacheable"); 206 is left out, as --cache keeps no partial content.
var heuristicStatus = map[int]bool{200: true, 203: true, 204: true, 300: true, 301: true, 308: true, 404: true, 405: true, 410: true, 414: true, 501: true}

// Storable reports whether a response to a GET or HEAD may be kept (RFC
// 9111, 3): a final status other than 206 and 304, no no-store (unless
// must-understand and a status whose rules the cache knows, 5.2.2.3), no
// Vary naming * anywhere in its list (4.1), and either explicit freshness
// (max-age, Expires, public, private) or a heuristically cacheable status.
func Storable(status int, h http.Header) bool {
	if status < 200 || status == http.StatusPartialContent || status == http.StatusNotModified {
		return false
	}
	d := directives(h)
	if d.Has("must-understand") {
		if !heuristicStatus[status] {
			return false
		}
	} else if d.Has("no-store") {
		return false
	}
	if varyNames(h) == nil {
		return false
	}
	return heuristicStatus[status] || d.Has("max-age") || d.Has("public") || d.Has("private") || h["Expires"] != nil
}

// unstored are the header fields a cache must not keep (RFC 9111, 3.1:
// the connection's own fields and those Connection names, the proxy
// authentication fields) or that described only the transfer.
var unstored = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Transfer-Encoding", "Upgrade",
	"Proxy-Authenticate", "Proxy-Authentication-Info", "Proxy-Authorization"}

// StoredHeader is the copy of a response's header fields that is kept.
func StoredHeader(h http.Header) http.Header {
	kept := h.Clone()
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				kept.Del(name)
			}
		}
	}
	for _, name := range unstored {
		kept.Del(name)
	}
	return kept
}

// varyNames are the request fields h's Vary names, canonical; nil when
// Vary names * (the response varies on more than the request: never
// reused), empty when there is no Vary.
func varyNames(h http.Header) []string {
	names := []string{}
	for _, v := range h.Values("Vary") {
		for _, name := range strings.Split(v, ",") {
			switch name = strings.TrimSpace(name); name {
			case "":
			case "*":
				return nil
			default:
				names = append(names, http.CanonicalHeaderKey(name))
			}
		}
	}
	return names
}

// VaryKey is what a request sent of the fields a response varies on,
// normalised as RFC 9111 4.1 allows: a field's lines combined, as RFC 9110
// 5.3 combines them, and the blanks around its list members dropped, so
// "1,2" and " 1, 2 " select the same response.
func VaryKey(resp, req http.Header) string {
	var b strings.Builder
	for _, name := range varyNames(resp) {
		b.WriteString(name + ":")
		first := true
		for _, line := range req.Values(name) {
			for _, member := range strings.Split(line, ",") {
				if !first {
					b.WriteByte(',')
				}
				b.WriteString(strings.Trim(member, " \t"))
				first = false
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// lifetime is a stored response's freshness lifetime (RFC 9111, 4.2.1):
// max-age, else Expires - Date, else, for a heuristically cacheable status
// or a public response, a tenth of Date - Last-Modified, at most a day
// (4.2.2). An invalid max-age, an invalid Expires (or more than one) or an
// Expires of "0" makes it stale.
func (s *Stored) lifetime(d Control) time.Duration {
	date := s.date()
	if v, ok := d.get("max-age"); ok {
		n, ok := deltaSeconds(v)
		if !ok {
			return 0
		}
		return n
	}
	if exp := s.Header["Expires"]; exp != nil {
		if len(exp) != 1 {
			return 0
		}
		t, ok := httpDate(exp[0])
		if !ok {
			return 0
		}
		return t.Sub(date)
	}
	if !heuristicStatus[s.Status] && !d.Has("public") {
		return 0
	}
	if mod, ok := httpDate(s.Header.Get("Last-Modified")); ok && !mod.After(date) {
		return min(date.Sub(mod)/10, 24*time.Hour)
	}
	return 0
}

// age is the response's current age (RFC 9111, 4.2.3). Of an Age field
// the first line's first member counts; one that is not a non-negative
// integer is ignored (5.1).
func (s *Stored) age(now time.Time) time.Duration {
	apparent := max(0, s.Received.Sub(s.date()))
	var given time.Duration
	if v := s.Header["Age"]; len(v) > 0 {
		first, _, _ := strings.Cut(v[0], ",")
		given, _ = deltaSeconds(strings.TrimSpace(first))
	}
	initial := max(apparent, given+s.Received.Sub(s.Requested))
	return initial + now.Sub(s.Received)
}

// date is the response's Date, or when it came without a valid one.
func (s *Stored) date() time.Time {
	if d, ok := httpDate(s.Header.Get("Date")); ok {
		return d
	}
	return s.Received
}

// deltaSeconds reads delta-seconds (RFC 9111, 1.2.2): digits only, at
// most 2^31 seconds.
func deltaSeconds(v string) (time.Duration, bool) {
	if v == "" || strings.Trim(v, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		n = 1 << 31 // too many digits: as large as it gets
	}
	return time.Duration(min(n, 1<<31)) * time.Second, true
}

// httpDate reads an HTTP-date (RFC 9110, 5.6.7): IMF-fixdate or one of the
// two obsolete forms, digits and spaces exactly where they go, so nothing
// Go's lenient parser also takes (a one-digit hour, doubled spaces) is a
// date. Like browsers, it lets the names' case pass, and a weekday that
// does not fit the date.
func httpDate(v string) (time.Time, bool) {
	if n := len(v); n > 4 && strings.EqualFold(v[n-4:], " GMT") {
		v = v[:n-4] + " GMT" // Go's layouts hold GMT as literal text, matched in its case
	}
	for _, layout := range []string{http.TimeFormat, "Monday, 02-Jan-06 15:04:05 GMT", time.ANSIC} {
		if t, err := time.Parse(layout, v); err == nil && strings.EqualFold(afterWeekday(t.Format(layout)), afterWeekday(v)) {
			return t, true
		}
	}
	return time.Time{}, false
}

// afterWeekday is a date without its leading day name.
func afterWeekday(s string) string {
	return strings.TrimLeft(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
}

// Control is a Cache-Control field's directives by lower-case name;
// of a directive given twice, the first counts (RFC 9111, 4.2.1).
type Control map[string]string

func (d Control) Has(name string) bool { _, ok := d[name]; return ok }

func (d Control) get(name string) (string, bool) { v, ok := d[name]; return v, ok }

// directives parses the Cache-Control fields of h: comma-separated
// directives, each a name and an optional token or quoted-string value
// (which may hold commas: no-cache="a, b").
func directives(h http.Header) Control {
	vs := h.Values("Cache-Control")
	if len(vs) == 0 {
		return nil
	}
	d := Control{}
	for _, v := range vs {
		for v != "" {
			var part string
			part, v = nextDirective(v)
			name, value, _ := strings.Cut(part, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			value = strings.TrimSpace(value)
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			if name != "" && !d.Has(name) {
				d[name] = value
			}
		}
	}
	return d
}

// nextDirective splits v at its first comma outside a quoted string.
func nextDirective(v string) (part, rest string) {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			return v[:i], v[i+1:]
		}
	}
	return v, ""
}

// RequestControl is what a request's Cache-Control asks of the cache
// (RFC 9111, 5.2.1), Pragma: no-cache read as no-cache when it has none
// (5.4).
func RequestControl(h http.Header) Control {
	d := directives(h)
	if d == nil {
		for _, v := range h.Values("Pragma") {
			for _, p := range strings.Split(v, ",") {
				if strings.EqualFold(strings.TrimSpace(p), "no-cache") {
					return Control{"no-cache": ""}
				}
			}
		}
	}
	return d
}

// noCacheFields are the fields a qualified no-cache="a, b" names (RFC
// 9111, 5.2.2.4): the response may be reused without revalidation, but
// without them. Unqualified no-cache returns nil, and requires it.
func noCacheFields(d Control) []string {
	v, ok := d.get("no-cache")
	if !ok || v == "" {
		return nil
	}
	var names []string
	for _, name := range strings.Split(v, ",") {
		if name = strings.TrimSpace(name); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// reuse is how a stored response may answer a request without asking the
// server (RFC 9111, 4.2 and 5.2): fresh, stale as the request allows with
// max-stale, or not at all.
type reuse int

const (
	ReuseNo reuse = iota
	reuseFresh
	ReuseStale
)

// Reusable says whether s may answer a request that asks req at now
// without validation. Unqualified no-cache, on either side, forbids it; a
// request's max-age and min-fresh narrow freshness; max-stale allows a
// stale response unless it says must-revalidate (4.2.4).
func (s *Stored) Reusable(now time.Time, req Control) reuse {
	resp := directives(s.Header)
	if v, ok := resp.get("no-cache"); ok && v == "" || req.Has("no-cache") {
		return ReuseNo
	}
	age, life := s.age(now), s.lifetime(resp)
	if v, ok := req.get("max-age"); ok {
		if n, ok := deltaSeconds(v); !ok || age > n {
			return ReuseNo
		}
	}
	if v, ok := req.get("min-fresh"); ok {
		if n, ok := deltaSeconds(v); !ok || life-age < n {
			return ReuseNo
		}
	}
	if life > age {
		return reuseFresh
	}
	if resp.Has("must-revalidate") || resp.Has("proxy-revalidate") {
		return ReuseNo
	}
	if v, ok := req.get("max-stale"); ok {
		if n, valid := deltaSeconds(v); v == "" || valid && age-life <= n {
			return ReuseStale
		}
	}
	return ReuseNo
}

// StaleIfError says whether s may answer for a failed request (RFC 5861,
// 4): it is fresh, or stale by no more than the longest of allowed (the
// --cache-stale-if-error flag) and the stale-if-error the response and the
// request give; never when it must be revalidated.
func (s *Stored) StaleIfError(now time.Time, req Control, allowed time.Duration) bool {
	resp := directives(s.Header)
	if resp.Has("no-cache") || resp.Has("must-revalidate") || resp.Has("proxy-revalidate") || req.Has("no-cache") {
		return false
	}
	for _, d := range []Control{resp, req} {
		if v, ok := d.get("stale-if-error"); ok {
			if n, ok := deltaSeconds(v); ok {
				allowed = max(allowed, n)
			}
		}
	}
	return s.age(now)-s.lifetime(resp) <= allowed
}

// UnsafeMethod reports whether a request's method may change the target's
// state, so that a non-error answer invalidates what is kept of it (RFC
// 9111, 4.4).
func UnsafeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}
