package crawl

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// StateLog is the name of --state's log in its directory.
const StateLog = "crawl.log"

// Entries of the state log, each a tag byte and uvarint-framed fields.
const (
	entryScope    = 'S' // a seed's scope: kind, key; numbered by order from 0
	entryAdmitted = 'A' // a task admitted: as pending; numbered by order from 1
	entryReleased = 'R' // task id released as seq
	entryDone     = 'D' // the record of seq was written out
)

// crawlState is --state DIR: the frontier's log of what it admitted,
// released and saw written, from which a crawl killed at any point goes
// on where it was. The frontier's goroutine alone writes it, in an order
// that keeps it consistent at every byte: a page's links are admitted
// before the page's record is logged done (the discover stage offers them
// before the page reaches the sink, and the frontier admits what was offered
// before it logs what was written); a task is released before it is done.
// So a crash loses nothing: what was written but not yet logged done is
// fetched again (the records in flight), and a torn last entry is dropped.
// A lock on the directory keeps a second sluice out.
type crawlState struct {
	dir  string
	lock *os.File
	f    *os.File
	w    *bufio.Writer
	buf  []byte
}

// openState opens or makes dir, takes its lock, and reads its log.
func openState(dir string) (*crawlState, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--state: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--state: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("--state: %s is in use by another sluice", dir)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "sluice-frontier-*")) // spill files of a run that was killed
	for _, name := range old {
		os.Remove(name) // what they held is in the log
	}
	s := &crawlState{dir: dir, lock: lock}
	f, err := os.OpenFile(filepath.Join(dir, StateLog), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("--state: %w", err)
	}
	s.f = f
	return s, nil
}

// replayed is what the log says, for the frontier to take up.
type replayed struct {
	done   bitset // seqs written
	maxSeq int64  // the last seq released
	tasks  int64  // tasks admitted (seeds are not)
}

// replay reads the log in three passes: the seqs written; the tasks
// released and not written (in flight at the end), with their seqs; then
// the scopes and the tasks admitted, each given to admitted with whether
// it is still to do (its seq set when it had been released). It leaves the
// log open for writing after its last whole entry: a torn last one
// (killed mid-write) goes.
func (s *crawlState) replay(scope func(kind, key string), admitted func(p pending, todo bool)) (replayed, error) {
	var r replayed
	released := bitset{}
	inFlight := map[int64]int64{} // task id -> seq
	good, err := s.scan(func(e entry) {
		if e.tag == entryDone {
			r.done.set(e.seq)
		}
	})
	if err == nil {
		_, err = s.scan(func(e entry) {
			if e.tag == entryReleased {
				released.set(e.id)
				r.maxSeq = max(r.maxSeq, e.seq)
				if !r.done.has(e.seq) {
					inFlight[e.id] = e.seq
				}
			}
		})
	}
	if err == nil {
		_, err = s.scan(func(e entry) {
			switch e.tag {
			case entryScope:
				scope(e.p.url, e.p.host)
			case entryAdmitted:
				r.tasks++
				e.p.id = r.tasks
				seq, again := inFlight[r.tasks]
				e.p.seq = seq
				admitted(e.p, again || !released.has(r.tasks))
			}
		})
	}
	if err != nil {
		return r, fmt.Errorf("--state: read %s: %w", s.f.Name(), err)
	}
	if err := s.f.Truncate(good); err != nil {
		return r, fmt.Errorf("--state: %w", err)
	}
	if _, err := s.f.Seek(good, io.SeekStart); err != nil {
		return r, fmt.Errorf("--state: %w", err)
	}
	s.w = bufio.NewWriterSize(s.f, 64<<10)
	return r, nil
}

type entry struct {
	tag     byte
	id, seq int64
	p       pending
}

// scan calls fn with each whole entry of the log and returns where the
// last one ends.
func (s *crawlState) scan(fn func(entry)) (int64, error) {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	br := bufio.NewReaderSize(s.f, 256<<10)
	var at int64
	var buf []byte // reused: an entry's strings are copied out of it
	for {
		size, err := binary.ReadUvarint(br)
		if err != nil {
			return at, nil // the end, or a torn length
		}
		if uint64(cap(buf)) < size {
			buf = make([]byte, size)
		}
		body := buf[:size]
		if _, err := io.ReadFull(br, body); err != nil {
			return at, nil // a torn entry
		}
		e, err := decodeEntry(body)
		if err != nil {
			return at, err
		}
		fn(e)
		at += int64(uvarintLen(size)) + int64(size)
	}
}

func uvarintLen(v uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], v)
}

func decodeEntry(b []byte) (entry, error) {
	if len(b) == 0 {
		return entry{}, errCorrupt
	}
	e := entry{tag: b[0]}
	b = b[1:]
	switch e.tag {
	case entryScope:
		p, rest, err := readPending(b) // kind and key ride in url and host
		if err != nil || len(rest) > 0 {
			return e, errCorrupt
		}
		e.p = p
	case entryAdmitted:
		p, rest, err := readPending(b)
		if err != nil || len(rest) > 0 {
			return e, errCorrupt
		}
		e.p = p
	case entryReleased, entryDone:
		id, k := binary.Uvarint(b)
		if k <= 0 {
			return e, errCorrupt
		}
		if e.tag == entryDone {
			e.seq = int64(id)
			return e, nil
		}
		seq, k2 := binary.Uvarint(b[k:])
		if k2 <= 0 {
			return e, errCorrupt
		}
		e.id, e.seq = int64(id), int64(seq)
	default:
		return e, fmt.Errorf("unknown entry %q", e.tag)
	}
	return e, nil
}

func (s *crawlState) write(body []byte) {
	s.buf = binary.AppendUvarint(s.buf[:0], uint64(len(body)))
	s.w.Write(s.buf) // a failure stays in the writer: flush reports it
	s.w.Write(body)
}

func (s *crawlState) scope(kind, key string) {
	s.write(append([]byte{entryScope}, appendPending(nil, pending{url: kind, host: key})...))
}

func (s *crawlState) admit(p pending) {
	p.id, p.seq = 0, 0 // the id is the entry's place; a seq comes with its release
	s.write(appendPending([]byte{entryAdmitted}, p))
}

func (s *crawlState) release(id, seq int64) {
	b := binary.AppendUvarint([]byte{entryReleased}, uint64(id))
	s.write(binary.AppendUvarint(b, uint64(seq)))
}

func (s *crawlState) written(seq int64) {
	s.write(binary.AppendUvarint([]byte{entryDone}, uint64(seq)))
}

// flush hands what was logged to the operating system: enough for a
// crash of sluice (a SIGKILL), not for one of the machine.
func (s *crawlState) flush() error {
	if s.w == nil || s.w.Buffered() == 0 {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("--state: %w", err)
	}
	return nil
}

func (s *crawlState) close() error {
	var errs []error
	if s.f != nil {
		errs = append(errs, s.flush(), s.f.Close())
	}
	errs = append(errs, s.lock.Close()) // and with it the lock
	return errors.Join(errs...)
}

// bitset is a growable set of small non-negative numbers.
type bitset []uint64

func (b *bitset) set(i int64) {
	for int64(len(*b)) <= i/64 {
		*b = append(*b, 0)
	}
	(*b)[i/64] |= 1 << (i % 64)
}

func (b bitset) has(i int64) bool {
	return i/64 < int64(len(b)) && b[i/64]&(1<<(i%64)) != 0
}
