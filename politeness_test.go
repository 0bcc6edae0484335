package main

import (
	"net/http"
	"strings"
	"testing"
)

// Every request fails and is retried, with one worker and a window of one:
// no deadlock, no loss.
func TestRetryNoDeadlock(t *testing.T) {
	a := newHost(t, fast)
	a.Close() // refused from now on
	in := urls(a.URL, 30) + "not a url\n" + urls(a.URL, 5)
	recs, _ := runOK(t, in, "-c", "1", "--window", "1", "--retries", "2", "--retry-base", "1ms", "--retry-max", "5ms")
	if len(recs) != 36 {
		t.Fatalf("%d records; want 36", len(recs))
	}
	for _, r := range recs {
		switch {
		case r.URL == "not a url" && r.kind() == "invalid_input" && r.Attempts == 0:
		case r.kind() == "connect" && r.Attempts == 3:
		default:
			t.Errorf("record %+v; want connect after 3 attempts (or the invalid line)", r)
		}
	}
}

func TestStats(t *testing.T) {
	a := newHost(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/missing") {
			w.WriteHeader(http.StatusNotFound)
		}
	})
	b := newHost(t, func(n int, w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	in := urls(a.URL, 5) + a.URL + "/missing\n" + a.URL + "/missing\n" + urls(b.URL, 3) + "nope\n"
	_, stderr := runOK(t, in, "--stats", "--retries", "1", "--retry-base", "1ms", "--retry-max", "2ms")
	for _, want := range []string{
		"sluice stats: 2 hosts\n",
		"  " + a.key() + " requests=7 retries=0 waits=0 status:200=5,404=2\n",
		"  " + b.key() + " requests=6 retries=3 waits=0 status:503=6\n",
		"  total requests=13 retries=3 waits=0 status:200=5,404=2,503=6\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("--stats output lacks %q:\n%s", want, stderr)
		}
	}
}

// A host whose rate-limit fields say its quota is spent is paused, the
// pause counted by --stats; its records all come back 200.
func TestQuotaPauseEndToEnd(t *testing.T) {
	h := newHost(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", "1")
		}
	})
	recs, stderr := runOK(t, urls(h.URL, 3), "--stats", "--host-concurrency", "1")
	for _, r := range recs {
		if r.Status != 200 {
			t.Errorf("record %d: %+v; want 200", r.Seq, r)
		}
	}
	if want := "  " + h.key() + " requests=3 retries=0 waits="; !strings.Contains(stderr, want) || !strings.Contains(stderr, " quota_pauses=1 ") {
		t.Errorf("--stats output lacks %q… quota_pauses=1:\n%s", want, stderr)
	}
}
