// Package metrics exports a run's counts in the Prometheus exposition
// format for --metrics (prometheus/client_golang), and serves them with
// /healthz. Two kinds of figure go in: what happens to requests, pushed as
// it happens through stages.Observer, and what the run's parts already
// count (records read and written, in flight, the queue's work), read from
// them at each scrape. Host is a label only with --metrics-hosts, and then
// for the busiest hosts alone: a label per host seen would grow without
// bound on a long run.
package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"sluice/record"
	"sluice/stages/schedule"
)

// Metrics is the run's registry: a stages.Observer, and the home of the
// figures read at each scrape.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec // by outcome
	retries   prometheus.Counter
	waits     *prometheus.CounterVec // by reason
	pauses    *prometheus.CounterVec // by reason
	bodyBytes prometheus.Counter
	duration  prometheus.Histogram
	ttfb      prometheus.Histogram // nil without --trace
	hosts     *busiest             // nil without --metrics-hosts
}

var _ schedule.Observer = (*Metrics)(nil)

// durationBuckets are the request-duration histograms' upper bounds, in
// seconds: from a loopback answer to a slow server's.
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// New makes the registry, with the Go runtime's and the process's own
// figures. hosts > 0 adds sluice_host_requests_total for the busiest hosts
// that many; ttfb adds the time-to-first-byte histogram (--trace).
func New(hosts int, ttfb bool) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.requests = m.counterVec("sluice_requests_total", "Attempts ended, by outcome: the status class (2xx...) or, without a status, the error kind.", "outcome")
	m.retries = m.counter("sluice_retries_total", "Attempts that are to be made again.")
	m.waits = m.counterVec("sluice_waits_total", "Times a ready record waited for its host: reason rate (its rate limit or pause) or slot (--host-concurrency).", "reason")
	m.pauses = m.counterVec("sluice_pauses_total", "Times a host was paused by a response: reason retry_after (429/503 with Retry-After) or quota (rate-limit fields).", "reason")
	m.bodyBytes = m.counter("sluice_body_bytes_total", "Response body bytes read, after content decoding, at most --max-body each.")
	m.duration = m.histogram("sluice_request_duration_seconds", "Time of each attempt, from its start to the body read.")
	if ttfb {
		m.ttfb = m.histogram("sluice_ttfb_seconds", "Time from each attempt's start to the first response byte (--trace).")
	}
	if hosts > 0 {
		m.hosts = newBusiest(hosts, m.counterVec("sluice_host_requests_total",
			"Attempts ended by host and outcome, for the --metrics-hosts busiest hosts; the rest under host=\"other\".", "host", "outcome"))
	}
	return m
}

func (m *Metrics) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	m.reg.MustRegister(c)
	return c
}

func (m *Metrics) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.reg.MustRegister(c)
	return c
}

func (m *Metrics) histogram(name, help string) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: durationBuckets})
	m.reg.MustRegister(h)
	return h
}

// Attempt counts an ended attempt by its outcome, its time and its body.
func (m *Metrics) Attempt(r *record.Record, took time.Duration) {
	o := Outcome(r)
	m.requests.WithLabelValues(o).Inc()
	m.duration.Observe(took.Seconds())
	m.bodyBytes.Add(float64(r.ContentLength))
	if m.ttfb != nil && r.Timings != nil && r.Timings.TTFB > 0 {
		m.ttfb.Observe(r.Timings.TTFB.Seconds())
	}
	if m.hosts != nil {
		m.hosts.count(r.Host, o)
	}
}

func (m *Metrics) Retry(string)                       { m.retries.Inc() }
func (m *Metrics) Wait(_ string, why schedule.Wait)   { m.waits.WithLabelValues(string(why)).Inc() }
func (m *Metrics) Pause(_ string, why schedule.Pause) { m.pauses.WithLabelValues(string(why)).Inc() }
func (m *Metrics) Rate(string, float64)               {}

// Outcome is an attempt's outcome label: its status class, "2xx" to
// "5xx", or the kind of its error when it got no status.
func Outcome(r *record.Record) string {
	switch {
	case r.Status >= 100 && r.Status < 600:
		return strconv.Itoa(r.Status/100) + "xx"
	case r.Err != nil:
		return string(r.Err.Kind)
	}
	return "other"
}

// Counter adds a counter read from fn at each scrape.
func (m *Metrics) Counter(name, help string, fn func() int64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(fn()) }))
}

// Gauge adds a gauge read from fn at each scrape.
func (m *Metrics) Gauge(name, help string, fn func() int64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(fn()) }))
}

// Labelled adds a counter or gauge with one label, read from fn at each
// scrape: a series for each key fn returns.
func (m *Metrics) Labelled(name, help string, typ prometheus.ValueType, label string, fn func() map[string]int64) {
	m.reg.MustRegister(&labelled{desc: prometheus.NewDesc(name, help, []string{label}, nil), typ: typ, fn: fn})
}

type labelled struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
	fn   func() map[string]int64
}

func (l *labelled) Describe(ch chan<- *prometheus.Desc) { ch <- l.desc }

func (l *labelled) Collect(ch chan<- prometheus.Metric) {
	for k, v := range l.fn() {
		ch <- prometheus.MustNewConstMetric(l.desc, l.typ, float64(v), k)
	}
}

// Server serves /metrics and /healthz.
type Server struct {
	srv  *http.Server
	done chan struct{}
	Addr string // the address listened on, with the port chosen for :0
}

// Serve listens on addr now, so that a taken port fails the run before
// it starts, and serves until Close.
func (m *Metrics) Serve(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{}), Addr: ln.Addr().String()}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln) // ends with ErrServerClosed at Close
	}()
	return s, nil
}

// Close stops serving, letting a scrape under way finish for up to a
// second.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	<-s.done
	return err
}
