package flow

import (
	"errors"
	"testing"

	"sluice/record"
)

// keeper is a Keeper that fails its Commit when told to.
type keeper struct {
	kept, committed []int64
	failCommit      bool
}

func (k *keeper) Keep(r *record.Record) error { k.kept = append(k.kept, r.Seq); return nil }
func (k *keeper) Commit() error {
	if k.failCommit {
		return errors.New("disk full")
	}
	k.committed = append(k.committed, k.kept...)
	k.kept = nil
	return nil
}

// out is a Writer that notes what it was given, and when it was flushed.
type out struct {
	written []int64
	flushes int
}

func (o *out) Write(r *record.Record)           { o.written = append(o.written, r.Seq) }
func (o *out) Flush(bool)                       { o.flushes++ }
func (o *out) Track(func(*record.Record, bool)) {}

// queued is a record with a queue message; what the chain tells of it is
// noted in settled (tracked).
func queued(seq int64) *record.Record {
	return &record.Record{Seq: seq}
}

// tracked makes c note in settled what it tells of each record.
func tracked(c *Chain, settled map[int64]bool) {
	c.Track(func(r *record.Record, ok bool) { settled[r.Seq] = ok })
}

// A record reaches the output only after the keeper committed it, and one
// set aside is settled only then; after a failed commit none does, each is
// settled as not done and counted lost (one set aside is not lost), and
// onErr is told once.
func TestChainWritesOnlyWhatWasKept(t *testing.T) {
	k, o := &keeper{}, &out{}
	var errs []error
	c := NewChain(o, func(err error) { errs = append(errs, err) }, k)
	settled := map[int64]bool{}
	tracked(c, settled)
	c.Write(queued(1))
	c.Write(queued(2))
	if len(o.written) != 0 {
		t.Fatalf("written %v before the keeper committed", o.written)
	}
	c.Flush(false)
	if len(o.written) != 2 || len(k.committed) != 2 || o.flushes != 1 {
		t.Fatalf("after a flush: written %v, committed %v, %d flushes; want 2, 2, 1", o.written, k.committed, o.flushes)
	}
	c.Aside(queued(6)) // a page fetched again: kept, never written, settled once committed
	if _, ok := settled[6]; ok {
		t.Fatal("a record set aside was settled before the keeper committed it")
	}
	c.Flush(false)
	if !settled[6] || len(o.written) != 2 {
		t.Fatalf("a record set aside: settled %v, written %v; want settled as done, not written", settled[6], o.written)
	}
	c.Aside(queued(3)) // kept, never written
	k.failCommit = true
	c.Write(queued(4))
	c.Flush(false)
	c.Write(queued(5))
	c.Flush(true)
	if len(o.written) != 2 || c.Lost() != 2 || len(errs) != 1 || c.Err() == nil {
		t.Errorf("after a failed commit: written %v, lost %d, %d errors told; want nothing more written, 2 lost, 1 told", o.written, c.Lost(), len(errs))
	}
	if settled[3] || settled[4] || settled[5] {
		t.Errorf("a record not archived was settled as done: %v", settled)
	}
	if _, ok := settled[4]; !ok {
		t.Error("a record not archived was not settled at all (its message would wait for ack_wait)")
	}
}
