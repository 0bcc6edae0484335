package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"sluice/sinks"
	"sluice/stages/cache"
	"sluice/stages/crawl"
)

// report writes what --stats, --stats-json and -v ask for at the end.
func (r *run) report(stderr io.Writer) error {
	skipped := r.sink.Skipped()
	var cached *cache.Counts
	if r.cache != nil {
		c := r.fetcher.CacheCounts()
		cached = &c
	}
	if r.cfg.Stats {
		if err := r.stats.Write(stderr, 50); err != nil {
			return fmt.Errorf("write stats: %w", err)
		}
		if r.frontier != nil {
			fmt.Fprintf(stderr, "  %s\n", r.frontier.Stats())
		}
		if r.queue != nil && r.queue.Crawling() {
			admitted, not := r.queue.CrawlStats()
			fmt.Fprintf(stderr, "  %s (this worker's)\n", crawl.Stats{Admitted: admitted, NotAdmitted: not})
		}
		if cached != nil {
			size, n := r.cache.Size()
			fmt.Fprintf(stderr, "  cache fresh=%d revalidated=%d changed=%d unchanged=%d stale=%d miss=%d bytes_saved=%d kept=%d entries, %d bytes\n",
				cached.Fresh, cached.Revalidated, cached.Changed, cached.Unchanged, cached.Stale, cached.Miss, cached.BytesSaved, n, size)
		}
		if r.warc != nil {
			fmt.Fprintf(stderr, "  warc records=%d files=%d bytes=%d dir=%s\n", r.warc.Records(), r.warc.Files(), r.warc.Bytes(), r.cfg.WARC.Dir)
		}
	}
	if r.cfg.StatsJSON != "" {
		records := map[string]any{"read": r.src.Count(), "written": r.out.Count(), "skipped": skipped}
		var crawl *crawl.Stats
		if r.frontier != nil {
			c := r.frontier.Stats()
			crawl = &c
		}
		if err := writeFile(r.cfg.StatsJSON, func(w io.Writer) error { return r.stats.WriteJSON(w, records, cached, crawl) }); err != nil {
			return fmt.Errorf("--stats-json: %w", err)
		}
	}
	if !r.cfg.Verbose && !r.cfg.Stats {
		return nil
	}
	// The pipeline has ended: what still runs is the runtime's, main's
	// signal watcher, idle connections about to close, and a read blocked
	// on an idle stdin, if any.
	if r.queue != nil {
		again := ""
		if r.queue.Crawling() {
			again = fmt.Sprintf(", %d pages fetched again nearer their seeds (written once, before)", skipped["fetched again"])
		}
		fmt.Fprintf(stderr, "sluice: done: %d records taken from the queue, %d written%s, %d handed back (canceled), %d goroutines\n",
			r.src.Count(), r.out.Count(), again, r.sink.Requeued(), runtime.NumGoroutine())
		r.reportQueue(stderr)
	} else if r.frontier != nil {
		state := ""
		if r.cfg.Crawl.State != "" {
			state = fmt.Sprintf(", %d skipped as written before and %d canceled, left for the next run (--state)", skipped["resume"], r.sink.Requeued())
		}
		fmt.Fprintf(stderr, "sluice: done: %d seeds read, %d records written%s, %d robots.txt and sitemap files read, %d goroutines\n",
			r.src.Count(), r.out.Count(), state, skipped["sitemap"], runtime.NumGoroutine())
	} else {
		fmt.Fprintf(stderr, "sluice: done: %d records read, %d written, %d skipped as done before (--resume), %d as repeats (--unique), %d goroutines\n",
			r.src.Count(), r.out.Count(), skipped["resume"], skipped["duplicate"], runtime.NumGoroutine())
	}
	if ns, ok := r.out.(*sinks.NATS); ok {
		fmt.Fprintf(stderr, "sluice: published %d records, %d of them dropped by the stream as duplicates\n", ns.Count(), ns.Duplicates())
	}
	return nil
}

// reportQueue says what went wrong with the broker, and what the stream
// still holds that no consumer will deliver.
func (r *run) reportQueue(stderr io.Writer) {
	if n, last := r.queue.BrokerErrors(); n > 0 {
		fmt.Fprintf(stderr, "sluice: queue: %d calls to the broker failed and were tried again (the last: %v)\n", n, last)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if n := r.queue.Orphans(ctx); n > 0 {
		fmt.Fprintf(stderr, "sluice: queue: the stream holds %d messages that no consumer will deliver (acked, but kept by the broker)\n", n)
	}
}

// writeFile writes a file through fn, reporting a failure to close it.
func writeFile(name string, fn func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
