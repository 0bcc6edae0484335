package fetch

import (
	"net/http"
	"testing"
	"time"

	"sluice/record"
)

func TestReadQuota(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	q := func(left int64, reset time.Duration, limit int64, window time.Duration) *record.Quota {
		return &record.Quota{Remaining: left, Reset: reset, Limit: limit, Window: window}
	}
	for _, tc := range []struct {
		name   string
		header http.Header
		want   *record.Quota
	}{
		{"none", http.Header{}, nil},
		{"structured, spent", http.Header{"Ratelimit": {`"default";r=0;t=30`}}, q(0, 30*time.Second, 0, 0)},
		{"structured, left", http.Header{"Ratelimit": {`"default";r=5;t=30`}}, q(5, 30*time.Second, 0, 0)},
		{"structured, the policy by name", http.Header{"Ratelimit": {`"day";r=900;t=80000, "burst";r=3;t=1`},
			"Ratelimit-Policy": {`"burst";q=5;w=2, "day";q=1000;w=86400`}}, q(3, time.Second, 5, 2*time.Second)},
		{"structured, no t: within the window", http.Header{"Ratelimit": {`"w";r=2`}, "Ratelimit-Policy": {`"w";q=5;w=2`}}, q(2, 2*time.Second, 5, 2*time.Second)},
		{"structured, no t, no policy", http.Header{"Ratelimit": {`"w";r=2`}}, nil},
		{"structured, two policies: the fewest left", http.Header{"Ratelimit": {`"hour";r=10;t=3000, "minute";r=0;t=20`}}, q(0, 20*time.Second, 0, 0)},
		{"earlier combined, with policy", http.Header{"Ratelimit": {`limit=100, remaining=0, reset=12`}, "Ratelimit-Policy": {`100;w=60`}}, q(0, 12*time.Second, 100, time.Minute)},
		{"earlier fields", http.Header{"Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"7"}}, q(0, 7*time.Second, 0, 0)},
		{"earlier fields, window in the limit", http.Header{"Ratelimit-Limit": {"10, 10;w=1, 50;w=60"}, "Ratelimit-Remaining": {"4"}, "Ratelimit-Reset": {"1"}},
			q(4, time.Second, 10, time.Second)},
		{"x- seconds", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"3"}, "X-Ratelimit-Limit": {"60"}}, q(0, 3*time.Second, 60, 0)},
		{"x- unix time", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1800000060"}}, q(0, time.Minute, 0, 0)},
		{"x- unix ms", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1800000005000"}}, q(0, 5*time.Second, 0, 0)},
		{"x- past", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1700000000"}}, q(0, 0, 0, 0)},
		{"x- left", http.Header{"X-Ratelimit-Remaining": {"12"}, "X-Ratelimit-Reset": {"3"}}, q(12, 3*time.Second, 0, 0)},
		{"negative left is none", http.Header{"X-Ratelimit-Remaining": {"-1"}, "X-Ratelimit-Reset": {"3"}}, q(0, 3*time.Second, 0, 0)},
		{"no reset", http.Header{"X-Ratelimit-Remaining": {"0"}}, nil},
		{"two styles: the fewest left", http.Header{"Ratelimit": {`"a";r=9;t=5`}, "X-Ratelimit-Remaining": {"2"}, "X-Ratelimit-Reset": {"4"}}, q(2, 4*time.Second, 0, 0)},
		{"garbage", http.Header{"Ratelimit": {`;;=,=;r=x;t=-1`}, "Ratelimit-Policy": {`;q=;w=-3, "x`}, "X-Ratelimit-Remaining": {"none"}}, nil},
	} {
		got := ReadQuota(tc.header, now)
		if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
			t.Errorf("%s: ReadQuota = %+v; want %+v", tc.name, got, tc.want)
		}
	}
}
