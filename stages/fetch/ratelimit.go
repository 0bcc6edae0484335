package fetch

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sluice/record"
)

// ReadQuota reads a response's rate-limit fields: how many more requests
// the host allows until when, and, where a policy field says, the quota's
// size and window. Of several quotas (policies, or several styles of field)
// it returns the one with the fewest requests left. nil when no field
// says. It reads
//   - RateLimit with RateLimit-Policy (IETF httpapi drafts): the structured
//     form, lists of `"name";r=REMAINING;t=SECONDS` and `"name";q=QUOTA;w=SECONDS`,
//     matched by name (a policy without t resets within its window w), and
//     the earlier drafts' `limit=L, remaining=R, reset=SECONDS` with
//     `RateLimit-Policy: L;w=SECONDS`;
//   - RateLimit-Remaining with RateLimit-Reset (and RateLimit-Limit, whose
//     `L, L;w=SECONDS` also gives a window), the earlier drafts' fields;
//   - X-RateLimit-Remaining with X-RateLimit-Reset (and X-RateLimit-Limit),
//     the reset in seconds from now, or a Unix time (in seconds, or
//     milliseconds) as GitHub and others send it.
func ReadQuota(h http.Header, now time.Time) *record.Quota {
	// Most answers have none of the fields: look them up by their
	// canonical names, without Get's canonicalizing.
	if h["Ratelimit"] == nil && h["Ratelimit-Remaining"] == nil && h["X-Ratelimit-Remaining"] == nil {
		return nil
	}
	named, plain := quotaPolicies(h)
	var best *record.Quota
	take := func(remaining, reset string, unixAllowed bool, limit string, pol policy) {
		r, err := strconv.ParseFloat(strings.TrimSpace(remaining), 64)
		if err != nil || math.IsNaN(r) {
			return
		}
		r = max(r, 0)
		d, ok := resetIn(reset, now, unixAllowed)
		if !ok {
			if reset != "" || pol.window == 0 {
				return
			}
			d = pol.window // the structured form may leave t out: the reset is within the window
		}
		q := &record.Quota{Remaining: int64(min(r, math.MaxInt32)), Reset: d, Limit: pol.quota, Window: pol.window}
		if q.Limit == 0 {
			q.Limit, _ = strconv.ParseInt(strings.TrimSpace(limit), 10, 64)
		}
		if best == nil || q.Remaining < best.Remaining || q.Remaining == best.Remaining && q.Reset > best.Reset {
			best = q
		}
	}
	for _, v := range h.Values("RateLimit") {
		for _, p := range ratelimitPolicies(v) {
			pol := named[p["name"]]
			if p["name"] == "" {
				pol = plain.matching(p["limit"])
			}
			take(p["r"], p["t"], false, p["limit"], pol)
		}
	}
	if v := h.Get("RateLimit-Remaining"); v != "" {
		limit := h.Get("RateLimit-Limit")
		first, _, _ := strings.Cut(limit, ",")
		take(v, h.Get("RateLimit-Reset"), false, first, plain.matching(first))
	}
	if v := h.Get("X-RateLimit-Remaining"); v != "" {
		take(v, h.Get("X-RateLimit-Reset"), true, h.Get("X-RateLimit-Limit"), policy{})
	}
	return best
}

// A policy is a quota's size and window, from RateLimit-Policy (or the
// earlier RateLimit-Limit's `L;w=SECONDS` members); zeros where unknown.
type policy struct {
	quota  int64
	window time.Duration
}

type policies []policy

// matching returns the unnamed policy of quota limit, or the only one
// when limit is not given; the zero policy otherwise.
func (ps policies) matching(limit string) policy {
	if n, err := strconv.ParseInt(strings.TrimSpace(limit), 10, 64); err == nil {
		for _, p := range ps {
			if p.quota == n {
				return p
			}
		}
		return policy{}
	}
	if len(ps) == 1 {
		return ps[0]
	}
	return policy{}
}

// quotaPolicies reads the policies a response states: the structured
// RateLimit-Policy's by name, and the earlier drafts' unnamed ones (a
// number with a w parameter) in RateLimit-Policy and RateLimit-Limit.
func quotaPolicies(h http.Header) (map[string]policy, policies) {
	var named map[string]policy
	var plain policies
	for _, field := range []string{"Ratelimit-Policy", "Ratelimit-Limit"} {
		for _, v := range h[field] {
			for _, member := range strings.Split(v, ",") {
				params := strings.Split(member, ";")
				head := strings.TrimSpace(params[0])
				p := policy{}
				for _, param := range params[1:] {
					k, val, _ := strings.Cut(strings.TrimSpace(param), "=")
					n, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil || n <= 0 || n > float64(maxSecs) {
						continue
					}
					switch strings.ToLower(strings.TrimSpace(k)) {
					case "q":
						p.quota = int64(n)
					case "w":
						p.window = time.Duration(n * float64(time.Second))
					}
				}
				if name, ok := quoted(head); ok {
					if named == nil {
						named = map[string]policy{}
					}
					named[name] = p
				} else if n, err := strconv.ParseInt(head, 10, 64); err == nil && n > 0 && p.window > 0 {
					p.quota = n
					plain = append(plain, p)
				}
			}
		}
	}
	return named, plain
}

// quoted reads a structured-field string, "name".
func quoted(s string) (string, bool) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1], true
	}
	return "", false
}

// ratelimitPolicies reads a RateLimit field into its policies' parameters
// (the name under "name"), the earlier form's limit, remaining and reset
// as limit, r and t of one policy.
func ratelimitPolicies(v string) []map[string]string {
	var policies []map[string]string
	old := map[string]string{}
	for _, member := range strings.Split(v, ",") {
		params := strings.Split(member, ";")
		head := strings.TrimSpace(params[0])
		if k, val, ok := strings.Cut(head, "="); ok { // the earlier form
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "remaining":
				old["r"] = val
			case "reset":
				old["t"] = val
			case "limit":
				old["limit"] = val
			}
			continue
		}
		p := map[string]string{}
		p["name"], _ = quoted(head)
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
