package sources

import (
	"bytes"
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"sluice/flow"
	"sluice/natsq"
	"sluice/record"
)

// pull starts working partition p under the lease at rev.
func (w *Queue) pull(intake context.Context, p int, rev uint64, out chan<- any) {
	ctx, cancel := context.WithCancel(intake)
	l := &lease{rev: rev, cancel: cancel, pulling: make(chan struct{})}
	l.renewed.Store(time.Now().UnixNano())
	l.revoked = l.fence(w.q.Lease * 3 / 4)
	w.held[p] = l
	w.pullers.Add(1)
	w.counts.taken.Add(1)
	w.counts.setPending(p, 0)
	go func() {
		defer w.pullers.Done()
		defer close(l.pulling)
		w.puller(ctx, p, l, out)
	}()
}

// puller pulls partition p's messages while room allows and sends their
// records downstream, until ctx ends (intake stopped, or the partition
// is released).
func (w *Queue) puller(ctx context.Context, p int, l *lease, out chan<- any) {
	cons, err := w.js.CreateOrUpdateConsumer(ctx, w.q.Stream, natsq.ConsumerConfig(w.q, p))
	if err != nil {
		w.brokerErr("consumer "+natsq.ConsumerName(w.q.Durable, p), err)
		l.failed.Store(true) // the lease is given up at the next rebalance, to be taken again
		return
	}
	// Pulls do not wait at the broker: a waiting pull would sit on room in
	// the window that the partitions with work could use. An empty
	// partition is asked again after a pause that grows to half a second.
	var pause time.Duration
	for ctx.Err() == nil {
		n := w.takeRoom(ctx)
		if n == 0 {
			return
		}
		batch, err := cons.FetchNoWait(n)
		var recs []*record.Record
		if err == nil {
			for msg := range batch.Messages() {
				if r := w.hold(msg, p, l); r != nil {
					recs = append(recs, r)
				}
			}
			err = batch.Error()
		}
		for range n - len(recs) {
			w.room <- struct{}{}
			w.ahead <- struct{}{}
		}
		got := len(recs)
		w.send(ctx, recs, out)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				w.brokerErr("pull "+natsq.ConsumerName(w.q.Durable, p), err)
			}
			pause = 250 * time.Millisecond // the broker is away: try again soon
		case got == 0:
			pause = min(max(2*pause, 10*time.Millisecond), 500*time.Millisecond)
		default:
			pause = 0
		}
		if pause > 0 {
			sleep(ctx, pause)
		}
	}
}

// takeRoom waits for room for one message, in the window and ahead of
// the schedule, then takes what more there is of both, up to a batch; 0
// when ctx ends first.
func (w *Queue) takeRoom(ctx context.Context) int {
	select {
	case <-w.ahead:
	case <-ctx.Done():
		return 0
	}
	select {
	case <-w.room:
	case <-ctx.Done():
		w.ahead <- struct{}{}
		return 0
	}
	n := 1
	for n < w.q.Batch {
		select {
		case <-w.ahead:
		default:
			return n
		}
		select {
		case <-w.room:
			n++
		default:
			w.ahead <- struct{}{}
			return n
		}
	}
	return n
}

// fence returns the lease's Record.Revoked: true once it is lost, or not
// renewed for longer than after, so that it may have lapsed at the broker.
// A worker stopped (SIGSTOP) past its lease sees this at once on waking,
// before its coordinator learns the lease is gone: another worker may own
// the partition by then.
func (l *lease) fence(after time.Duration) func() bool {
	return func() bool {
		return l.lost.Load() || time.Since(time.Unix(0, l.renewed.Load())) > after
	}
}

// hold takes msg as held: its record is made and the message counted
// among the unsettled ones, which the in-progress acks cover, before it is
// sent downstream. nil for a message that is not JetStream's, handed back.
func (w *Queue) hold(msg jetstream.Msg, p int, l *lease) *record.Record {
	md, err := msg.Metadata()
	if err != nil { // not a JetStream message: cannot happen on a pull consumer
		w.brokerErr("message metadata", err)
		w.brokerErr("hand back", msg.Nak())
		return nil
	}
	if md.NumDelivered > 1 {
		w.counts.redelivered.Add(1)
	}
	w.counts.setPending(p, int64(md.NumPending))
	line := bytes.TrimSpace(msg.Data())
	r := w.parser.Parse(int64(md.Sequence.Stream), line)
	r.Task = &record.Task{MsgID: natsq.MsgID(w.q.Stream, md.Sequence.Stream), Redelivered: md.NumDelivered > 1}
	if w.crawl != nil {
		w.crawl.task(r, msg.Headers(), w.call)
	}
	h := &held{msg: msg, l: l}
	w.mu.Lock()
	w.unsett[h] = struct{}{}
	w.mu.Unlock()
	l.inflight.Add(1)
	w.msgAcks.Add(r, flow.Ack{
		Settle:  func(done bool) { w.acks <- settlement{h, done} }, // never blocks: it has room for the window; flow.Acks calls it once
		Revoked: l.revoked,
	})
	w.bytes.Add(int64(len(msg.Data())))
	return r
}

// send sends recs downstream in order; when intake stops first, the rest
// are handed back (not started: for another worker).
func (w *Queue) send(ctx context.Context, recs []*record.Record, out chan<- any) {
	for i, r := range recs {
		select {
		case out <- r:
			w.n.Add(1)
			w.ahead <- struct{}{}
		case <-ctx.Done():
			for _, r := range recs[i:] {
				w.msgAcks.Settle(r, false) // never sent on: the sink will not see it
				w.ahead <- struct{}{}
			}
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
