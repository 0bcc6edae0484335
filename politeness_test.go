package main

import (
	"bytes"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
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

// With a hard open-files limit of 256, -c 1000 against a server that holds
// each request is lowered to fit, said once on stderr, and every record
// comes back: none turns into a "too many open files" connect error. A soft
// limit alone is no limit: Go raises it to the hard one at start.
func TestOpenFilesLimit(t *testing.T) {
	srv := newSlowServer(t, 50*time.Millisecond)
	in := urls(srv.URL, 1500)
	run := func(ulimit string) (map[int64]outRecord, string) {
		cmd := exec.Command("bash", "-c", ulimit+` && exec "$0" -c 1000 --retries 0`, sluiceBin(t))
		cmd.Stdin = strings.NewReader(in)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v, stderr %q", ulimit, err, errb.String())
		}
		return parseOutput(t, out.String()), errb.String()
	}
	recs, stderr := run("ulimit -n 256")
	if stderr != "sluice: -c 1000 lowered to 144: the open-files limit (ulimit -n) is 256\n" {
		t.Errorf("stderr %q; want the one line saying -c was lowered", stderr)
	}
	for _, r := range recs {
		if r.Status != 200 {
			t.Fatalf("record %d: %+v; want 200 (%d records)", r.Seq, r, len(recs))
		}
	}
	recs, stderr = run("ulimit -S -n 256")
	if strings.Contains(stderr, "is 256") {
		t.Errorf("a soft limit of 256 was not raised: %q", stderr)
	}
	for _, r := range recs {
		if r.Status != 200 {
			t.Fatalf("soft limit only, record %d: %+v; want 200", r.Seq, r)
		}
	}
	if len(recs) != 1500 {
		t.Errorf("%d records; want 1500", len(recs))
	}
}
