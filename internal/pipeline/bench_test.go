package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

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
	benchLoop(b, func(r io.Reader, w io.Writer) error {
		return Run(context.Background(), cfg, r, w, io.Discard)
	})
}

func BenchmarkPlainPool(b *testing.B) {
	benchLoop(b, func(r io.Reader, w io.Writer) error { return plain.Run(r, w, 64, false) })
}

const benchRecords = 2000

func benchLoop(b *testing.B, fn func(io.Reader, io.Writer) error) {
	body := strings.Repeat("x", 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, body)
	}))
	defer srv.Close()
	var sb strings.Builder
	for i := range benchRecords {
		fmt.Fprintf(&sb, "%s/hello?i=%d\n", srv.URL, i)
	}
	input := sb.String()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		var out lineCounter
		if err := fn(strings.NewReader(input), &out); err != nil {
			b.Fatal(err)
		}
		if out.n != benchRecords {
			b.Fatalf("%d lines out for %d URLs", out.n, benchRecords)
		}
	}
	runtime.ReadMemStats(&after)
	records := float64(b.N * benchRecords)
	b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/records, "allocs/record")
	srv.CloseClientConnections()
}

type lineCounter struct{ n int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += bytes.Count(p, []byte("\n"))
	return len(p), nil
}
