package pipeline

import (
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/metrics"
	"sluice/sinks"
	"sluice/sources"
)

// serveMetrics starts --metrics once every part of the run is made: the
// figures pushed by the stages (r.metrics, an observer since build began)
// and those read from the parts at each scrape.
func (r *run) serveMetrics(stderr io.Writer) error {
	m := r.metrics
	if m == nil {
		return nil
	}
	m.Counter("sluice_records_read_total", "Records read from the input, or taken from the queue.", r.src.Count)
	m.Counter("sluice_records_written_total", "Records written to stdout, or published with --out.", r.out.Count)
	m.Counter("sluice_records_failed_total", "Records written with an error.", r.out.Errors)
	m.Labelled("sluice_records_skipped_total", "Records neither fetched nor written: reason resume or duplicate (--unique).",
		prometheus.CounterValue, "reason", r.sink.Skipped)
	m.Gauge("sluice_records_held", "Records read and not yet written, skipped or handed back to the queue: in the window.", func() int64 {
		held := r.src.Count() - r.out.Count() - r.sink.Requeued() // handed back to the queue: not held
		for _, n := range r.sink.Skipped() {
			held -= n
		}
		return max(held, 0)
	})
	m.Gauge("sluice_records_waiting", "Records held that are not in flight: waiting for a rate limit, a slot, a pause or a retry.", r.schedule.Waiting)
	m.Gauge("sluice_requests_in_flight", "Requests under way.", r.fetcher.InFlight)
	m.Gauge("sluice_hosts", "Hosts whose state the schedule keeps: with records held or in flight, or limits still running.", r.schedule.Hosts)
	m.Counter("sluice_input_bytes_total", "Input bytes read.", r.src.BytesRead)
	if r.queue != nil {
		queueMetrics(m, r.queue)
	}
	if f := r.frontier; f != nil {
		m.Counter("sluice_crawl_admitted_total", "URLs admitted to the crawl's frontier, seeds included: each yields one record.", f.Admitted)
		m.Gauge("sluice_crawl_frontier", "Admitted URLs waiting in the frontier to be released to the schedule.", f.Pending)
		m.Labelled("sluice_crawl_not_admitted_total", "URLs found and not admitted, by reason: seen, scope, depth, excluded, max_pages, max_host_pages, redirects, stopped.",
			prometheus.CounterValue, "reason", f.NotAdmitted)
	}
	if ns, ok := r.out.(*sinks.NATS); ok {
		m.Counter("sluice_publish_duplicates_total", "Records published that the output stream dropped as duplicates.", ns.Duplicates)
		m.Counter("sluice_publish_failed_total", "Records refused by the broker, or not published before sluice stopped.", ns.Failed)
	}
	srv, err := m.Serve(r.cfg.Metrics)
	if err != nil {
		return fmt.Errorf("--metrics: %w", err)
	}
	r.closers = append(r.closers, srv.Close)
	if _, port, _ := net.SplitHostPort(r.cfg.Metrics); port == "0" {
		fmt.Fprintf(stderr, "sluice: metrics on http://%s/metrics\n", srv.Addr)
	}
	return nil
}

// queueMetrics adds what a queue worker (--in) counts.
func queueMetrics(m *metrics.Metrics, q *sources.Queue) {
	m.Counter("sluice_queue_acked_total", "Queue messages acked: their record was written.", func() int64 { return q.Counts().Acked })
	m.Counter("sluice_queue_handed_back_total", "Queue messages nak'ed, for another worker or a later try.", func() int64 { return q.Counts().HandedBack })
	m.Counter("sluice_queue_redelivered_total", "Queue messages pulled that had been delivered before.", func() int64 { return q.Counts().Redelivered })
	m.Labelled("sluice_queue_lease_changes_total", "Partition leases taken, released, or lost (lapsed while the broker was away).",
		prometheus.CounterValue, "change", func() map[string]int64 {
			c := q.Counts()
			return map[string]int64{"taken": c.Taken, "released": c.Released, "lost": c.Lost}
		})
	m.Labelled("sluice_queue_pending", "Messages after the last one pulled, per partition this worker holds.",
		prometheus.GaugeValue, "partition", func() map[string]int64 {
			out := map[string]int64{}
			for p, n := range q.Pending() {
				out[strconv.Itoa(p)] = int64(n)
			}
			return out
		})
	m.Counter("sluice_queue_broker_errors_total", "Calls to the broker that failed and were tried again.", func() int64 { n, _ := q.BrokerErrors(); return n })
}
