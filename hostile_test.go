package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
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
	"/bad-gzip": {"protocol", 200, false}, "/br-bomb": {"", 200, true}, "/zstd-bomb": {"", 200, true},
	"/bad-br": {"protocol", 200, false}, "/wrong-encoding": {"protocol", 200, false}, "/loop": {"redirects", 0, false}, "/chain/3": {"", 200, false},
	"/chain/30": {"redirects", 0, false}, "/to-ftp": {"redirects", 0, false}, "/no-content": {"", 204, false},
	"/not-modified": {"", 304, false}, "/early-hints": {"", 200, false}, "/bad-utf8": {"", 200, false},
	"/mislabelled": {"", 200, false}, "/huge-headers": {"too_large", 0, false}, "/garbage": {"protocol", 0, false},
}

// Thousands of lines mixing every fault with good URLs, invalid lines and a
// self-signed TLS host: one record each, each with the right outcome, good
// URLs unaffected, exit 0, nothing on stderr, although the gzip bombs
// inflate to 256 MiB each and the endless bodies never end. (Peak memory
// and the time a timed-out attempt took are measured by bench/soak.sh.)
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
			if hostileWant[f].kind == "timeout" && i >= 10 {
				continue // ten of each is enough, and each takes --timeout
			}
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
	// --timeout is far above what a loaded machine takes to answer the good
	// pages; the hanging faults outlast it whatever the load.
	cmd := exec.CommandContext(ctx, sluiceBin(t), "-c", "64", "--timeout", "3s",
		"--max-body", "1MiB", "--retries", "0", "--extract", "title")
	cmd.Stdin = strings.NewReader(in.String())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("sluice: %v\n%s", err, errb.String())
	}
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
		}
	}
	for msg, n := range wrong {
		t.Errorf("%d× %s", n, msg)
	}
	t.Logf("%d records", len(recs))
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
			if err := s.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			s.wait(t)
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
