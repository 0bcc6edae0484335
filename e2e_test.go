package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sluice/internal/config"
)

// The accounting invariant over an input mixing every kind of line: one
// record per non-blank, non-comment line, each with the expected outcome.
func TestInvariantMixedInput(t *testing.T) {
	srv := newSite(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/"
	ln.Close()

	type line struct {
		text string
		want string // expected error kind, "" for success, "skip" for no record
	}
	kinds := []line{
		{srv.URL + "/page/3", ""},
		{srv.URL + "/hello\r", ""},
		{srv.URL + "/status/404", ""},
		{srv.URL + "/status/503", ""},
		{srv.URL + "/redirect/3", ""},
		{srv.URL + "/redirect/30", "redirects"},
		{srv.URL + "/slow/10000", "timeout"},
		{srv.URL + "/bytes/100000", ""}, // truncated by --max-body, not an error
		{closed, "connect"},
		{`{"url":"` + srv.URL + `/page/1","id":42}`, ""},
		{`{"href":"` + srv.URL + `/page/1"}`, "invalid_input"},
		{`{"url": broken`, "invalid_input"},
		{"not a url", "invalid_input"},
		{"ftp://example.test/file", "invalid_input"},
		{"http://example.test/\xff\xfe", "invalid_input"},
		{srv.URL + "/page/2?q=" + strings.Repeat("a", 1<<20), ""}, // 1 MiB line
		{"", "skip"},
		{"   \t", "skip"},
		{"# a comment", "skip"},
	}
	var in strings.Builder
	in.WriteString("\xef\xbb\xbf") // a BOM before the first line
	var want []string
	for i := 0; i < 2000; i++ {
		l := kinds[i%len(kinds)]
		switch {
		case i%len(kinds) == 15 && i > len(kinds):
			l = kinds[0] // one 1 MiB line is enough to make the point
		case i%len(kinds) == 6 && i > 10*len(kinds):
			l = kinds[0] // ten timeouts, each three attempts of --timeout
		}
		in.WriteString(l.text + "\n")
		if l.want != "skip" {
			want = append(want, l.want)
		}
	}
	// --timeout is far above what a loaded machine takes to answer the
	// fast pages; /slow/10000 outlasts it whatever the load.
	stdout, stderr, code := runSluice(t, in.String(), "-c", "32", "--timeout", "2s",
		"--max-body", "64KiB", "--retry-base", "5ms", "--retry-max", "20ms")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
	}
	recs := parseOutput(t, stdout)
	if len(recs) != len(want) {
		t.Fatalf("%d output records for %d input records", len(recs), len(want))
	}
	for i, w := range want {
		r := recs[int64(i+1)]
		if r.kind() != w {
			t.Errorf("seq %d (%.80s): error %+v; want kind %q", r.Seq, r.URL, r.Error, w)
		}
		wantAttempts := 1 // the default --retries 2 retries timeouts, refusals and 503s
		switch {
		case w == "invalid_input":
			wantAttempts = 0
		case w == "timeout" || w == "connect" || r.Status == 503:
			wantAttempts = 3
		}
		if r.Attempts != wantAttempts {
			t.Errorf("seq %d (%.80s): %d attempts; want %d", r.Seq, r.URL, r.Attempts, wantAttempts)
		}
	}
	if r := recs[10]; string(r.Input) != `{"url":"`+srv.URL+`/page/1","id":42}` || r.Status != 200 {
		t.Errorf("NDJSON input record = %+v; want status 200 and the object verbatim under input", r)
	}
}

