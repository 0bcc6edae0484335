package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// host is a local server that logs when each request arrived. Its handler
// decides the answer from the request number (0-based, per server).
type host struct {
	*httptest.Server
	mu       sync.Mutex
	arrivals []time.Time
}

func newHost(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *host {
	t.Helper()
	h := &host{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		n := len(h.arrivals)
		h.arrivals = append(h.arrivals, time.Now())
		h.mu.Unlock()
		answer(n, w, r)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *host) key() string {
	u, _ := url.Parse(h.URL)
	return u.Host
}

func (h *host) times() []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.arrivals...)
}

func urls(base string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%s/%d\n", base, i)
	}
	return b.String()
}

func fast(n int, w http.ResponseWriter, r *http.Request) {}

func runOK(t *testing.T, stdin string, args ...string) ([]outRecord, string) {
	t.Helper()
	stdout, stderr, code := runSluice(t, stdin, args...)
	if code != 0 {
		t.Fatalf("sluice %v: exit %d, stderr %q", args, code, stderr)
	}
	byseq := parseOutput(t, stdout)
	// parseOutput checked the seqs; keep completion order for the caller.
	var recs []outRecord
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		for seq, r := range byseq {
			if strings.HasPrefix(line, fmt.Sprintf(`{"seq":%d,`, seq)) {
				recs = append(recs, r)
				break
			}
		}
	}
	return recs, stderr
}

// 12 URLs for host A limited to 4/s, listed before 200 URLs for host B:
// all of B's records come out before A's third.
func TestHeadOfLine(t *testing.T) {
	a, b := newHost(t, fast), newHost(t, fast)
	recs, _ := runOK(t, urls(a.URL, 12)+urls(b.URL, 200),
		"-c", "20", "--host-concurrency", "20", "--host-rate", a.key()+"=4")
	if len(recs) != 212 {
		t.Fatalf("%d records; want 212", len(recs))
	}
	lastB, thirdA, seenA := -1, -1, 0
	for i, r := range recs {
		if strings.HasPrefix(r.URL, b.URL) {
			lastB = i
		} else if seenA++; seenA == 3 {
			thirdA = i
		}
	}
	if lastB > thirdA {
		t.Errorf("the last of B's records is output #%d, A's third #%d; want all of B first", lastB+1, thirdA+1)
	}
	at := a.times()
	if gap := at[len(at)-1].Sub(at[0]); gap < 2500*time.Millisecond {
		t.Errorf("A's 12 requests spanned %v; want at least 2.75 s at 4/s", gap)
	}
}

// A host answering 429 with Retry-After: 1 gets no request for a second,
// while another host is served meanwhile.
func TestRetryAfterPausesHost(t *testing.T) {
	a := newHost(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	b := newHost(t, func(n int, w http.ResponseWriter, r *http.Request) { time.Sleep(20 * time.Millisecond) })
	// One slot for A: no second request of A's is already in flight when the 429 arrives.
	recs, _ := runOK(t, urls(a.URL, 3)+urls(b.URL, 100), "-c", "10", "--host-concurrency", "2",
		"--host-concurrency", a.key()+"=1")
	at, bt := a.times(), b.times()
	if len(at) != 4 {
		t.Fatalf("A got %d requests; want 3 and a retry", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < time.Second {
		t.Errorf("A's next request came %v after the 429; want at least 1 s (Retry-After)", gap)
	}
	during := 0
	for _, t := range bt {
		if t.After(at[0]) && t.Before(at[1]) {
			during++
		}
	}
	if during == 0 {
		t.Errorf("B got no request during A's pause; want it served meanwhile")
	}
	for _, r := range recs {
		if r.Status != 200 {
			t.Errorf("%s: status %d after %d attempts; want 200", r.URL, r.Status, r.Attempts)
		}
	}
}

// -c 1: a record waiting out a long backoff holds no worker, so 50 fast
// records behind it all finish first.
func TestRetryWaitHoldsNoWorker(t *testing.T) {
	a := newHost(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	b := newHost(t, fast)
	recs, _ := runOK(t, a.URL+"/fail\n"+urls(b.URL, 50), "-c", "1", "--retries", "1")
	if len(recs) != 51 {
		t.Fatalf("%d records; want 51", len(recs))
	}
	last := recs[len(recs)-1]
	if !strings.HasPrefix(last.URL, a.URL) || last.Status != 503 || last.Attempts != 2 {
		t.Errorf("last record out = %+v; want A's, 503 after 2 attempts, behind all 50 of B's", last)
	}
}

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

// --rate 20: no second holds more than rate + burst requests.
func TestGlobalRate(t *testing.T) {
	a, b := newHost(t, fast), newHost(t, fast)
	runOK(t, urls(a.URL, 25)+urls(b.URL, 25), "--rate", "20/s")
	all := append(a.times(), b.times()...)
	for _, start := range all {
		n := 0
		for _, t := range all {
			if !t.Before(start) && t.Sub(start) < time.Second {
				n++
			}
		}
		if n > 21 {
			t.Fatalf("%d requests within a second of %v; want at most 21 (rate 20 + burst 1)", n, start)
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
