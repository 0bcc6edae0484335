package pipeline

import (
	"context"
	"fmt"
	"io"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reugn/go-streams"

	"sluice/flow"
	"sluice/record"
	"sluice/sinks"
	"sluice/sources"
	"sluice/stages/crawl"
	"sluice/stages/extract"
	"sluice/stages/order"
	"sluice/stages/schedule"
	"sluice/stages/skip"
)

// source makes the records' source: the queue (--in) or the input lines.
func (r *run) source(js jetstream.JetStream) error {
	if r.cfg.In != nil {
		// Pulled ahead of the schedule: enough for full batches of pulls
		// (one round trip to the broker each), not a window's worth.
		q, err := sources.NewQueue(r.life.Intake, js, *r.cfg.In, r.cfg.Limits.Window, 4*max(r.cfg.Fetch.Concurrency, r.cfg.In.Batch), r.cfg.Parser)
		if err != nil {
			return fmt.Errorf("--in: %w", err)
		}
		r.queue, r.src = q, q
		r.sink.Settle(q.Acks())
		r.closers = append(r.closers, func() error { q.Close(); return nil })
		if r.cfg.Crawl.Follow {
			if r.cfg.Crawl, err = queueCrawl(r.life.Intake, q, r.cfg.Crawl); err != nil {
				return fmt.Errorf("--follow with --in: %w", err)
			}
		}
		return nil
	}
	r.src = sources.NewLines(r.life.Intake, r.in.readers, sources.Options{Parser: r.cfg.Parser})
	return nil
}

// flow connects source -> [skip] -> [order gate] -> schedule -> fetch ->
// [extract] -> [reorder] -> sink and runs it until the sink has taken the
// last record.
func (r *run) flow(stderr io.Writer) {
	var entry streams.Flow = r.schedule // where records from the source go in
	var reorder *order.Order
	if r.cfg.Ordered {
		reorder = order.NewOrder(r.cfg.Limits.Window)
		if r.frontier != nil {
			reorder.Gone(r.frontier.WrittenBefore)
		}
		entry = reorder.Gate()
		entry.Via(r.schedule)
	}
	if r.frontier != nil {
		r.frontier.Via(entry)
		entry = r.frontier
	}
	if r.finished != nil || r.cfg.Unique {
		marks := skip.SkipFlow(skip.NewSkipper(r.finished, r.cfg.Unique))
		marks.Via(entry)
		entry = marks
	}
	r.src.Via(entry)
	var back schedule.Returner = r.schedule
	if r.frontier != nil {
		back = r.frontier.Returner(back)
	}
	var f streams.Flow = r.schedule.Via(schedule.FetchFlow(r.life.Work, r.life.Intake.Done(), r.fetcher,
		r.cfg.Fetch.Concurrency, back, r.cfg.Retry, r.observe, r.cfg.Limits.Robots, r.acks()))
	if r.renderer != nil {
		render := flow.Map(r.life.Work, r.cfg.Render.Workers, r.renderer.Render)
		render.End = r.schedule.ClosePermits // no page asks for more once the stage has ended
		f = f.Via(render)
	}
	if r.cfg.Extract.Extracting() {
		ex := extract.NewExtractor(r.cfg.Extract)
		extract := ex.Extract
		if offer := r.offerer(); offer != nil { // the page's links are offered to the frontier before the page goes on
			d := crawl.NewDiscoverer(r.cfg.Crawl, offer, r.cfg.Limits.Robots)
			extract = func(ctx context.Context, rec *record.Record) {
				if rec.Task != nil && rec.Task.Origin.Internal() { // a sitemap: read by discover, never written
					d.Discover(ctx, rec)
					rec.Body, rec.Header = nil, nil
					return
				}
				ex.Extract(ctx, rec)
				d.Discover(ctx, rec)
			}
		}
		f = f.Via(flow.Map(r.life.Work, r.cfg.Parsers, extract))
	}
	if reorder != nil {
		f = f.Via(reorder.Flow())
	}
	var progress *sinks.Progress
	if r.cfg.Progress {
		size := int64(-1)
		if r.in != nil {
			size = r.in.size()
		}
		progress = sinks.StartProgress(stderr, size, r.counts)
	}
	f.To(r.sink)
	if progress != nil {
		progress.Stop() // before anything else goes to stderr
	}
}

// acks are the acknowledgements of the records in flight: the queue's
// messages' with --in; nil otherwise.
func (r *run) acks() *flow.Acks {
	if r.queue == nil {
		return nil
	}
	return r.queue.Acks()
}

// offerer is where a crawl's pages offer their links: the frontier, or
// with --in the queue; nil when not crawling.
func (r *run) offerer() crawl.Offerer {
	switch {
	case r.frontier != nil:
		return r.frontier
	case r.queue != nil && r.queue.Crawling():
		return r.queue.Frontier()
	}
	return nil
}

// counts is what the progress line shows.
func (r *run) counts() sinks.Counts {
	sk := r.sink.Skipped()
	c := sinks.Counts{
		Done: r.out.Count() + sk["resume"] + sk["duplicate"], InFlight: r.fetcher.InFlight(),
		Waiting: r.schedule.Waiting(), AtHostLimit: r.schedule.AtHostLimit(), Errors: r.out.Errors(),
		Requests: r.fetcher.Attempts(), Read: r.src.Count(), BytesRead: r.src.BytesRead(),
	}
	if r.frontier != nil {
		c.Crawl = &sinks.CrawlCounts{Frontier: r.frontier.Pending(), Hosts: r.schedule.Hosts()}
		c.BytesRead = 0 // the input's size says nothing of a crawl's
	}
	return c
}

// close ends what build made, last made first; what fails to close is
// said under -v (a lost ack only redelivers a message).
func (r *run) close(stderr io.Writer) {
	for i := len(r.closers) - 1; i >= 0; i-- {
		if err := r.closers[i](); err != nil && r.cfg.Verbose {
			fmt.Fprintf(stderr, "sluice: %v\n", err)
		}
	}
}
