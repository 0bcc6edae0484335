package stages

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// QuotaPause reads a response's rate-limit fields and returns how long the
// host's quota is spent for: the time to its reset when a field says none
// is left; false when none says so. It reads
//   - RateLimit (IETF httpapi drafts): the structured form, a list of
//     policies `"name";r=REMAINING;t=SECONDS`, and the earlier one,
//     `limit=L, remaining=R, reset=SECONDS`;
//   - RateLimit-Remaining with RateLimit-Reset (the earlier drafts' fields);
//   - X-RateLimit-Remaining with X-RateLimit-Reset, the reset in seconds
//     from now, or a Unix time (in seconds, or milliseconds) as GitHub and
//     others send it.
//
// RateLimit-Policy describes quotas but says nothing of what is left, so it
// is not read.
func QuotaPause(h http.Header, now time.Time) (time.Duration, bool) {
	// Most answers have none of the fields: look them up by their
	// canonical names, without Get's canonicalizing.
	if h["Ratelimit"] == nil && h["Ratelimit-Remaining"] == nil && h["X-Ratelimit-Remaining"] == nil {
		return 0, false
	}
	var pause time.Duration
	spent := false
	take := func(remaining, reset string, unixAllowed bool) {
		r, err := strconv.ParseFloat(strings.TrimSpace(remaining), 64)
		if err != nil || r > 0 {
			return
		}
		d, ok := resetIn(reset, now, unixAllowed)
		if ok {
			spent, pause = true, max(pause, d)
		}
	}
	for _, v := range h.Values("RateLimit") {
		for _, p := range ratelimitPolicies(v) {
			take(p["r"], p["t"], false)
		}
	}
	take(h.Get("RateLimit-Remaining"), h.Get("RateLimit-Reset"), false)
	take(h.Get("X-RateLimit-Remaining"), h.Get("X-RateLimit-Reset"), true)
	return pause, spent
}

// ratelimitPolicies reads a RateLimit field into its policies' parameters,
// the earlier form's remaining and reset as r and t of one policy.
func ratelimitPolicies(v string) []map[string]string {
	var policies []map[string]string
	old := map[string]string{}
	for _, member := range strings.Split(v, ",") {
		params := strings.Split(member, ";")
		if k, val, ok := strings.Cut(strings.TrimSpace(params[0]), "="); ok { // the earlier form
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "remaining":
				old["r"] = val
			case "reset":
				old["t"] = val
			}
			continue
		}
		p := map[string]string{}
		for _, param := range params[1:] {
			if k, val, ok := strings.Cut(strings.TrimSpace(param), "="); ok {
				p[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(val)
			}
		}
		policies = append(policies, p)
	}
	if len(old) > 0 {
		policies = append(policies, old)
	}
	return policies
}

// resetIn reads a reset: seconds from now or, when unixAllowed and the
// number is too large to be a wait, a Unix time in seconds or ms.
func resetIn(v string, now time.Time, unixAllowed bool) (time.Duration, bool) {
	n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || n < 0 || n != n {
		return 0, false
	}
	const unixSeconds, unixMillis = 1e9, 1e12 // 2001 in seconds, and in ms
	switch {
	case unixAllowed && n >= unixMillis:
		return max(0, time.UnixMilli(int64(n)).Sub(now)), true
	case unixAllowed && n >= unixSeconds:
		return max(0, time.Unix(int64(n), 0).Sub(now)), true
	case n > float64(maxSecs):
		return time.Duration(maxSecs) * time.Second, true
	}
	return time.Duration(n * float64(time.Second)), true
}

// maxSecs is the most seconds a time.Duration holds.
const maxSecs = int64(1<<63-1) / int64(time.Second)
