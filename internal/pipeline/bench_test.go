package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"sluice/bench/plain"
	"sluice/internal/config"
)

// The stage chain against the plain Go pool, in the same run: each op runs
// 2,000 URLs through, to a local server answering 100 bytes, at
// concurrency 64, and checks a line came out per URL. records/s and
// allocs/record (server side included, for both) are the figures. Run with
//
//	go test -run '^$' -bench 'Pipeline|PlainPool' -count 5 ./internal/pipeline/
//
// and compare the two lines (the server shares the machine, so compare
// ratios within one run).
func BenchmarkPipeline(b *testing.B) {
	cfg, err := config.Parse([]string{"-c", "64", "--no-progress"}, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	benchLoop(b, helloInProcess(b), urlLine, func(r io.Reader, w io.Writer) error {
		return Run(context.Background(), cfg, r, w, io.Discard)
	})
}

func BenchmarkPlainPool(b *testing.B) {
	benchLoop(b, helloInProcess(b), urlLine, func(r io.Reader, w io.Writer) error { return plain.Run(r, w, 64, false) })
}

// BenchmarkRequests: records that say what to send (a method, two headers,
// one of them redacted in the echo, and a JSON body) against plain URL
// lines, through the same chain in the same run. The server is a process
// of its own, so cpu-us/record, the user and system time of this process
// per record, is sluice's alone. The issue asks that the first cost at
// most 10% more CPU per record than the second.
func BenchmarkRequests(b *testing.B) {
	cfg, err := config.Parse([]string{"-c", "64", "--no-progress"}, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	base := helloProcess(b)
	run := func(r io.Reader, w io.Writer) error { return Run(context.Background(), cfg, r, w, io.Discard) }
	b.Run("plain", func(b *testing.B) { benchLoop(b, base, urlLine, run) })
	b.Run("shaped", func(b *testing.B) {
		benchLoop(b, base, func(base string, i int) string {
			return fmt.Sprintf(`{"url":"%s/hello?i=%d","method":"POST","headers":{"X-Request-Id":"r-%d","Authorization":"Bearer t0ken"},"json":{"id":%d,"tags":["a","b"],"note":"hello"}}`, base, i, i, i)
		}, run)
	})
}

func urlLine(base string, i int) string { return fmt.Sprintf("%s/hello?i=%d", base, i) }

const benchRecords = 2000

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// hello answers 100 bytes to any request.
func hello(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, strings.Repeat("x", 100)) }

// helloInProcess starts the server in this process and returns its URL.
func helloInProcess(b *testing.B) string {
	srv := httptest.NewServer(http.HandlerFunc(hello))
	b.Cleanup(srv.Close)
	return srv.URL
}

// helloServerEnv makes the test binary the benchmarks' server (TestMain).
const helloServerEnv = "SLUICE_HELLO_SERVER"

// serveHello serves hello on a loopback port, printed first, until stdin
// closes.
func serveHello() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	go http.Serve(ln, http.HandlerFunc(hello))
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// helloProcess starts the server as a process of its own (this test
// binary, see TestMain) and returns its URL; it stops when b ends.
func helloProcess(b *testing.B) string {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helloServerEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("the server process: %v", err)
	}
	return strings.TrimSpace(addr)
}

func benchLoop(b *testing.B, base string, line func(base string, i int) string, fn func(io.Reader, io.Writer) error) {
	var sb strings.Builder
	for i := range benchRecords {
		sb.WriteString(line(base, i) + "\n")
	}
	input := sb.String()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu := cpuTime()
	for b.Loop() {
		var out lineCounter
		if err := fn(strings.NewReader(input), &out); err != nil {
			b.Fatal(err)
		}
		if out.n != benchRecords {
			b.Fatalf("%d lines out for %d URLs", out.n, benchRecords)
		}
	}
	cpu = cpuTime() - cpu
	runtime.ReadMemStats(&after)
	records := float64(b.N * benchRecords)
	b.ReportMetric(float64(cpu.Microseconds())/records, "cpu-us/record")
	b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/records, "allocs/record")
}

type lineCounter struct{ n int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += bytes.Count(p, []byte("\n"))
	return len(p), nil
}
