package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"sluice/internal/hostile"
	"sluice/internal/site"
)

// What each fault must come out as, with the flags TestHostileMixedInput
// uses: "" is a good response, "truncated" a good response cut at --max-body.
var hostileWant = map[string]struct {
	kind      string
	status    int
	truncated bool
}{
	"/ok": {"", 200, false}, "/reset": {"reset", 0, false}, "/close": {"reset", 0, false},
	"/hang": {"timeout", 0, false}, "/slow-headers": {"timeout", 0, false}, "/slow-body": {"timeout", 200, false},
	"/short": {"reset", 200, false}, "/endless": {"", 200, true}, "/gzip-bomb": {"", 200, true},
	"/bad-gzip": {"protocol", 200, false}, "/loop": {"redirects", 0, false}, "/chain/3": {"", 200, false},
	"/chain/30": {"redirects", 0, false}, "/to-ftp": {"redirects", 0, false}, "/no-content": {"", 204, false},
	"/not-modified": {"", 304, false}, "/early-hints": {"", 200, false}, "/bad-utf8": {"", 200, false},
	"/mislabelled": {"", 200, false}, "/huge-headers": {"too_large", 0, false}, "/garbage": {"protocol", 0, false},
}

// Thousands of lines mixing every fault with good URLs, invalid lines and a
// self-signed TLS host: one record each, each with the right outcome, good
// URLs unaffected, exit 0, nothing on stderr, and memory bounded although
// the gzip bombs inflate to 256 MiB each and the endless bodies never end.
func TestHostileMixedInput(t *testing.T) {
	bad := httptest.NewServer(hostile.Handler())
	t.Cleanup(bad.Close)
	good := newSite(t)
	tlsSrv := httptest.NewUnstartedServer(site.Handler())
	tlsSrv.EnableHTTP2 = true
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	if len(hostileWant) != len(hostile.Faults) {
		t.Fatalf("hostileWant covers %d faults of %d", len(hostileWant), len(hostile.Faults))
	}

	type expect struct{ url, kind string }
	var in strings.Builder
	var want []expect
	add := func(line, kind string) {
		in.WriteString(line + "\n")
		want = append(want, expect{line, kind})
	}
	for i := range 100 {
		for _, f := range hostile.Faults {
			add(bad.URL+f+"?i="+fmt.Sprint(i), hostileWant[f].kind)
		}
		add(good.URL+"/page/"+fmt.Sprint(i%20+1), "")
		add(tlsSrv.URL+"/hello", "tls") // self-signed: refused without --insecure
		if i%10 == 0 {
			add("not a url", "invalid_input")
			add(`{"url": 42}`, "invalid_input")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a hang fails, not CI
	defer cancel()
	cmd := exec.CommandContext(ctx, sluiceBin, "-c", "64", "--host-concurrency", "64", "--timeout", "1s",
		"--max-body", "1MiB", "--retries", "0", "--extract", "title")
	cmd.Stdin = strings.NewReader(in.String())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	peak := watchPeakRSS(cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sluice: %v\n%s", err, errb.String())
	}
	rss := peak() // KiB
	if errb.Len() != 0 {
		t.Errorf("stderr = %q; want nothing", errb.String())
	}
	recs := parseOutput(t, out.String())
	if len(recs) != len(want) {
		t.Fatalf("%d records for %d input lines", len(recs), len(want))
	}
	wrong := map[string]int{}
	for i, w := range want {
		r := recs[int64(i+1)]
		path := strings.TrimPrefix(strings.SplitN(w.url, "?", 2)[0], bad.URL)
		hw, isFault := hostileWant[path]
		switch {
		case r.kind() != w.kind:
			wrong[fmt.Sprintf("%s: kind %q, want %q (%v)", path, r.kind(), w.kind, r.Error)]++
		case isFault && hw.status != 0 && r.Status != hw.status:
			wrong[fmt.Sprintf("%s: status %d, want %d", path, r.Status, hw.status)]++
		case isFault && r.Truncated != hw.truncated:
			wrong[fmt.Sprintf("%s: truncated %v, want %v", path, r.Truncated, hw.truncated)]++
		case r.kind() == "timeout" && r.ElapsedMS > 3000:
			// --timeout 1s bounds the attempt; 3x leaves room for a loaded machine.
			wrong[fmt.Sprintf("%s: timed out after %.0f ms, want about 1000", path, r.ElapsedMS)]++
		}
	}
	for msg, n := range wrong {
		t.Errorf("%d× %s", n, msg)
	}
	if rss > 512<<10 {
		t.Errorf("peak RSS %d MiB; want it bounded by --max-body × -c, far below 512 MiB", rss>>10)
	}
	t.Logf("%d records, peak RSS %d MiB", len(recs), rss>>10)
}

// The self-signed TLS host answers over HTTP/2 with --insecure.
func TestInsecureHTTP2(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(site.Handler())
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	stdout, _, code := runSluice(t, tlsSrv.URL+"/hello\n", "--insecure")
	recs := parseOutput(t, stdout)
	if code != 0 || len(recs) != 1 || recs[1].Status != 200 || !strings.Contains(stdout, `"proto":"HTTP/2.0"`) {
		t.Errorf("--insecure against a self-signed HTTP/2 server: %s", stdout)
	}
}

// SIGINT or SIGTERM with a thousand requests in flight out of 10,000 lines:
// every record read comes out (those in flight and those waiting as
// canceled), seqs 1..n each once, exit 130.
func TestSignalUnderLoad(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			srv := newSlowServer(t, time.Hour)
			s := startSluice(t, "-c", "1000", "--host-concurrency", "1000", "--window", "4000", "--grace", "300ms")
			go func() {
				var b strings.Builder
				for i := range 10_000 {
					fmt.Fprintf(&b, "%s/%d\n", srv.URL, i)
				}
				io.WriteString(s.stdin, b.String()) // blocks on backpressure; ends when sluice stops reading
			}()
			waitFor(t, "1000 requests in flight", func() bool { return srv.inFlight.Load() == 1000 })
			sent := time.Now()
			if err := s.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			s.wait(t)
			t.Logf("exited %v after the signal (grace 300ms)", time.Since(sent).Round(time.Millisecond))
			if code := s.cmd.ProcessState.ExitCode(); code != 130 {
				t.Errorf("exit status %d; want 130", code)
			}
			if s.stderr.Len() != 0 {
				t.Errorf("stderr = %q", s.stderr.String())
			}
			recs := parseOutput(t, s.stdout.String())
			if len(recs) < 1000 {
				t.Fatalf("%d records; want at least the 1000 in flight", len(recs))
			}
			for _, r := range recs {
				if r.kind() != "canceled" {
					t.Fatalf("record %d: %+v; want canceled", r.Seq, r.Error)
				}
			}
			t.Logf("%d records read and written, all canceled", len(recs))
		})
	}
}

// watchPeakRSS polls the peak resident size (VmHWM, KiB) of a running
// process until it exits; the returned function waits for the end of the
// polling and gives the last value seen. Not the child's rusage: on Linux a
// child started by a big parent reports the parent's peak as its own (exec
// records the old address space's high-water mark), and this test binary,
// with in-process nats-servers under -race, reached 550 MiB.
func watchPeakRSS(pid int) func() int64 {
	var peak int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				return
			}
			_, rest, ok := strings.Cut(string(b), "VmHWM:")
			if !ok {
				return // exited: its memory is gone
			}
			var kib int64
			fmt.Sscan(rest, &kib)
			peak = max(peak, kib)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return func() int64 {
		<-done
		return peak
	}
}
