package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func rec(seq int, host string, status int, kind string, ms float64, attempts int) string {
	s := fmt.Sprintf(`{"seq":%d,"url":"http://%s/p?i=%d"`, seq, host, seq)
	if status > 0 {
		s += fmt.Sprintf(`,"status":%d,"content_length":100`, status)
	}
	s += fmt.Sprintf(`,"elapsed_ms":%g,"attempts":%d`, ms, attempts)
	if kind != "" {
		s += fmt.Sprintf(`,"error":{"kind":%q,"message":"x"}`, kind)
	}
	return s + "}\n"
}

// Records are told by outcome; what is not a sluice record is counted
// and left out, blank lines are not lines.
func TestReportOutcomes(t *testing.T) {
	in := rec(1, "a.test", 200, "", 10, 1) +
		rec(2, "a.test", 200, "", 20, 1) +
		rec(3, "b.test:8080", 404, "", 5, 1) +
		rec(4, "b.test:8080", 503, "http", 7, 3) + // --fail-status: the status tells
		rec(5, "c.test", 0, "timeout", 1000, 3) +
		`{"seq":6,"url":"not a url","elapsed_ms":0,"error":{"kind":"invalid_input","message":"x"}}` + "\n" +
		"\n" +
		"not json\n" +
		`{"url":"http://a.test/"}` + "\n" + // no seq
		`[1,2]` + "\n" +
		`{"seq":7,"url":"http://a.test/","status":200` + "\n" // cut short
	r := New()
	if err := r.Read(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	s := r.Summary(10)
	if s.Lines != 10 || s.Records != 6 || s.Other != 4 {
		t.Errorf("lines %d, records %d, other %d; want 10, 6, 4", s.Lines, s.Records, s.Other)
	}
	var outs []string
	for _, o := range s.Outcomes {
		outs = append(outs, fmt.Sprintf("%s=%d", o.Outcome, o.Records))
	}
	if got := strings.Join(outs, " "); got != "200=2 404=1 503=1 invalid_input=1 timeout=1" {
		t.Errorf("outcomes %s", got)
	}
	if s.Latency == nil || s.Latency.Count != 5 || s.Latency.Min != 5 || s.Latency.Max != 1000 {
		t.Errorf("latency %+v; want the 5 records that made a request, 5 to 1000 ms", s.Latency)
	}
	if s.Retried != 2 || s.Extra != 4 || s.Bytes != 400 {
		t.Errorf("retried %d, extra %d, bytes %d; want 2, 4, 400", s.Retried, s.Extra, s.Bytes)
	}
	if len(s.Slowest) != 3 || s.Slowest[0].Host != "c.test" || s.Slowest[2].Host != "b.test:8080" || s.Slowest[2].MeanMs != 6 {
		t.Errorf("slowest %+v", s.Slowest)
	}
	if len(s.Failing) != 2 || s.Failing[0].Host != "b.test:8080" || s.Failing[0].Failed != 2 || s.Failing[1].Host != "c.test" {
		t.Errorf("failing %+v; want b.test (2 of 2), then c.test, and no a.test", s.Failing)
	}
	if s.Throughput != nil {
		t.Errorf("throughput %+v without timings", s.Throughput)
	}
}

// The quantiles are within 1% of the exact ones, over a spread of
// latencies from a fraction of a millisecond to seconds.
func TestReportQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := New()
	var all []float64
	var in bytes.Buffer
	for i := range 100_000 {
		ms := math.Round(math.Exp(rng.NormFloat64()*1.5+3)*1000) / 1000
		all = append(all, ms)
		in.WriteString(rec(i+1, "a.test", 200, "", ms, 1))
	}
	if err := r.Read(&in); err != nil {
		t.Fatal(err)
	}
	slices.Sort(all)
	s := r.Summary(1)
	for _, c := range []struct {
		q   float64
		got float64
	}{{.5, s.Latency.P50}, {.9, s.Latency.P90}, {.99, s.Latency.P99}} {
		want := all[int(c.q*float64(len(all)-1))]
		if math.Abs(c.got-want) > Accuracy*want+0.001 {
			t.Errorf("p%g = %v; the exact value is %v (more than 1%% off)", 100*c.q, c.got, want)
		}
	}
	if s.Latency.Max != all[len(all)-1] || s.Latency.Min != all[0] {
		t.Errorf("min %v max %v; want the exact %v %v", s.Latency.Min, s.Latency.Max, all[0], all[len(all)-1])
	}
}