// A signal stops intake; requests in flight finish within the grace period
// or are cancelled; every record read is written; the exit status is 130.
func TestSignals(t *testing.T) {
	tests := []struct {
		name     string
		sig      syscall.Signal
		delay    time.Duration // how long each request takes
		grace    string
		inFlight string // error kind of the requests in flight at the signal
	}{
		{"SIGINT cancels after grace", syscall.SIGINT, time.Hour, "200ms", "canceled"},
		{"SIGTERM cancels after grace", syscall.SIGTERM, time.Hour, "200ms", "canceled"},
		{"SIGINT lets requests finish within grace", syscall.SIGINT, 300 * time.Millisecond, "10s", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSlowServer(t, tc.delay)
			s := startSluice(t, "-c", "20", "--host-concurrency", "20", "--window", "100", "--grace", tc.grace)
			// More lines than the window holds: some are read, some never are.
			for i := 0; i < 500; i++ {
				fmt.Fprintf(s.stdin, "%s/%d\n", srv.URL, i)
			}
			waitFor(t, "20 requests in flight", func() bool { return srv.inFlight.Load() == 20 })
			if err := s.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			s.wait(t)
			if code := s.cmd.ProcessState.ExitCode(); code != 130 {
				t.Errorf("exit status %d; want 130", code)
			}
			if s.stderr.Len() != 0 {
				t.Errorf("stderr = %q; want nothing", s.stderr.String())
			}
			recs := parseOutput(t, s.stdout.String())
			if len(recs) < 20 || len(recs) > 110 {
				t.Fatalf("%d records; want the 20 in flight and those read, about the window of 100", len(recs))
			}
			byKind := map[string]int{}
			for _, r := range recs {
				byKind[r.kind()]++
			}
			if byKind[tc.inFlight] < 20 {
				t.Errorf("records by error kind %v; want the 20 in flight as %q", byKind, tc.inFlight)
			}
			if byKind[""]+byKind["canceled"] != len(recs) {
				t.Errorf("records by error kind %v; want only successes and canceled", byKind)
			}
		})
	}
}

// A second signal does not wait for the grace period. The first one is
// seen to be handled when the records held for a host's rate come out
// canceled (free workers pass them on at once).
func TestSecondSignalExitsAtOnce(t *testing.T) {
	srv := newSlowServer(t, time.Hour)
	held := newSite(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd := exec.Command(sluiceBin(t), "-c", "5", "--grace", "1h", "--host-rate", strings.TrimPrefix(held.URL, "http://")+"=1/h")
	cmd.Stdout = pw
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close() // the child has its own copy
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill() // no-op once it has exited
		stdin.Close()
	}()
	for i := 0; i < 3; i++ {
		fmt.Fprintf(stdin, "%s/%d\n", srv.URL, i)
	}
	for i := 0; i < 5; i++ { // one goes, four wait an hour for the host's rate
		fmt.Fprintf(stdin, "%s/hello?%d\n", held.URL, i)
	}
	out := bufio.NewReader(pr)
	if line, err := out.ReadString('\n'); err != nil || !strings.Contains(line, `"status":200`) {
		t.Fatalf("first record: %q, %v; want the one the rate let go", line, err)
	}
	waitFor(t, "3 requests in flight", func() bool { return srv.inFlight.Load() == 3 })
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		line, err := out.ReadString('\n')
		if err != nil || !strings.Contains(line, `"kind":"canceled"`) {
			t.Fatalf("after the first signal: %q, %v; want a canceled record", line, err)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done: // the grace period is an hour: returning at all is the check
	case <-time.After(hangGuard):
		t.Fatal("sluice did not exit after the second signal")
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !(ws.Signaled() && ws.Signal() == syscall.SIGINT) && ws.ExitStatus() != 130 {
		t.Errorf("exit %v; want death by SIGINT or status 130", cmd.ProcessState)
	}
}

// `sluice | head -1`: once the reader is gone, sluice stops quietly.
func TestClosedStdout(t *testing.T) {
	srv := newSite(t)
	in := filepath.Join(t.TempDir(), "urls")
	if err := os.WriteFile(in, bytes.Repeat([]byte(srv.URL+"/hello\n"), 200_000), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", `"$1" < "$2" | head -n 1; echo "status ${PIPESTATUS[0]}" >&2`, "sh", sluiceBin(t), in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("pipeline: %v (stderr %q)", err, errb.String())
	}
	if n := strings.Count(out.String(), "\n"); n != 1 {
		t.Errorf("head printed %d lines; want 1", n)
	}
	if errb.String() != "status 1\n" {
		t.Errorf("stderr %q; want only the pipeline's report of sluice's status 1", errb.String())
	}
}

func TestUnwritableStdout(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	cmd := exec.Command(sluiceBin(t))
	cmd.Stdin = strings.NewReader(strings.Repeat("not a url\n", 100_000))
	cmd.Stdout = full
	var errb bytes.Buffer
	cmd.Stderr = &errb
	cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(errb.String(), "write output") {
		t.Errorf("exit %d, stderr %q; want 1 and a message about writing output", code, errb.String())
	}
}

// --ordered: records come out in input order although they finish out of
// order (each URL waits a different time), and the invariant holds.
func TestOrderedOutput(t *testing.T) {
	srv := newSite(t)
	var in strings.Builder
	for i := range 200 {
		fmt.Fprintf(&in, "%s/slow/%d\n", srv.URL, (200-i)%7*5)
		if i%50 == 0 {
			in.WriteString("not a url\n")
		}
	}
	stdout, stderr, code := runSluice(t, in.String(), "--ordered", "-c", "8", "--host-concurrency", "8", "--window", "16")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	parseOutput(t, stdout)
	for i, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if !strings.HasPrefix(line, fmt.Sprintf(`{"seq":%d,`, i+1)) {
			t.Fatalf("line %d is %.40s; want seq %d", i+1, line, i+1)
		}
	}
}

