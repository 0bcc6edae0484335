package flow

import (
	"fmt"
	"io"
	"maps"
	"sync"
	"time"

	"github.com/reugn/go-streams"

	"sluice/record"
)

// Writer is what a Sink drives: the writing of one kind of output. Its
// methods are called from one goroutine, the one that waits on the sink.
type Writer interface {
	// Write writes r. It is given every record that is neither skipped
	// nor to be handed back to its queue.
	Write(r *record.Record)
	// Flush writes out what Write buffered. The sink calls it IdleFlush
	// after the first Write since the last Flush when no record has
	// followed, and once with end set when the input has ended: then it
	// also returns only when every record written is stored or given up.
	Flush(end bool)
	// Track makes the writer tell durable, once for every record it is
	// given from then on, what became of it: ok when the record is durably
	// written (flushed, or acknowledged by the broker), not ok when it never
	// will be. durable may be called from any goroutine. The sink calls
	// Track once, before the first Write, when it has acknowledgements to
	// settle or a Durable hook; an untracked writer keeps no record.
	Track(durable func(r *record.Record, ok bool))
}

// IdleFlush is how long a record may wait in a writer's buffer: the buffer
// is flushed this long after the first record written into it (or sooner,
// when it fills). A bulk run writes in large blocks, a slow stream shows
// each record within about this long, and the timer is set once per flush
// rather than once per record.
const IdleFlush = time.Millisecond

// Sink is the streams.Sink of every output: it keeps the sink side of the
// pass-through rule for its Writer, and it alone acknowledges. A skipped
// record (--resume, --unique) is counted by reason and never reaches the
// writer; a record canceled before it finished that came from a queue is
// handed back to the queue, for another worker, and never reaches the
// writer. A record the writer made durable has its acknowledgement (Acks)
// settled as done, and is told to the Durable hook; one the writer lost is
// handed back.
//
// The sink runs in the goroutine that calls AwaitCompletion (To does), so
// it starts no goroutine of its own.
type Sink struct {
	w  Writer
	in chan any

	log     io.Writer // -v: a line per record written; nil for none
	taken   func(*record.Record)
	acks    *Acks                // settled as records become durable; nil for none
	written func(*record.Record) // told of every record durably written; nil for none

	mu       sync.Mutex
	skipped  map[string]int64
	requeued int64
}

var _ streams.Sink = (*Sink)(nil)

// NewSink returns a sink that writes with w.
func NewSink(w Writer) *Sink {
	return &Sink{w: w, in: make(chan any), skipped: map[string]int64{}}
}

// LogTo makes the sink write one line for people per record written to
// w (-v), whatever the output: stdout or a NATS stream. A failed log
// write stops the log; it is diagnostics, not output.
func (s *Sink) LogTo(w io.Writer) { s.log = w }

// Settle makes the sink settle acks: a record's acknowledgement as done once
// the writer has made it durable, as not done when the writer lost it or
// it is handed back.
func (s *Sink) Settle(acks *Acks) { s.acks = acks }

// Durable makes the sink call fn with every record the writer has made
// durable, from whichever goroutine the writer tells it in. fn must not
// block.
func (s *Sink) Durable(fn func(*record.Record)) { s.written = fn }

// durable is what the writer tells of r: ok when durably written.
func (s *Sink) durable(r *record.Record, ok bool) {
	s.acks.Settle(r, ok)
	if ok && s.written != nil {
		s.written(r)
	}
}

// Taken makes the sink call fn with every record once it has taken it:
// written (and so handed to the writer, durable or not), counted as
// skipped, or handed back to its queue. fn must not block.
func (s *Sink) Taken(fn func(*record.Record)) { s.taken = fn }

// In returns the input channel; the upstream closes it.
func (s *Sink) In() chan<- any { return s.in }

// Skipped returns how many records were skipped, by reason.
func (s *Sink) Skipped() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.skipped)
}

// Requeued returns how many canceled records went back to their queue
// instead of being written (--in nats://).
func (s *Sink) Requeued() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requeued
}

// AwaitCompletion runs the sink until its input is closed and the writer
// has flushed for the end.
func (s *Sink) AwaitCompletion() {
	if s.acks != nil || s.written != nil {
		s.w.Track(s.durable)
	}
	flush := time.NewTimer(IdleFlush)
	flush.Stop()
	defer flush.Stop()
	armed := false // a Write since the last Flush: the timer runs
	for {
		// A record that is ready is taken without a select: a select over
		// two channels costs several times one receive, and under load a
		// record is usually waiting. With nothing written since the last
		// flush there is nothing to flush, so the wait needs no select
		// either.
		var v any
		var ok bool
		select {
		case v, ok = <-s.in:
		default:
			if !armed {
				v, ok = <-s.in
				break
			}
			select {
			case v, ok = <-s.in:
			case <-flush.C:
				armed = false
				s.w.Flush(false)
				continue
			}
		}
		if !ok {
			s.w.Flush(true)
			return
		}
		r := v.(*record.Record)
		if s.take(r) && !armed {
			armed = true
			flush.Reset(IdleFlush)
		}
		if s.taken != nil {
			s.taken(r)
		}
	}
}

// take hands r to the writer, or counts it; it reports whether it wrote.
func (s *Sink) take(r *record.Record) bool {
	switch {
	case r.Skip != "":
		s.mu.Lock()
		s.skipped[r.Skip]++
		s.mu.Unlock()
	case r.Task != nil && !r.Task.Origin.Written(): // a crawl's own (a sitemap, a robots.txt read for sitemaps), a page fetched again
		if a, ok := s.w.(interface{ Aside(*record.Record) }); ok {
			a.Aside(r) // archived (Chain), not written; settled once archived
		} else {
			s.acks.Settle(r, true)
		}
		reason := "sitemap"
		if r.Task.Origin == record.OriginAgain {
			reason = "fetched again"
		}
		s.mu.Lock()
		s.skipped[reason]++
		s.mu.Unlock()
	case r.Err != nil && r.Err.Kind == record.KindCanceled && s.acks.Has(r):
		// Canceled before it finished: another worker is to do it (its
		// output would otherwise claim the message's Nats-Msg-Id).
		s.mu.Lock()
		s.requeued++
		s.mu.Unlock()
		s.acks.Settle(r, false)
	default:
		s.w.Write(r)
		if s.log != nil && logLine(s.log, r) != nil {
			s.log = nil
		}
		return true
	}
	return false
}

// logLine is -v's line: sequence, status or error kind, time, URL quoted.
func logLine(w io.Writer, r *record.Record) error {
	outcome := fmt.Sprint(r.Status)
	if r.Err != nil {
		outcome = string(r.Err.Kind)
	}
	ms := float64(r.Elapsed.Microseconds()) / 1000
	_, err := fmt.Fprintf(w, "sluice: #%d %s %.1fms %q\n", r.Seq, outcome, ms, r.URL)
	return err
}
