package order

import (
	"maps"
	"slices"
	"sync"

	"github.com/reugn/go-streams"

	"sluice/flow"
	"sluice/record"
)

// Order restores input order (--ordered) with a reorder buffer of at most
// capacity records. It has two parts that share its state:
//
//   - Gate, placed right after the source, lets record seq s in only while
//     s < next + capacity, where next is the lowest seq not yet written;
//     otherwise it waits, and the source with it (backpressure);
//   - Flow, placed before the sink, holds records that came early and
//     releases them in seq order.
//
// Every record between the two entered through the gate, so the buffer never
// holds more than capacity records and never has to refuse one: the record
// it waits for can always reach it, and the pipeline cannot deadlock. Seqs
// must be 1, 2, 3, ... with none missing, which sources.Lines guarantees
// (records skipped by --resume or --unique still pass, marked), but for
// those Gone says never come: a crawl that goes on (--state) does not
// release again the tasks a run before wrote.
type Order struct {
	capacity int64
	gone     func(seq int64) bool // never comes, or comes only as a skipped record; nil: none

	mu   sync.Mutex
	cond *sync.Cond
	next int64 // the lowest seq not yet released
}

// NewOrder returns an Order holding at most capacity records.
func NewOrder(capacity int) *Order {
	o := &Order{capacity: int64(max(1, capacity)), next: 1}
	o.cond = sync.NewCond(&o.mu)
	return o
}

// Gone tells the order of seqs that a run before wrote (--state): they are
// passed over, and a record of one (a seed, skipped) goes out as it comes.
// It is called before the order runs.
func (o *Order) Gone(gone func(seq int64) bool) {
	o.gone = gone
	o.next = o.after(0)
}

// after is the first seq past s that is not gone.
func (o *Order) after(s int64) int64 {
	s++
	for o.gone != nil && o.gone(s) {
		s++
	}
	return s
}

// Gate is the entrance: a Flow that holds each record until it fits.
func (o *Order) Gate() streams.Flow {
	return flow.NewPool(1, func(r *record.Record) bool {
		if o.gone != nil && o.gone(r.Seq) {
			return true // skipped: takes no place in the buffer
		}
		o.mu.Lock()
		for r.Seq >= o.next+o.capacity {
			o.cond.Wait()
		}
		o.mu.Unlock()
		return true
	})
}

// Flow is the reorder buffer: records out in seq order. Its goroutine ends,
// closing its output, once its input is closed and everything is released.
func (o *Order) Flow() streams.Flow {
	b := &reorder{in: make(chan any)}
	b.Start = func(dst chan<- any) { go o.run(b.in, dst) }
	return b
}

func (o *Order) run(in <-chan any, out chan<- any) {
	defer close(out)
	pending := map[int64]*record.Record{}
	release := func(r *record.Record) {
		out <- r
		o.mu.Lock()
		o.next = o.after(r.Seq)
		o.cond.Broadcast()
		o.mu.Unlock()
	}
	for v := range in {
		r := v.(*record.Record)
		if r.Seq == 0 || o.gone != nil && o.gone(r.Seq) { // a crawl's internal task (a sitemap), or a seed written before: never written, in no order
			out <- r
			continue
		}
		pending[r.Seq] = r
		for {
			o.mu.Lock()
			next := o.next
			o.mu.Unlock()
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			release(r)
		}
	}
	// Input closed with records left: only if seqs had gaps, which Lines
	// never makes. Release them anyway, lowest first.
	for _, s := range slices.Sorted(maps.Keys(pending)) {
		release(pending[s])
	}
}

// reorder is the Flow of the reorder buffer.
type reorder struct {
	flow.Link
	in chan any
}

func (b *reorder) In() chan<- any { return b.in }