// With a slow input, each record appears while stdin is still open.
func TestStreamingOutput(t *testing.T) {
	srv := newSite(t)
	cmd := exec.Command(sluiceBin(t))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	lines := bufio.NewReader(stdout)
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(stdin, "%s/page/%d\n", srv.URL, i)
		line, err := lines.ReadString('\n') // blocks until sluice flushes
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !strings.Contains(line, fmt.Sprintf(`"seq":%d,`, i)) {
			t.Errorf("line %d = %q; want seq %d", i, line, i)
		}
	}
}

func TestFilesAsArguments(t *testing.T) {
	srv := newSite(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte(srv.URL+"/page/1\n"+srv.URL+"/page/2"), 0o644) // no final newline
	os.WriteFile(b, []byte(srv.URL+"/page/3\n"), 0o644)
	stdout, stderr, code := runSluice(t, srv.URL+"/page/4\n", a, "-", b)
	recs := parseOutput(t, stdout)
	if code != 0 || stderr != "" || len(recs) != 4 {
		t.Fatalf("exit %d, stderr %q, %d records; want 0, nothing, 4", code, stderr, len(recs))
	}
	for seq, page := range map[int64]string{1: "/page/1", 2: "/page/2", 3: "/page/4", 4: "/page/3"} {
		if recs[seq].URL != srv.URL+page {
			t.Errorf("seq %d is %q; want %s (files in order, - for stdin)", seq, recs[seq].URL, page)
		}
	}

	stdout, stderr, code = runSluice(t, "", a, filepath.Join(dir, "missing"))
	if code != 1 || stdout != "" || !strings.Contains(stderr, "missing") {
		t.Errorf("missing file: exit %d, stdout %q, stderr %q; want 1, nothing, a message naming it", code, stdout, stderr)
	}
}

// A bad flag exits 2 with one message naming it and the way to --help
// (internal/config's tests cover each flag).
func TestBadFlagExit(t *testing.T) {
	stdout, stderr, code := runSluice(t, "http://a.test/\n", "-c", "0")
	want := "sluice: invalid argument 0 for -c, --concurrency: must be at least 1\nTry 'sluice --help' for more information.\n"
	if code != 2 || stdout != "" || stderr != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, %q", code, stdout, stderr, want)
	}
}

