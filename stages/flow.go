package stages

import (
	"context"

	"github.com/reugn/go-streams"
	"github.com/reugn/go-streams/flow"

	"sluice/record"
)

// Map is the one adapter between a stage's synchronous work and go-streams:
// a streams.Flow of *record.Record that runs fn on each record with workers
// goroutines and passes the record on. Order is not kept when workers > 1.
//
// The flow's goroutines end when its input is closed and every record has
// been taken downstream. fn must return promptly once the stage's context is
// done: shutting down drains the pipeline rather than abandoning records in
// it, which is how every record read gets its output line.
func Map(workers int, fn func(*record.Record)) streams.Flow {
	return flow.NewMap(func(r *record.Record) *record.Record {
		fn(r)
		return r
	}, workers)
}

// FetchFlow runs f.Fetch on workers goroutines. Once stop is closed, no new
// attempt starts: a record waiting for a retry keeps its last attempt's
// result, one never tried is marked canceled. ctx cancels the attempts in
// flight (main cancels it when the grace period ends).
func FetchFlow(ctx context.Context, stop <-chan struct{}, f *Fetcher, workers int) streams.Flow {
	return Map(workers, func(r *record.Record) {
		if stopped(stop) {
			if r.Again {
				r.Again = false
				return
			}
			r.Fail(record.KindCanceled, "not started: sluice was stopping")
			return
		}
		f.Fetch(ctx, r)
	})
}

// output is the outlet half of a Flow over one channel: Out, Via and To.
// The stage that embeds it writes to out and closes it when done.
type output struct{ out chan any }

func (o *output) Out() <-chan any { return o.out }

// Via streams the output into f and returns f.
func (o *output) Via(f streams.Flow) streams.Flow {
	flow.DoStream(o, f)
	return f
}

// To streams the output into sink and waits for it to finish.
func (o *output) To(sink streams.Sink) {
	flow.DoStream(o, sink)
	sink.AwaitCompletion()
}
