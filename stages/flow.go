package stages

import (
	"context"
	"sync"

	"github.com/reugn/go-streams"

	"sluice/record"
)

// Map is the one worker-pool stage: a streams.Flow of *record.Record that
// runs fn on each record with workers goroutines and passes the record on.
// Order is not kept when workers > 1.
//
// The flow's goroutines end when its input is closed and every record has
// been taken downstream. fn must return promptly once the stage's context is
// done: shutting down drains the pipeline rather than abandoning records in
// it, which is how every record read gets its output line.
func Map(workers int, fn func(*record.Record)) streams.Flow {
	return newPool(workers, func(r *record.Record) bool {
		fn(r)
		return true
	})
}

// FetchFlow runs f.Fetch on workers goroutines, then then, which says
// whether the record goes on downstream (see Retry: a record handed back
// for another attempt does not). Once stop is closed, no new attempt
// starts: a record waiting for a retry keeps its last attempt's result, one
// never tried is marked canceled. ctx cancels the attempts in flight (main
// cancels it when the grace period ends).
//
// The retry decision runs in the fetch worker rather than in a stage of its
// own: it is a few comparisons, and a stage of its own cost every record two
// more goroutine hand-offs.
func FetchFlow(ctx context.Context, stop <-chan struct{}, f *Fetcher, workers int, then func(*record.Record) bool) streams.Flow {
	return newPool(workers, func(r *record.Record) bool {
		switch {
		case !stopped(stop):
			f.Fetch(ctx, r)
		case r.Again:
			r.Again = false
		default:
			r.Fail(record.KindCanceled, "not started: sluice was stopping")
		}
		return then == nil || then(r)
	})
}

// pool is the Flow behind Map and FetchFlow: workers goroutines run fn and
// send the records it passes (fn returns true) downstream.
type pool struct {
	Outlet
	in chan any
}

func newPool(workers int, fn func(*record.Record) bool) *pool {
	p := &pool{in: make(chan any)}
	p.Start = func(dst chan<- any) {
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for v := range p.in {
					if r := v.(*record.Record); fn(r) {
						dst <- r
					}
				}
			})
		}
		go func() {
			wg.Wait()
			close(dst)
		}()
	}
	return p
}

func (p *pool) In() chan<- any { return p.in }

// Outlet is the output half of sluice's own sources and Flows: Out, Via
// and To. The owner sets Start; the stage starts when it is connected, and
// its goroutines then send straight into the next stage's In and close it
// when done. go-streams' own flows send to an Out channel that one more
// goroutine per link copies into the next In: a goroutine hand-off per
// record and link.
type Outlet struct {
	Start func(dst chan<- any) // starts the stage, sending to dst and closing it at the end

	once sync.Once
	out  chan any // when Out was called
}

func (o *Outlet) connect(dst chan<- any) {
	started := false
	o.once.Do(func() {
		started = true
		o.Start(dst)
	})
	if !started {
		panic("sluice: a stage's output is connected twice")
	}
}

// Out starts the stage with a channel of its own, for a consumer that is
// not a streams.Inlet; it may not be mixed with Via and To.
func (o *Outlet) Out() <-chan any {
	o.once.Do(func() {
		o.out = make(chan any)
		o.Start(o.out)
	})
	if o.out == nil {
		panic("sluice: Out called after Via or To")
	}
	return o.out
}

// Via starts the stage sending into f, and returns f.
func (o *Outlet) Via(f streams.Flow) streams.Flow {
	o.connect(f.In())
	return f
}

// To starts the stage sending into sink and waits for the sink to finish.
func (o *Outlet) To(sink streams.Sink) {
	o.connect(sink.In())
	sink.AwaitCompletion()
}

// Started reports whether the stage has been connected, and marks it so
// when it has not: for an owner that ends before anything connected it.
func (o *Outlet) Started() bool {
	started := true
	o.once.Do(func() { started = false })
	return started
}
