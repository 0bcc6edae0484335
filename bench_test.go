package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sluice/bench/plain"
)

// The stage chain against the plain Go pool, in the same run: b.N URLs to a
// local server answering 100 bytes, at concurrency 64. One op is one record,
// so allocs/op is allocations per record. Run with
//
//	go test -run '^$' -bench 'Pipeline|PlainPool' -benchmem -count 5 .
//
// and compare the two lines' ns/op (the server shares the machine, so
// compare ratios within one run).
func BenchmarkPipeline(b *testing.B) {
	srv, in := benchServer(b)
	cfg, err := parseFlags([]string{"-c", "64", "--host-concurrency", "64", "--no-progress"}, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	benchLoop(b, srv, in, func(r io.Reader, w io.Writer) error {
		return run(context.Background(), cfg, r, w, io.Discard)
	})
}

func BenchmarkPlainPool(b *testing.B) {
	srv, in := benchServer(b)
	benchLoop(b, srv, in, func(r io.Reader, w io.Writer) error { return plain.Run(r, w, 64, false) })
}

func benchServer(b *testing.B) (*httptest.Server, func(n int) string) {
	body := strings.Repeat("x", 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, body)
	}))
	b.Cleanup(srv.Close)
	return srv, func(n int) string {
		var sb strings.Builder
		for i := range n {
			fmt.Fprintf(&sb, "%s/hello?i=%d\n", srv.URL, i)
		}
		return sb.String()
	}
}

// benchLoop runs fn once over b.N URLs, checks a line came out per URL and
// reports records/s.
func benchLoop(b *testing.B, srv *httptest.Server, in func(int) string, fn func(io.Reader, io.Writer) error) {
	input := in(b.N)
	var out lineCounter
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if err := fn(strings.NewReader(input), &out); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	b.StopTimer()
	if out.n != b.N {
		b.Fatalf("%d lines out for %d URLs", out.n, b.N)
	}
	srv.CloseClientConnections()
}

type lineCounter struct{ n int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += bytes.Count(p, []byte("\n"))
	return len(p), nil
}
