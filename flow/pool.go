// Package flow is sluice's one adapter to go-streams: it owns the
// goroutines and channels between stages, so that a stage's work is a plain
// synchronous function and a sink's a plain write.
//
// Every element that flows is a *record.Record, so go-streams' element.(T)
// cannot panic. The pass-through rule is kept here, once: a record that
// passes (record.Record.Passes: it failed before a response, or is marked to
// skip) goes by every Map stage untouched, and a Sink counts a skipped
// record instead of writing it.
package flow

import (
	"context"
	"sync"

	"github.com/reugn/go-streams"

	"sluice/record"
)

// Link is the output half of sluice's own sources and flows: Out, Via and
// To. The owner sets Start; the stage starts when it is connected, and its
// goroutines then send straight into the next stage's In and close it when
// done. (go-streams' own flows send to an Out channel that one more
// goroutine per link copies into the next In: a hand-off per record and
// link.)
type Link struct {
	Start func(dst chan<- any) // starts the stage, sending to dst and closing it at the end

	once sync.Once
	out  chan any // when Out was called
}

func (o *Link) connect(dst chan<- any) {
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
func (o *Link) Out() <-chan any {
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
func (o *Link) Via(f streams.Flow) streams.Flow {
	o.connect(f.In())
	return f
}

// To starts the stage sending into sink and waits for the sink to finish.
func (o *Link) To(sink streams.Sink) {
	o.connect(sink.In())
	sink.AwaitCompletion()
}

// Started reports whether the stage has been connected, and marks it so
// when it has not: for an owner that ends before anything connected it.
func (o *Link) Started() bool {
	started := true
	o.once.Do(func() { started = false })
	return started
}

// Pool is a streams.Flow that runs work on each record with a fixed number
// of goroutines and sends on downstream the records work keeps (it returns
// true); a record work does not keep is owned by whoever work gave it to.
// Order is not kept with more than one worker.
//
// The workers start when the pool's output is connected and end when its
// input is closed and drained; the last one closes the output. work must
// return promptly once its context is done: shutting down drains the
// pipeline rather than abandoning records in it, which is how every record
// read gets its output line.
type Pool struct {
	Link
	in  chan any
	End func() // when set, called once every worker has ended, before the output closes
}

// NewPool returns a pool of workers goroutines; it panics when workers is
// less than 1 (a pool that silently closed its output would be a hang).
func NewPool(workers int, work func(*record.Record) bool) *Pool {
	if workers < 1 {
		panic("sluice: a pool needs at least one worker")
	}
	p := &Pool{in: make(chan any)}
	p.Start = func(dst chan<- any) {
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for v := range p.in {
					if r := v.(*record.Record); work(r) {
						dst <- r
					}
				}
			})
		}
		go func() {
			wg.Wait()
			if p.End != nil {
				p.End()
			}
			close(dst)
		}()
	}
	return p
}

// In returns the pool's input; the upstream closes it.
func (p *Pool) In() chan<- any { return p.in }

var _ streams.Flow = (*Pool)(nil)

// Map is a per-record stage: fn runs on every record that does not pass
// (see record.Record.Passes), on workers goroutines; passing records go by
// untouched. fn may block only until ctx is done.
func Map(ctx context.Context, workers int, fn func(context.Context, *record.Record)) *Pool {
	return NewPool(workers, func(r *record.Record) bool {
		if !r.Passes() {
			fn(ctx, r)
		}
		return true
	})
}