// --deny-private refuses loopback however it is named; nothing is fetched.
func TestDenyPrivate(t *testing.T) {
	srv := newSite(t)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	in := srv.URL + "/page/1\nhttp://localhost:" + port + "/page/2\nhttp://[::1]:" + port + "/\nnot a url\n"
	stdout, stderr, code := runSluice(t, in, "--deny-private")
	recs := parseOutput(t, stdout)
	if code != 0 || stderr != "" || len(recs) != 4 {
		t.Fatalf("exit %d, stderr %q, %d records", code, stderr, len(recs))
	}
	for seq := int64(1); seq <= 3; seq++ {
		if r := recs[seq]; r.kind() != "denied" || r.Attempts != 1 {
			t.Errorf("%s: %+v after %d attempts; want denied, not retried", r.URL, r.Error, r.Attempts)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	stdout, _, code := runSluice(t, "", "--help")
	if code != 0 {
		t.Errorf("--help exit %d; want 0", code)
	}
	for _, flag := range []string{"--concurrency", "--timeout", "--max-body", "--max-redirects", "--method",
		"--header", "--user-agent", "--insecure", "--fail-status", "--url-field", "--grace", "--verbose",
		"--rate", "--burst", "--host-rate", "--host-concurrency", "--window", "--auto-throttle", "--retries",
		"--retry-on", "--retry-base", "--retry-max", "--retry-unsafe", "--stats", "--extract", "--select",
		"--select-all", "--links-same-host", "--body", "--text-max", "--parse-workers", "--deny-private", "--ordered"} {
		if !strings.Contains(stdout, flag) {
			t.Errorf("--help does not mention %s", flag)
		}
	}
	stdout, _, code = runSluice(t, "", "--version")
	if code != 0 || !strings.HasPrefix(stdout, "sluice "+config.Version+" (") { // the build's details follow: TestVersion
		t.Errorf("--version: exit %d, %q", code, stdout)
	}
}

func TestVerboseLog(t *testing.T) {
	srv := newSite(t)
	stdout, stderr, code := runSluice(t, srv.URL+"/page/1\nnope\n", "-v")
	if code != 0 || len(parseOutput(t, stdout)) != 2 {
		t.Fatalf("exit %d, output %q", code, stdout)
	}
	if !strings.Contains(stderr, "#1 200 ") || !strings.Contains(stderr, "#2 invalid_input ") {
		t.Errorf("-v log = %q; want one line per record", stderr)
	}
}

// Every script in examples/, as a new user runs it, with what it must show.
// The examples pipe sluice through jq, as users do: without it the test
// says so and skips, unless SLUICE_REQUIRE_TOOLS is set (.ci/run sets it,
// so that CI never skips it).
func TestExamples(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		if os.Getenv("SLUICE_REQUIRE_TOOLS") != "" {
			t.Fatal("jq is not installed, and SLUICE_REQUIRE_TOOLS is set")
		}
		t.Skip("jq is not installed (apt-get install jq): the examples pipe sluice through it")
	}
	outcomes := func(want map[string]int) func(*testing.T, string, string) {
		return func(t *testing.T, stdout, stderr string) {
			counts := map[string]int{}
			for _, r := range parseOutput(t, stdout) {
				counts[fmt.Sprintf("%d %s", r.Status, r.kind())]++
			}
			if fmt.Sprint(counts) != fmt.Sprint(want) {
				t.Errorf("outcomes %v; want %v", counts, want)
			}
		}
	}
	contains := func(parts ...string) func(*testing.T, string, string) {
		return func(t *testing.T, stdout, stderr string) {
			for _, p := range parts {
				if !strings.Contains(stdout+stderr, p) {
					t.Errorf("output lacks %q:\n%s\n%s", p, stdout, stderr)
				}
			}
		}
	}
	lines := func(n int) func(*testing.T, string, string) {
		return func(t *testing.T, stdout, stderr string) {
			if got := strings.Count(stdout, "\n"); got != n {
				t.Errorf("%d lines; want %d:\n%s", got, n, stdout)
			}
		}
	}
	tests := []struct {
		script   string
		wantExit int
		checks   []func(*testing.T, string, string)
	}{
		{"quickstart.sh", 0, []func(*testing.T, string, string){outcomes(map[string]int{"200 ": 21, "404 ": 1, "0 invalid_input": 1})}},
		{"polite-crawl.sh", 0, []func(*testing.T, string, string){outcomes(map[string]int{"200 ": 24}),
			contains("sluice stats: 2 hosts\n", " rate=", "total requests=")}},
		{"crawl.sh", 0, []func(*testing.T, string, string){outcomes(map[string]int{"200 ": 21}),
			contains(`{"seq":1,"depth":0,"parent":null,"url":"`, `"depth":1,"parent":1,`, "crawl admitted=21 not_admitted:seen=")}},
		{"titles.sh", 0, []func(*testing.T, string, string){lines(5), contains("/page/1\tPage 1\n", "/page/5\tPage 5\n")}},
		{"broken-links.sh", 1, []func(*testing.T, string, string){lines(3),
			contains("/page/99 (404)", "/status/500 (500)", "/no/such/path (404)", "6 links checked, 3 broken")}},
		{"enrich-log.sh", 0, []func(*testing.T, string, string){lines(3),
			contains(`{"ts":"2026-11-24T12:01:00Z","user":"u1","url":"`, `"status":200,"title":"Page 1"}`)}},
		{"enrich-api.sh", 0, []func(*testing.T, string, string){lines(4),
			contains(`{"ts":"2026-11-30T09:00:01Z","user":"1","action":"login","amount":null,"status":200,"attempts":1,"name":"user 1","city":"Oslo","sent":null,"auth":"[redacted]"}`,
				`"action":"purchase","amount":"19.90","status":200,"attempts":1,"name":null,"city":null,"sent":{"action":"purchase","amount":19.9,"user":2},"auth":"[redacted]"}`,
				`"user":"3","action":"login","amount":null,"status":200,"attempts":2,`,
				`"action":"refund","amount":"5.00","status":200,"attempts":1,"name":null,"city":null,"sent":{"action":"refund","amount":5,"user":4},"auth":"[redacted]"}`)}},
		{"tail-stream.sh", 0, []func(*testing.T, string, string){lines(8), contains(`/page/8","status":200,`)}},
		{"daily-watch.sh", 0, []func(*testing.T, string, string){lines(1),
			contains(`/cache/changing/1","title":"Cached changing 1"}`, "day 1: 6 miss\n", "day 2: 1 changed, 4 revalidated, 1 unchanged\n")}},
		{"distributed.sh", 0, []func(*testing.T, string, string){outcomes(map[string]int{"200 ": 300}),
			contains("sluice enqueue: 300 records to stream CRAWL (16 partitions)", "sluice: done: ")}},
	}
	scripts, err := filepath.Glob("examples/*.sh")
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) != len(tests)+1 { // + lib.sh
		t.Errorf("examples/ has %d scripts; the table covers %d (and lib.sh)", len(scripts), len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.script, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hung example fails, not CI
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", filepath.Join("examples", tc.script))
			cmd.Env = append(os.Environ(), "SLUICE="+sluiceBin(t), "SITE="+binary(t, "./internal/cmd/site"), "NATSD="+binary(t, "./internal/cmd/natsd"), "NATSCAT="+binary(t, "./internal/cmd/natscat"))
			cmd.WaitDelay = 5 * time.Second // a child left holding our pipes must not hang the test
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != tc.wantExit {
				t.Fatalf("%s: exit %d; want %d\n%s", tc.script, code, tc.wantExit, errb.String())
			}
			for _, check := range tc.checks {
				check(t, out.String(), errb.String())
			}
		})
	}
}

// --progress draws on stderr (here not a terminal, so forced) and never
// touches stdout; --no-progress wins over it; without either, a stderr that
// is not a terminal gets nothing (every other test checks that).
func TestProgressLine(t *testing.T) {
	srv := newSite(t)
	var in strings.Builder
	for i := range 40 {
		fmt.Fprintf(&in, "%s/slow/%d\n", srv.URL, 50+i%3*50)
	}
	stdout, stderr, code := runSluice(t, in.String(), "--progress", "-c", "4", "--host-concurrency", "4")
	if code != 0 || len(parseOutput(t, stdout)) != 40 {
		t.Fatalf("exit %d; stdout must hold the 40 records and nothing else:\n%s", code, stdout)
	}
	for _, want := range []string{"done ", " · in flight ", " · waiting ", " · errors 0 · ", " req/s"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("progress on stderr lacks %q: %q", want, stderr)
		}
	}
	_, stderr, _ = runSluice(t, in.String(), "--progress", "--no-progress")
	if stderr != "" {
		t.Errorf("--no-progress: stderr %q; want nothing", stderr)
	}
}
