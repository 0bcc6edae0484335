package report

import (
	"bytes"
	"os"
	"testing"
)

// BenchmarkReport reads sluice records from a real run against the local
// site, as sluice writes them (plain) and with --trace (traced), on one
// goroutine: records/s is what one core does.
func BenchmarkReport(b *testing.B) {
	for _, name := range []string{"plain", "traced"} {
		b.Run(name, func(b *testing.B) {
			lines, err := os.ReadFile("testdata/" + name + ".ndjson")
			if err != nil {
				b.Fatal(err)
			}
			recs := bytes.SplitAfter(bytes.TrimSpace(lines), []byte("\n"))
			r := New()
			b.SetBytes(int64(len(lines) / len(recs)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				r.Add(recs[i%len(recs)])
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
