package flow

import (
	"sync"

	"sluice/record"
)

// Acks holds the acknowledgements of the records that came with one (a
// queue's messages) beside the records, not in them: the source adds a
// record's as it makes the record; the sink settles it once the record is
// durably written, or handed back. It is safe for concurrent use; a nil
// *Acks holds none, so line input pays nothing for it.
type Acks struct {
	mu sync.Mutex
	m  map[*record.Record]Ack
}

// Ack is what settles one record's message, and what tells whether the
// worker still holds it.
type Ack struct {
	Settle  func(done bool) // called once: true when the output is durably taken (ack), false to hand the message back (nak)
	Revoked func() bool     // true once this worker has lost the lease of the message's partition (another may own it now); nil for never
}

// NewAcks returns an empty set of acknowledgements.
func NewAcks() *Acks { return &Acks{m: map[*record.Record]Ack{}} }

// Add holds ack for r until Settle.
func (a *Acks) Add(r *record.Record, ack Ack) {
	a.mu.Lock()
	a.m[r] = ack
	a.mu.Unlock()
}

// Has reports whether r has an acknowledgement not yet settled.
func (a *Acks) Has(r *record.Record) bool {
	if a == nil {
		return false
	}
	a.mu.Lock()
	_, ok := a.m[r]
	a.mu.Unlock()
	return ok
}

// Revoked reports whether r's message belongs to a partition whose lease
// this worker has lost: it is not to be sent, but handed back.
func (a *Acks) Revoked(r *record.Record) bool {
	if a == nil {
		return false
	}
	a.mu.Lock()
	ack := a.m[r]
	a.mu.Unlock()
	return ack.Revoked != nil && ack.Revoked()
}

// Settle settles r's message, once, and forgets it: done when its output
// is durably taken, not done to hand it back. The sink settles what
// reached it; a source settles only what it never sent on.
func (a *Acks) Settle(r *record.Record, done bool) {
	if a == nil {
		return
	}
	a.mu.Lock()
	ack, ok := a.m[r]
	delete(a.m, r)
	a.mu.Unlock()
	if ok && ack.Settle != nil {
		ack.Settle(done)
	}
}

// Wrap puts wrap around r's settling: the sink's verdict goes to what wrap
// returns, which settles r's message through settle, once, when it will
// (a crawl's page once its links are published too). It must not block.
func (a *Acks) Wrap(r *record.Record, wrap func(settle func(done bool)) func(done bool)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ack, ok := a.m[r]; ok {
		ack.Settle = wrap(ack.Settle)
		a.m[r] = ack
	}
}
