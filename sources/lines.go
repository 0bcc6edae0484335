package sources

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/reugn/go-streams"

	"sluice/flow"
	"sluice/record"
)

// DefaultMaxLine is the longest input line kept whole. A longer line is not
// buffered: it is skipped to its end and becomes one invalid_input record, so
// a runaway line (a binary file piped in by mistake) costs no more memory
// than this.
const DefaultMaxLine = 16 << 20

// Options configure Lines. The zero value parses lines with the zero
// record.Parser and keeps DefaultMaxLine.
type Options struct {
	Parser  record.Parser // how a line becomes a record
	MaxLine int           // the longest line kept whole, in bytes
}

// Lines is a streams.Source of records, one per input line that is not blank
// and not a '#' comment, numbered from 1 in input order across all readers.
//
// Two goroutines run it, both started when the source is connected (Via, To
// or Out): a reader that frames lines and an emitter that parses them into
// records and sends them straight into the next stage's In, waiting for it
// to take each one (backpressure reaches the reader through an unbuffered
// channel). The output is
// closed when every reader is exhausted, when a read fails (see Err), or as
// soon as ctx is done. A line read but not yet sent when ctx ends is dropped
// before it gets a sequence number, so it never counts as input. The reader
// goroutine ends with its next Read after ctx is done; a Read blocked on an
// idle terminal or pipe cannot be interrupted and ends with the process.
type Lines struct {
	flow.Link // the reader and emitter start when connected
	opt       Options

	n     atomic.Int64
	bytes atomic.Int64 // input bytes read, for the progress line
	mu    sync.Mutex
	err   error
}

var _ streams.Source = (*Lines)(nil)

// NewLines returns a source that reads readers one after another, from when
// it is connected until ctx is done. A reader that is an io.Closer is not
// closed: the caller owns it.
func NewLines(ctx context.Context, readers []io.Reader, opt Options) *Lines {
	if opt.MaxLine <= 0 {
		opt.MaxLine = DefaultMaxLine
	}
	l := &Lines{opt: opt}
	l.Start = func(out chan<- any) {
		frames := make(chan []frame)
		go l.read(ctx, readers, frames)
		go l.emitTo(ctx, frames, out)
	}
	return l
}

// Err returns the read error that ended the input early, if any. It is
// meaningful once Out is closed.
func (l *Lines) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// BytesRead returns how many input bytes have been read.
func (l *Lines) BytesRead() int64 { return l.bytes.Load() }

// Count returns how many records have been sent on Out.
func (l *Lines) Count() int64 { return l.n.Load() }

// frame is one input line, without its line ending and surrounding white
// space, or the length of a line too long to keep.
type frame struct {
	line    []byte
	tooLong int64
}

// frameBatch and frameBatchBytes bound what the reader hands the emitter at
// once (a batch with one long line is that line alone).
const (
	frameBatch      = 64
	frameBatchBytes = 64 << 10
)

// read frames lines and hands them to the emitter in batches: the lines
// already in its buffer go together, so a bulk input costs one hand-off per
// batch, not per line. A batch goes as soon as the buffer holds no further
// complete line, before a read that may block, so a slow stream's lines
// are not held back.
func (l *Lines) read(ctx context.Context, readers []io.Reader, frames chan<- []frame) {
	defer close(frames)
	br := bufio.NewReaderSize(nil, 64<<10)
	batch := make([]frame, 0, frameBatch)
	size := 0
	send := func() bool {
		if len(batch) == 0 {
			return true
		}
		select {
		case frames <- batch:
			batch, size = make([]frame, 0, frameBatch), 0
			return true
		case <-ctx.Done():
			return false
		}
	}
	for i, r := range readers {
		br.Reset(r)
		first := true
		for {
			f, err := l.next(br, first)
			first = false
			if f.line != nil || f.tooLong > 0 {
				batch = append(batch, f)
				size += len(f.line)
			}
			if len(batch) == frameBatch || size >= frameBatchBytes || err != nil || !lineBuffered(br) {
				if !send() {
					return
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				l.setErr(fmt.Errorf("read input %d: %w", i+1, err))
				return
			}
			if ctx.Err() != nil {
				return
			}
		}
	}
	send()
}

// lineBuffered reports whether br holds a complete line, which it can
// return without reading.
func lineBuffered(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// next reads one line. It returns a frame with a nil line for a blank or
// comment line. err is io.EOF after the last line.
func (l *Lines) next(br *bufio.Reader, first bool) (frame, error) {
	var buf []byte
	var size int64
	blank, comment := true, false // what the line is, judged by its first non-space byte
	for {
		chunk, err := br.ReadSlice('\n')
		l.bytes.Add(int64(len(chunk)))
		if blank {
			lead := chunk
			if first && size == 0 {
				lead = bytes.TrimPrefix(lead, bom)
			}
			if lead = bytes.TrimSpace(lead); len(lead) > 0 {
				blank, comment = false, lead[0] == '#'
			}
		}
		size += int64(len(chunk))
		if size <= int64(l.opt.MaxLine)+2 { // +2: the line ending is not counted
			buf = append(buf, chunk...)
		} else {
			buf = nil
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			return frame{}, err
		}
		if size == 0 {
			return frame{}, err
		}
		if buf == nil {
			if blank || comment {
				return frame{}, err
			}
			return frame{tooLong: size}, err
		}
		return frame{line: clean(buf, first)}, err
	}
}

var bom = []byte("\xef\xbb\xbf")

// clean trims the line ending, a leading BOM (first line only) and white
// space; it returns nil for a blank line or a comment.
func clean(b []byte, first bool) []byte {
	if first {
		b = bytes.TrimPrefix(b, bom)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] == '#' {
		return nil
	}
	return b
}

func (l *Lines) emitTo(ctx context.Context, frames <-chan []frame, out chan<- any) {
	defer close(out)
	var seq int64
	for {
		var batch []frame
		var ok bool
		select {
		case batch, ok = <-frames:
			if !ok {
				return
			}
		case <-ctx.Done():
			return
		}
		for _, f := range batch {
			var r *record.Record
			if f.tooLong > 0 {
				r = &record.Record{Seq: seq + 1}
				r.Fail(record.KindInvalidInput, "line of %d bytes is longer than the %d-byte limit", f.tooLong, l.opt.MaxLine)
			} else {
				r = l.opt.Parser.Parse(seq+1, f.line)
			}
			select {
			case out <- r: // the next stage is waiting: no select over two channels
			default:
				select {
				case out <- r:
				case <-ctx.Done():
					return
				}
			}
			seq++
			l.n.Store(seq)
		}
	}
}

func (l *Lines) setErr(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil && !errors.Is(err, context.Canceled) {
		l.err = err
	}
}
