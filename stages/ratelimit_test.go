package stages

import (
	"net/http"
	"testing"
	"time"
)

func TestQuotaPause(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name   string
		header http.Header
		want   time.Duration
		spent  bool
	}{
		{"none", http.Header{}, 0, false},
		{"structured, spent", http.Header{"Ratelimit": {`"default";r=0;t=30`}}, 30 * time.Second, true},
		{"structured, left", http.Header{"Ratelimit": {`"default";r=5;t=30`}}, 0, false},
		{"structured, two policies", http.Header{"Ratelimit": {`"hour";r=10;t=3000, "minute";r=0;t=20`}}, 20 * time.Second, true},
		{"earlier combined", http.Header{"Ratelimit": {`limit=100, remaining=0, reset=12`}}, 12 * time.Second, true},
		{"earlier fields", http.Header{"Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"7"}}, 7 * time.Second, true},
		{"x- seconds", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"3"}}, 3 * time.Second, true},
		{"x- unix time", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1800000060"}}, time.Minute, true},
		{"x- unix ms", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1800000005000"}}, 5 * time.Second, true},
		{"x- past", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1700000000"}}, 0, true},
		{"x- left", http.Header{"X-Ratelimit-Remaining": {"12"}, "X-Ratelimit-Reset": {"3"}}, 0, false},
		{"no reset", http.Header{"X-Ratelimit-Remaining": {"0"}}, 0, false},
		{"garbage", http.Header{"Ratelimit": {`;;=,=;r=x;t=-1`}, "X-Ratelimit-Remaining": {"none"}}, 0, false},
	} {
		got, spent := QuotaPause(tc.header, now)
		if got != tc.want || spent != tc.spent {
			t.Errorf("%s: %v, %v; want %v, %v", tc.name, got, spent, tc.want, tc.spent)
		}
	}
}