// With timings, each phase is summed up, and throughput is the records
// over the time from the first start to the last end.
func TestReportTimings(t *testing.T) {
	var in strings.Builder
	for i := range 11 {
		fmt.Fprintf(&in, `{"seq":%d,"url":"http://a.test/","status":200,"elapsed_ms":100,"attempts":1,`+
			`"timings":{"start":"2026-12-01T10:00:%02d.000000Z","dns_ms":1,"connect_ms":2,"tls_ms":3,"ttfb_ms":50,"wait_ms":40,"transfer_ms":50,"total_ms":100,"reused":false}}`+"\n", i+1, i)
	}
	r := New()
	r.Read(strings.NewReader(in.String()))
	s := r.Summary(10)
	if s.Throughput == nil || s.Throughput.Seconds != 10.1 || math.Abs(s.Throughput.PerSecond-11/10.1) > 0.001 {
		t.Errorf("throughput %+v; want 11 records over 10.1 s", s.Throughput)
	}
	if q := s.Timings["ttfb_ms"]; q.Count != 11 || q.P50 < 49.5 || q.P50 > 50.5 {
		t.Errorf("ttfb %+v", q)
	}
	if len(s.Timings) != len(phases) {
		t.Errorf("%d phases; want %d", len(s.Timings), len(phases))
	}
}

// A line longer than the reader's buffer is read whole.
func TestReportLongLine(t *testing.T) {
	long := `{"seq":1,"url":"http://a.test/","status":200,"elapsed_ms":1,"attempts":1,"body":"` + strings.Repeat("x", 3<<20) + `"}` + "\n"
	r := New()
	if err := r.Read(strings.NewReader(long + rec(2, "a.test", 200, "", 1, 1))); err != nil {
		t.Fatal(err)
	}
	if s := r.Summary(1); s.Records != 2 || s.Other != 0 {
		t.Errorf("records %d, other %d; want 2, 0", s.Records, s.Other)
	}
}

// With more hosts than it keeps, the table drops the least busy and says
// so; the busiest stay.
func TestHostTableBounded(t *testing.T) {
	tb := newHostTable(100)
	for range 50 {
		tb.add([]byte("busy.test"), 1, false)
	}
	for i := range 10_000 {
		tb.add(fmt.Appendf(nil, "h%d.test", i), 1, false)
	}
	if len(tb.m) > 100 || !tb.approximate || tb.m["busy.test"] == nil || tb.m["busy.test"].records != 50 {
		t.Errorf("%d hosts kept, approximate %v, busy.test %+v", len(tb.m), tb.approximate, tb.m["busy.test"])
	}
}

// The three formats say the same: JSON that decodes to the summary, text
// and Markdown tables with the outcomes.
func TestReportFormats(t *testing.T) {
	r := New()
	r.Read(strings.NewReader(rec(1, "a.test", 200, "", 10, 1) + rec(2, "b.test", 0, "dns", 3, 3)))
	s := r.Summary(10)
	var j bytes.Buffer
	if err := s.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(j.Bytes(), &back); err != nil {
		t.Fatalf("JSON: %v\n%s", err, j.String())
	}
	if back["records"] != 2.0 || back["latency_ms"].(map[string]any)["max"] != 10.0 || back["quantile_accuracy"] != Accuracy {
		t.Errorf("JSON: %s", j.String())
	}
	var text, md bytes.Buffer
	s.WriteText(&text, false)
	s.WriteText(&md, true)
	for _, want := range []string{"2 records", "  200", "  dns", "elapsed"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text has no %q:\n%s", want, text.String())
		}
	}
	for _, want := range []string{"# sluice report", "| outcome | records | share |\n|---|---|---|\n| 200 | 1 | 50.0% |", "| dns | 1 | 50.0% |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown has no %q:\n%s", want, md.String())
		}
	}
}

// --plot draws a PNG that decodes, or an SVG, from a real run's records.
func TestPlot(t *testing.T) {
	r := New()
	f, err := os.Open("testdata/traced.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r.Read(f)
	s := r.Summary(10)
	dir := t.TempDir()
	pngName, svgName := filepath.Join(dir, "r.png"), filepath.Join(dir, "r.svg")
	if err := r.Plot(pngName, s); err != nil {
		t.Fatal(err)
	}
	if err := r.Plot(svgName, s); err != nil {
		t.Fatal(err)
	}
	pf, _ := os.Open(pngName)
	defer pf.Close()
	img, err := png.Decode(pf)
	if err != nil {
		t.Fatalf("the PNG does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 400 {
		t.Errorf("PNG of %v", b)
	}
	svg, _ := os.ReadFile(svgName)
	if !bytes.Contains(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("Latency")) {
		t.Errorf("SVG: %.200s", svg)
	}
	if err := New().Plot(pngName, New().Summary(1)); err == nil {
		t.Error("a plot of nothing: no error")
	}
}
