package sinks

import (
	"bufio"
	"io"
	"sync"
	"sync/atomic"

	"sluice/flow"
	"sluice/record"
)

// NDJSONOptions configure NDJSON.
type NDJSONOptions struct {
	// OnError is called once, from the sink's goroutine, with the first write
	// error. The sink keeps draining its input afterwards, without writing, so
	// upstream can shut down by draining; OnError is the hook to stop intake.
	OnError func(error)
	// Drop are the output fields not written (--fields, --omit).
	Drop []string
	// Prefix is written before anything else (--resume starts a new line
	// when the output it appends to ends in a partial one).
	Prefix []byte
}

// NDJSON writes each record as one JSON line, through a buffer: it is the
// flow.Writer of stdout. Its methods are for the sink's goroutine, apart
// from the counters and Err, which are safe for concurrent use.
type NDJSON struct {
	w   *bufio.Writer
	enc *record.Encoder
	opt NDJSONOptions

	n         atomic.Int64
	errors    atomic.Int64
	durable   func(*record.Record, bool) // Track's; nil when untracked
	unflushed []*record.Record           // written since the last flush, when tracked

	mu  sync.Mutex
	err error
}

var _ flow.Writer = (*NDJSON)(nil)

// NewNDJSON returns a writer to w; flow.NewSink makes it a sink.
func NewNDJSON(w io.Writer, opt NDJSONOptions) *NDJSON {
	s := &NDJSON{w: bufio.NewWriterSize(w, 64<<10), enc: record.NewEncoder(opt.Drop...), opt: opt}
	s.check(writeAll(s.w, opt.Prefix))
	return s
}

// Err returns the first write error, if any.
func (s *NDJSON) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Errors returns how many records written so far carry an error.
func (s *NDJSON) Errors() int64 { return s.errors.Load() }

// Count returns how many records have been written successfully so far.
func (s *NDJSON) Count() int64 { return s.n.Load() }

func writeAll(w io.Writer, b []byte) error {
	_, err := w.Write(b)
	return err
}

// Track makes s tell durable of every record it writes: at the next
// flush, durable if the flush succeeded.
func (s *NDJSON) Track(durable func(*record.Record, bool)) { s.durable = durable }

// Flush writes out the buffer, then tells what it held as durable, or lost
// if the write failed. The end is no different.
func (s *NDJSON) Flush(bool) {
	ok := s.check(s.w.Flush())
	for i, r := range s.unflushed {
		s.durable(r, ok)
		s.unflushed[i] = nil
	}
	s.unflushed = s.unflushed[:0]
}

// Write writes r's line into the buffer. After a write error it only
// drains: the output is gone, but upstream must still finish.
func (s *NDJSON) Write(r *record.Record) {
	if s.Err() != nil || !s.check(writeAll(s.w, s.enc.AppendLine(r))) {
		if s.durable != nil {
			s.durable(r, false)
		}
		return
	}
	if s.durable != nil {
		s.unflushed = append(s.unflushed, r)
	}
	s.n.Add(1)
	if r.Err != nil {
		s.errors.Add(1)
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
