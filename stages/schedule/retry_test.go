package schedule

import (
	"testing"
	"time"

	"golang.org/x/time/rate"

	"sluice/record"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    rate.Limit
		wantErr bool
	}{
		{"10", 10, false},
		{"10/s", 10, false},
		{"600/m", 10, false},
		{"3600/h", 1, false},
		{"0.5/s", 0.5, false},
		{" 2 / S ", 2, false},
		{"0", rate.Inf, false},
		{"-1", 0, true},
		{"ten", 0, true},
		{"10/d", 0, true},
		{"NaN", 0, true},
		{"Inf", 0, true},
		{"", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseRate(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

// FuzzParseRate: never panics; an accepted rate is positive (Inf for none).
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"10", "10/s", "600/m", "0", "1e308/s", "0x10", "5/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err == nil && !(r > 0) {
			t.Fatalf("ParseRate(%q) = %v; want > 0", s, r)
		}
	})
}

func TestBackoff(t *testing.T) {
	p := RetryPolicy{Base: 100 * time.Millisecond, Max: time.Second}
	highest := func(n int64) int64 { return n - 1 }
	tests := []struct {
		attempts   int
		retryAfter time.Duration
		want       time.Duration // with the highest draw
	}{
		{1, 0, 100*time.Millisecond - 1},
		{2, 0, 200*time.Millisecond - 1},
		{4, 0, 800*time.Millisecond - 1},
		{5, 0, time.Second - 1}, // capped
		{70, 0, time.Second - 1},
		{1, 3 * time.Second, time.Second}, // Retry-After, capped by Max
		{1, 300 * time.Millisecond, 300 * time.Millisecond},
	}
	for _, tc := range tests {
		r := &record.Record{Attempts: tc.attempts, Response: record.Response{RetryAfter: tc.retryAfter}}
		if got := p.backoff(r, highest); got != tc.want {
			t.Errorf("backoff(attempts %d, Retry-After %v) = %v; want %v", tc.attempts, tc.retryAfter, got, tc.want)
		}
		if got := p.backoff(r, func(int64) int64 { return 0 }); tc.retryAfter == 0 && got != 0 {
			t.Errorf("backoff with the lowest draw = %v; want 0 (full jitter)", got)
		}
	}
}

func TestRetryable(t *testing.T) {
	p := RetryPolicy{Retries: 2, Statuses: DefaultRetryStatuses}
	failed := func(kind record.Kind, attempts int) *record.Record {
		r := &record.Record{Attempts: attempts, Replayable: true}
		r.Fail(kind, "x")
		return r
	}
	tests := []struct {
		name   string
		policy RetryPolicy
		r      *record.Record
		want   bool
	}{
		{"503", p, &record.Record{Attempts: 1, Replayable: true, Response: record.Response{Status: 503}}, true},
		{"429 second attempt", p, &record.Record{Attempts: 2, Replayable: true, Response: record.Response{Status: 429}}, true},
		{"503 out of retries", p, &record.Record{Attempts: 3, Replayable: true, Response: record.Response{Status: 503}}, false},
		{"500 not listed", p, &record.Record{Attempts: 1, Replayable: true, Response: record.Response{Status: 500}}, false},
		{"200", p, &record.Record{Attempts: 1, Replayable: true, Response: record.Response{Status: 200}}, false},
		{"timeout", p, failed(record.KindTimeout, 1), true},
		{"connect", p, failed(record.KindConnect, 1), true},
		{"reset", p, failed(record.KindReset, 1), true},
		{"dns", p, failed(record.KindDNS, 1), false},
		{"tls", p, failed(record.KindTLS, 1), false},
		{"invalid input", p, failed(record.KindInvalidInput, 0), false},
		{"503 with fail-status", p, func() *record.Record {
			r := &record.Record{Attempts: 1, Replayable: true, Response: record.Response{Status: 503}}
			r.Fail(record.KindHTTP, "HTTP 503")
			return r
		}(), true},
		{"not replayable (POST)", p, &record.Record{Attempts: 1, Response: record.Response{Status: 503}}, false},
		{"not replayable, --retry-unsafe", RetryPolicy{Retries: 2, Statuses: DefaultRetryStatuses, Unsafe: true}, &record.Record{Attempts: 1, Response: record.Response{Status: 503}}, true},
	}
	for _, tc := range tests {
		if got := tc.policy.retryable(tc.r); got != tc.want {
			t.Errorf("%s: retryable = %v; want %v", tc.name, got, tc.want)
		}
	}
}
