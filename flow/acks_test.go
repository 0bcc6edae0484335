package flow

import (
	"testing"

	"sluice/record"
)

// An acknowledgement is settled once, by whoever settles first, and is
// forgotten then; a nil Acks holds none and settles nothing.
func TestAcksSettleOnce(t *testing.T) {
	a := NewAcks()
	r, other := &record.Record{Seq: 1}, &record.Record{Seq: 2}
	var got []bool
	revoked := false
	a.Add(r, Ack{Settle: func(done bool) { got = append(got, done) }, Revoked: func() bool { return revoked }})
	if !a.Has(r) || a.Has(other) {
		t.Fatalf("Has(r) = %v, Has(other) = %v; want true, false", a.Has(r), a.Has(other))
	}
	if a.Revoked(r) {
		t.Error("Revoked before the lease was lost")
	}
	revoked = true
	if !a.Revoked(r) || a.Revoked(other) {
		t.Errorf("Revoked(r) = %v, Revoked(other) = %v; want true, false", a.Revoked(r), a.Revoked(other))
	}
	a.Settle(r, true)
	a.Settle(r, false)
	a.Settle(other, true)
	if len(got) != 1 || !got[0] || a.Has(r) {
		t.Errorf("settled %v, still held %v; want [true] once, forgotten", got, a.Has(r))
	}
	var none *Acks
	none.Settle(r, true)
	if none.Has(r) || none.Revoked(r) {
		t.Error("a nil Acks holds something")
	}
}

// Wrap puts a step between the sink's verdict and the message's settling.
func TestAcksWrap(t *testing.T) {
	a := NewAcks()
	r := &record.Record{Seq: 1}
	var got []bool
	a.Add(r, Ack{Settle: func(done bool) { got = append(got, done) }})
	var verdict []bool
	a.Wrap(r, func(settle func(bool)) func(bool) {
		return func(done bool) {
			verdict = append(verdict, done)
			settle(false) // what the wrapper decides
		}
	})
	a.Wrap(&record.Record{Seq: 2}, func(settle func(bool)) func(bool) { t.Fatal("wrapped a record with no acknowledgement"); return settle })
	a.Settle(r, true)
	if len(verdict) != 1 || !verdict[0] || len(got) != 1 || got[0] {
		t.Errorf("the wrapper saw %v, the message was settled %v; want [true] and [false]", verdict, got)
	}
}
