package sinks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/reugn/go-streams"

	"sluice/record"
)

// NATSMaxPending is how many publishes the NATS sink has waiting for the
// broker's ack at once; past that it stops taking records (backpressure).
const NATSMaxPending = 256

// NATS is a streams.Sink that publishes each record, as one JSON object, to
// a JetStream subject and waits for the broker to store it. A record from a
// queue carries its input message's identity as Nats-Msg-Id, so a message
// worked twice (a worker died before acking it) is stored once within the
// stream's duplicate window; its input message is acked only after the
// publish is acked. A publish that fails (the broker is away, or did not
// answer in time) is sent again until it is stored or the sink is told to
// give up (ctx); records it gave up on count in Lost.
type NATS struct {
	in      chan any
	done    chan struct{}
	js      jetstream.JetStream
	msgOf   func(*record.Record) (*nats.Msg, error)
	pending chan publish

	n        atomic.Int64
	errors   atomic.Int64
	requeued atomic.Int64
	lost     atomic.Int64
	refused  atomic.Int64
	dups     atomic.Int64

	mu      sync.Mutex
	refusal error // the first message msgOf refused
}

type publish struct {
	r   *record.Record
	msg *nats.Msg
	ack jetstream.PubAckFuture
}

var _ streams.Sink = (*NATS)(nil)

// EnsureOutput returns the name of the stream that stores subject, making
// one when none does: named after the subject, keeping duplicates out for
// dedup (the broker's default is 2 minutes).
func EnsureOutput(ctx context.Context, js jetstream.JetStream, subject string, dedup time.Duration) (string, error) {
	name, err := js.StreamNameBySubject(ctx, subject)
	if err == nil {
		return name, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return "", fmt.Errorf("stream for %s: %w", subject, err)
	}
	name = streamName(subject)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{subject}, Storage: jetstream.FileStorage, Duplicates: dedup,
	})
	if err != nil {
		return "", fmt.Errorf("make stream %s for %s: %w", name, subject, err)
	}
	return name, nil
}

var notName = regexp.MustCompile(`[^A-Za-z0-9_-]`)

func streamName(subject string) string {
	return strings.ToUpper(notName.ReplaceAllString(subject, "_"))
}

// RecordMsg makes the message of an output record: the record's JSON object
// on subject, with Nats-Msg-Id from its input message. The function is for
// one goroutine (the sink's).
func RecordMsg(subject string) func(*record.Record) (*nats.Msg, error) {
	enc := record.NewEncoder()
	return func(r *record.Record) (*nats.Msg, error) {
		msg := nats.NewMsg(subject)
		msg.Data = bytes.Clone(bytes.TrimSuffix(enc.AppendLine(r), []byte("\n")))
		if r.MsgID != "" {
			msg.Header.Set(jetstream.MsgIDHeader, r.MsgID)
		}
		return msg, nil
	}
}

// NewNATS starts publishing the message msgOf makes of each record (see
// RecordMsg); a record it returns an error for is counted and not
// published. ctx ends the retrying of failed publishes (main cancels it
// when the grace period ends).
func NewNATS(ctx context.Context, js jetstream.JetStream, msgOf func(*record.Record) (*nats.Msg, error)) *NATS {
	s := &NATS{
		in: make(chan any), done: make(chan struct{}), js: js, msgOf: msgOf,
		pending: make(chan publish, NATSMaxPending),
	}
	acks := make(chan struct{})
	go s.settle(ctx, acks)
	go func() {
		s.run(ctx)
		close(s.pending)
		<-acks
		close(s.done)
	}()
	return s
}

// In returns the input channel; the upstream closes it.
func (s *NATS) In() chan<- any { return s.in }

// AwaitCompletion blocks until every record taken is stored or given up.
func (s *NATS) AwaitCompletion() { <-s.done }

// Count returns how many records the broker has acknowledged (Duplicates
// among them).
func (s *NATS) Count() int64 { return s.n.Load() }

// Duplicates returns how many published records the stream already held
// (same Nats-Msg-Id within its duplicate window), and so dropped.
func (s *NATS) Duplicates() int64 { return s.dups.Load() }

// Errors returns how many stored records carry an error.
func (s *NATS) Errors() int64 { return s.errors.Load() }

// Requeued returns how many canceled records went back to their queue.
func (s *NATS) Requeued() int64 { return s.requeued.Load() }

// Skipped is empty: --resume and --unique are for line input.
func (s *NATS) Skipped() map[string]int64 { return map[string]int64{} }

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

func (s *NATS) run(ctx context.Context) {
	for v := range s.in {
		r := v.(*record.Record)
		if r.Requeue() {
			s.requeued.Add(1)
			r.Settle(false)
			continue
		}
		msg, err := s.msgOf(r)
		p := publish{r: r, msg: msg}
		if err == nil {
			err = s.send(ctx, &p)
		}
		switch {
		case err == nil:
			s.pending <- p
		case errors.Is(err, ctx.Err()):
			s.giveUp(r)
		default:
			s.refuse(r, err)
		}
	}
}

// refuse counts a record whose message can never be published (too big).
func (s *NATS) refuse(r *record.Record, err error) {
	s.mu.Lock()
	if s.refused.Add(1) == 1 {
		s.refusal = err
	}
	s.mu.Unlock()
	if r.Settle != nil {
		r.Settle(true) // redelivering it would fail the same way, forever
	}
}

// send publishes p.msg asynchronously, trying again while the client
// refuses for now (too many pending, or not connected). It fails at once for
// a message too big for the broker, and with ctx's error once ctx is done.
func (s *NATS) send(ctx context.Context, p *publish) error {
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
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// settle waits for each publish's ack in order and settles its record; a
// failed publish is sent again (the Msg-Id keeps a second copy out).
func (s *NATS) settle(ctx context.Context, finished chan<- struct{}) {
	defer close(finished)
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
				if p.r.Settle != nil {
					p.r.Settle(true)
				}
			case <-p.ack.Err():
				if s.send(ctx, &p) == nil {
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
	if r.Settle != nil {
		r.Settle(false) // back to the queue: another worker publishes it
	}
}
