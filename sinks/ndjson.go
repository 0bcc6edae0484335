package sinks

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reugn/go-streams"

	"sluice/record"
)

// IdleFlush is how long a record may wait in the sink's buffer: the buffer is
// flushed this long after the first record written into it (or sooner, when
// it fills). A bulk run writes in large blocks, a slow stream shows each
// record within about this long, and the timer is set once per flush rather
// than once per record.
const IdleFlush = time.Millisecond

// NDJSONOptions configure NDJSON.
type NDJSONOptions struct {
	// OnError is called once, from the sink's goroutine, with the first write
	// error. The sink keeps draining its input afterwards, without writing, so
	// upstream can shut down by draining; OnError is the hook to stop intake.
	OnError func(error)
	// Log, when set, gets one human-readable line per record (-v).
	Log io.Writer
	// Prefix is written before anything else (--resume starts a new line
	// when the output it appends to ends in a partial one).
	Prefix []byte
}

// NDJSON is a streams.Sink that writes each *record.Record as one JSON line.
// One goroutine does all writing; it ends when the input channel is closed
// and everything is flushed, which AwaitCompletion waits for.
type NDJSON struct {
	in   chan any
	done chan struct{}
	w    *bufio.Writer
	enc  *record.Encoder
	opt  NDJSONOptions

	n         atomic.Int64
	errors    atomic.Int64
	requeued  atomic.Int64
	unsettled []*record.Record // written, from a queue, to be settled at the next flush

	mu      sync.Mutex
	err     error
	skipped map[string]int64
}

var _ streams.Sink = (*NDJSON)(nil)

// NewNDJSON starts the writer goroutine.
func NewNDJSON(w io.Writer, opt NDJSONOptions) *NDJSON {
	s := &NDJSON{
		in:   make(chan any),
		done: make(chan struct{}),
		w:    bufio.NewWriterSize(w, 64<<10),
		enc:  record.NewEncoder(),
		opt:  opt,

		skipped: map[string]int64{},
	}
	s.check(writeAll(s.w, opt.Prefix))
	go s.run()
	return s
}

// In returns the input channel; the upstream closes it.
func (s *NDJSON) In() chan<- any { return s.in }

// AwaitCompletion blocks until the input is closed and the output flushed.
func (s *NDJSON) AwaitCompletion() { <-s.done }

// Err returns the first write error, if any.
func (s *NDJSON) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Errors returns how many records written so far carry an error.
func (s *NDJSON) Errors() int64 { return s.errors.Load() }

// Skipped returns how many records were skipped, by reason.
func (s *NDJSON) Skipped() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.skipped)
}

func writeAll(w io.Writer, b []byte) error {
	_, err := w.Write(b)
	return err
}

// Requeued returns how many canceled records went back to their queue
// instead of being written (--in nats://).
func (s *NDJSON) Requeued() int64 { return s.requeued.Load() }

// Count returns how many records have been written successfully so far.
func (s *NDJSON) Count() int64 { return s.n.Load() }

func (s *NDJSON) run() {
	defer close(s.done)
	flush := time.NewTimer(IdleFlush)
	flush.Stop()
	defer flush.Stop()
	for {
		// A record that is ready is taken without a select: a select over
		// two channels costs several times one receive, and under load a
		// record is usually waiting. With an empty buffer there is nothing
		// to flush, so the wait needs no select either.
		var v any
		var ok bool
		select {
		case v, ok = <-s.in:
		default:
			if s.w.Buffered() == 0 {
				v, ok = <-s.in
				break
			}
			select {
			case v, ok = <-s.in:
			case <-flush.C:
				s.flush()
				continue
			}
		}
		if !ok {
			s.flush()
			return
		}
		empty := s.w.Buffered() == 0
		s.write(v.(*record.Record))
		if empty && s.w.Buffered() > 0 {
			flush.Reset(IdleFlush)
		}
	}
}

// flush writes out the buffer, then settles the queue messages whose
// records it held: acked once written, handed back if the write failed.
func (s *NDJSON) flush() {
	ok := s.check(s.w.Flush())
	for i, r := range s.unsettled {
		r.Settle(ok)
		s.unsettled[i] = nil
	}
	s.unsettled = s.unsettled[:0]
}

func (s *NDJSON) write(r *record.Record) {
	if r.Skip != "" { // --resume or --unique: counted, not written
		s.mu.Lock()
		s.skipped[r.Skip]++
		s.mu.Unlock()
		return
	}
	if r.Requeue() { // canceled: back to the queue, for another worker
		s.requeued.Add(1)
		r.Settle(false)
		return
	}
	if s.Err() != nil || !s.check(writeAll(s.w, s.enc.AppendLine(r))) {
		// drain: the output is gone, but upstream must still finish
		if r.Settle != nil {
			r.Settle(false)
		}
		return
	}
	if r.Settle != nil {
		s.unsettled = append(s.unsettled, r)
	}
	s.n.Add(1)
	if r.Err != nil {
		s.errors.Add(1)
	}
	if s.opt.Log != nil && logLine(s.opt.Log, r) != nil {
		s.opt.Log = nil // diagnostics only: a broken log is not an output error
	}
}

// check records the first write error and reports whether err was nil.
func (s *NDJSON) check(err error) bool {
	if err == nil {
		return true
	}
	s.mu.Lock()
	first := s.err == nil
	if first {
		s.err = err
	}
	s.mu.Unlock()
	if first && s.opt.OnError != nil {
		s.opt.OnError(err)
	}
	return false
}

// logLine writes the -v line for r. The URL is quoted so that control
// characters in the input cannot reach the terminal.
func logLine(w io.Writer, r *record.Record) error {
	outcome := fmt.Sprint(r.Status)
	if r.Err != nil {
		outcome = string(r.Err.Kind)
	}
	ms := float64(r.Elapsed.Microseconds()) / 1000
	_, err := fmt.Fprintf(w, "sluice: #%d %s %.1fms %q\n", r.Seq, outcome, ms, r.URL)
	return err
}
