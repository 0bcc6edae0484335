package sinks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice/flow"
	"sluice/natsq"
	"sluice/record"
)

// NATS publishes each record, as one JSON object, to a JetStream subject
// and waits for the broker to store it: it is the flow.Writer of --out and
// of `sluice enqueue`. A record from a queue carries its input message's
// identity as Nats-Msg-Id, so a message worked twice (a worker died before
// acking it) is stored once within the stream's duplicate window; its input
// message is acked only after the publish is acked. A publish that fails
// (the broker is away, or did not answer in time) is sent again until it is
// stored or the writer is told to give up (ctx); records it gave up on count
// in Err.
//
// Write and Flush are for the sink's goroutine. The first Write starts one
// more goroutine, which waits for the broker's acks in order; the last
// Flush ends it.
type NATS struct {
	ctx     context.Context // ends the retrying of failed publishes
	js      jetstream.JetStream
	msgOf   func(*record.Record) (*nats.Msg, error)
	pending chan publish
	acked   chan struct{} // closed when the ack goroutine has ended
	started bool

	n       atomic.Int64
	errors  atomic.Int64
	lost    atomic.Int64
	refused atomic.Int64
	dups    atomic.Int64

	mu      sync.Mutex
	refusal error // the first message msgOf refused

	durable func(*record.Record, bool) // Track's; nil when untracked
}

type publish struct {
	r   *record.Record
	msg *nats.Msg
	ack jetstream.PubAckFuture
}

var _ flow.Writer = (*NATS)(nil)

// Track makes s tell durable of every record it writes: once the broker
// has stored it, or when it is refused for good (durable too: sending it
// again would fail the same way), or lost (given up).
func (s *NATS) Track(durable func(*record.Record, bool)) { s.durable = durable }

// tell tells the tracker, if any, what became of r.
func (s *NATS) tell(r *record.Record, ok bool) {
	if s.durable != nil {
		s.durable(r, ok)
	}
}

// NewNATS returns a writer that publishes the message msgOf makes of each
// record (natsq.RecordMsg, natsq.EnqueueMsg); a record it returns an error
// for is counted and not published. ctx ends the retrying of failed
// publishes (the pipeline cancels it when the grace period ends).
func NewNATS(ctx context.Context, js jetstream.JetStream, msgOf func(*record.Record) (*nats.Msg, error)) *NATS {
	return &NATS{
		ctx: ctx, js: js, msgOf: msgOf,
		pending: make(chan publish, natsq.MaxPending),
		acked:   make(chan struct{}),
	}
}

// Count returns how many records the broker has acknowledged (Duplicates
// among them).
func (s *NATS) Count() int64 { return s.n.Load() }

// Duplicates returns how many published records the stream already held
// (same Nats-Msg-Id within its duplicate window), and so dropped.
func (s *NATS) Duplicates() int64 { return s.dups.Load() }

// Errors returns how many stored records carry an error.
func (s *NATS) Errors() int64 { return s.errors.Load() }

// Failed returns how many records were refused or could not be published
// before giving up.
func (s *NATS) Failed() int64 { return s.refused.Load() + s.lost.Load() }

// Err reports records that were refused or could not be published before
// giving up.
func (s *NATS) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.refused.Load(); n > 0 {
		return fmt.Errorf("%d records not published (the first: %v)", n, s.refusal)
	}
	if n := s.lost.Load(); n > 0 {
		return fmt.Errorf("%d records not published: the broker did not take them before sluice stopped", n)
	}
	return nil
}

// Flush does nothing until the end (each publish goes out as it is made);
// at the end it waits until every record written is stored or given up.
func (s *NATS) Flush(end bool) {
	if !end {
		return
	}
	close(s.pending)
	if s.started {
		<-s.acked
	}
}

// Write publishes r's message; it blocks while natsq.MaxPending publishes
// wait for their acks.
func (s *NATS) Write(r *record.Record) {
	if !s.started {
		s.started = true
		go s.settle()
	}
	msg, err := s.msgOf(r)
	p := publish{r: r, msg: msg}
	if err == nil {
		err = s.send(&p)
	}
	switch {
	case err == nil:
		s.pending <- p
	case errors.Is(err, s.ctx.Err()):
		s.giveUp(r)
	default:
		s.refuse(r, err)
	}
}

// refuse counts a record whose message can never be published (too big).
func (s *NATS) refuse(r *record.Record, err error) {
	s.mu.Lock()
	if s.refused.Add(1) == 1 {
		s.refusal = err
	}
	s.mu.Unlock()
	s.tell(r, true) // redelivering it would fail the same way, forever
}

// send publishes p.msg asynchronously, trying again while the client
// refuses for now (too many pending, or not connected). It fails at once for
// a message too big for the broker, and with ctx's error once ctx is done.
func (s *NATS) send(p *publish) error {
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		ack, err := s.js.PublishMsgAsync(p.msg)
		switch {
		case err == nil:
			p.ack = ack
			return nil
		case errors.Is(err, nats.ErrMaxPayload):
			return err
		}
		select {
		case <-time.After(wait):
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
	}
}

// settle waits for each publish's ack in order and tells of its record; a
// failed publish is sent again (the Msg-Id keeps a second copy out).
func (s *NATS) settle() {
	defer close(s.acked)
	for p := range s.pending {
		for {
			select {
			case ack := <-p.ack.Ok():
				if ack.Duplicate {
					s.dups.Add(1) // stored before, by this or another worker
				}
				s.n.Add(1)
				if p.r.Err != nil {
					s.errors.Add(1)
				}
				s.tell(p.r, true)
			case <-p.ack.Err():
				if s.send(&p) == nil {
					continue
				}
				s.giveUp(p.r)
			}
			break
		}
	}
}

func (s *NATS) giveUp(r *record.Record) {
	s.lost.Add(1)
	s.tell(r, false) // back to the queue: another worker publishes it
}
