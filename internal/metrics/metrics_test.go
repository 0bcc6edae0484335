package metrics

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"sluice/record"
	"sluice/stages/schedule"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func attempt(host string, status int, kind record.Kind, body int64, ttfb time.Duration) *record.Record {
	r := &record.Record{Host: host, Response: record.Response{Status: status, ContentLength: body}}
	if kind != "" {
		r.Err = &record.Error{Kind: kind}
	}
	if ttfb > 0 {
		r.Timings = &record.Timings{TTFB: ttfb}
	}
	return r
}

// What the observer is told and what the parts count comes out of
// /metrics as the exposition-format parser reads it; /healthz answers.
func TestExposition(t *testing.T) {
	m := New(1, true)
	m.Attempt(attempt("a.test", 200, "", 100, 20*time.Millisecond), 30*time.Millisecond)
	m.Attempt(attempt("a.test", 503, "", 10, 0), 2*time.Second)
	m.Attempt(attempt("b.test", 404, record.KindHTTP, 0, 0), time.Millisecond)
	m.Attempt(attempt("c.test", 0, record.KindTimeout, 0, 0), 10*time.Second)
	m.Retry("a.test")
	m.Wait("a.test", schedule.WaitSlot)
	m.Wait("a.test", schedule.WaitRate)
	m.Wait("b.test", schedule.WaitRate)
	m.Pause("a.test", schedule.PauseRetryAfter)
	m.Counter("sluice_records_read_total", "read", func() int64 { return 7 })
	m.Gauge("sluice_requests_in_flight", "in flight", func() int64 { return 3 })
	m.Labelled("sluice_records_skipped_total", "skipped", prometheus.CounterValue, "reason",
		func() map[string]int64 { return map[string]int64{"resume": 2, "duplicate": 1} })
	srv, err := m.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	resp, err := http.Get("http://" + srv.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	got := map[string]float64{}
	for name, f := range families {
		for _, s := range f.GetMetric() {
			got[name+labels(s)] = value(f.GetType(), s)
		}
	}
	for series, v := range map[string]float64{
		`sluice_requests_total{outcome="2xx"}`:                       1,
		`sluice_requests_total{outcome="5xx"}`:                       1,
		`sluice_requests_total{outcome="4xx"}`:                       1, // a --fail-status error has its status
		`sluice_requests_total{outcome="timeout"}`:                   1,
		`sluice_retries_total`:                                       1,
		`sluice_waits_total{reason="rate"}`:                          2,
		`sluice_waits_total{reason="slot"}`:                          1,
		`sluice_pauses_total{reason="retry_after"}`:                  1,
		`sluice_body_bytes_total`:                                    110,
		`sluice_request_duration_seconds`:                            4, // the count
		`sluice_ttfb_seconds`:                                        1,
		`sluice_host_requests_total{host="a.test",outcome="2xx"}`:    1,
		`sluice_host_requests_total{host="a.test",outcome="5xx"}`:    1,
		`sluice_host_requests_total{host="other",outcome="4xx"}`:     1,
		`sluice_host_requests_total{host="other",outcome="timeout"}`: 1,
		`sluice_records_read_total`:                                  7,
		`sluice_requests_in_flight`:                                  3,
		`sluice_records_skipped_total{reason="resume"}`:              2,
		`sluice_records_skipped_total{reason="duplicate"}`:           1,
	} {
		if got[series] != v {
			t.Errorf("%s = %v; want %v", series, got[series], v)
		}
	}
	if _, ok := families["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
	if h := families["sluice_request_duration_seconds"].GetMetric()[0].GetHistogram(); math.Abs(h.GetSampleSum()-12.031) > 1e-9 {
		t.Errorf("duration sum %v; want 12.031 s", h.GetSampleSum())
	}

	resp, err = http.Get("http://" + srv.Addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("/healthz: %d %q", resp.StatusCode, body)
	}
}

func labels(s *dto.Metric) string {
	if len(s.GetLabel()) == 0 {
		return ""
	}
	var parts []string
	for _, l := range s.GetLabel() {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func value(typ dto.MetricType, s *dto.Metric) float64 {
	switch typ {
	case dto.MetricType_COUNTER:
		return s.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return s.GetGauge().GetValue()
	case dto.MetricType_HISTOGRAM:
		return float64(s.GetHistogram().GetSampleCount())
	}
	return s.GetUntyped().GetValue()
}

// hostCounts reads the host-labelled counts, summed over outcomes.
func hostCounts(t *testing.T, vec *prometheus.CounterVec) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	ch := make(chan prometheus.Metric, 100)
	vec.Collect(ch)
	close(ch)
	for c := range ch {
		var m dto.Metric
		if err := c.Write(&m); err != nil {
			t.Fatal(err)
		}
		for _, l := range m.GetLabel() {
			if l.GetName() == "host" {
				out[l.GetValue()] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// --metrics-hosts 2: the first hosts get a label while there is room; a
// host that comes to more than twice the least busy one's attempts takes
// its label, and the demoted host's counts move to "other", so the sum is
// every attempt. Many hosts seen once each keep the table bounded.
func TestBusiest(t *testing.T) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x"}, []string{"host", "outcome"})
	b := newBusiest(2, vec)
	for range 10 {
		b.count("a", "2xx")
	}
	for range 5 {
		b.count("b", "2xx")
	}
	b.count("b", "timeout")
	for range 12 { // b has 6: c needs 13 to pass twice that
		b.count("c", "2xx")
	}
	if got := fmt.Sprint(hostCounts(t, vec)); got != "map[a:10 b:6 other:12]" {
		t.Errorf("before c passes twice b: %s", got)
	}
	b.count("c", "2xx")
	if got := fmt.Sprint(hostCounts(t, vec)); got != "map[a:10 c:1 other:18]" {
		t.Errorf("after: %s; want b's 6 and c's first 12 under other", got)
	}
	for i := range 100_000 {
		b.count(fmt.Sprintf("h%d", i), "2xx")
	}
	if len(b.counts) > b.limit {
		t.Errorf("%d candidates kept; the limit is %d", len(b.counts), b.limit)
	}
	total := 0.0
	for _, v := range hostCounts(t, vec) {
		total += v
	}
	if total != 10+6+13+100_000 {
		t.Errorf("sum over hosts %v; want every attempt", total)
	}
}
