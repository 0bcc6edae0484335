package sources

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// settlement is a held message's end: acked (done) or handed back.
type settlement struct {
	h    *held
	done bool
}

// ackers is how many goroutines settle messages. The room a message held
// in the window is freed only once the broker has confirmed its ack, so the
// broker never counts more un-acked messages for this worker than its
// window. One confirmed ack (AckSync) covers the plain acks sent before it
// on the same consumer, which the broker handles in order: an acker takes
// what is waiting, up to ackBatch, and pays one round trip per partition
// in it, not one per message.
const (
	ackers   = 4
	ackBatch = 256
)

// settle is an acker: it settles what comes on acks until Close closes it.
func (w *Queue) settle() {
	defer w.ackersDone.Done()
	batch := make([]settlement, 0, ackBatch)
	for s := range w.acks {
		batch = append(batch[:0], s)
	more:
		for len(batch) < ackBatch {
			select {
			case s, ok := <-w.acks:
				if !ok {
					break more
				}
				batch = append(batch, s)
			default:
				break more
			}
		}
		w.settleBatch(batch)
	}
}

// settleBatch acks or hands back each message of batch. A message whose
// ack the broker did not confirm (it is away) may come back and its record
// be written again; with --out the output stream drops the copy.
func (w *Queue) settleBatch(batch []settlement) {
	last := map[*lease]*held{} // the last ack of each partition, to be confirmed
	for _, s := range batch {
		if s.done {
			w.counts.acked.Add(1)
		} else {
			w.counts.handedBack.Add(1)
		}
		switch {
		case !s.done:
			w.brokerErr("hand back", s.h.msg.Nak())
		case last[s.h.l] != nil:
			w.brokerErr("ack", last[s.h.l].msg.Ack())
			last[s.h.l] = s.h
		default:
			last[s.h.l] = s.h
		}
	}
	for _, h := range last {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := h.msg.DoubleAck(ctx); err != nil {
			w.brokerErr("confirm ack", err)
			w.brokerErr("ack", h.msg.Ack())
		}
		cancel()
	}
	w.mu.Lock()
	for _, s := range batch {
		delete(w.unsett, s.h)
	}
	w.mu.Unlock()
	for _, s := range batch {
		s.h.l.inflight.Add(-1)
		w.room <- struct{}{}
	}
}

// inProgress tells the broker the held messages are still being worked.
func (w *Queue) inProgress() {
	w.mu.Lock()
	msgs := make([]jetstream.Msg, 0, len(w.unsett))
	for h := range w.unsett {
		msgs = append(msgs, h.msg)
	}
	w.mu.Unlock()
	for _, m := range msgs {
		w.brokerErr("in progress", m.InProgress())
	}
}
