package sources

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"sluice/natsq"
)

// drained reports whether the whole queue has been idle for QueueURL.Idle:
// every partition's consumer with nothing left to deliver and nothing
// awaiting ack, every partition without a consumer yet without messages,
// and nothing in this worker's hands. It runs on the coordinator
// goroutine.
//
// It looks at the consumers, not at the stream: a work-queue stream can
// keep a message its consumer has acked (nats-server has known cases after
// a restart), and a worker waiting for the stream to empty would wait
// forever. Such a message is below its consumer's ack floor and is never
// delivered again; orphans counts them, for -v.
func (w *Queue) drained() bool {
	ctx, cancel := w.call()
	defer cancel()
	idle := w.Unsettled() == 0
	if idle {
		var err error
		idle, err = w.queueIdle(ctx)
		w.brokerErr("queue state", err)
	}
	if !idle {
		w.idleFrom = time.Time{}
		return false
	}
	if w.idleFrom.IsZero() {
		w.idleFrom = time.Now()
	}
	return time.Since(w.idleFrom) >= w.q.Idle
}

// queueIdle asks the broker whether any partition has work left.
func (w *Queue) queueIdle(ctx context.Context) (bool, error) {
	for p := range w.parts {
		c, err := w.stream.Consumer(ctx, natsq.ConsumerName(w.q.Durable, p))
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			// Never worked: its messages, if any, are all in the stream.
			subject := natsq.PartitionSubject(w.q.Subject, p)
			info, err := w.stream.Info(ctx, jetstream.WithSubjectFilter(subject))
			if err != nil {
				return false, err
			}
			if len(info.State.Subjects) > 0 { // a subject is listed while it holds a message
				return false, nil
			}
			continue
		}
		if err != nil {
			return false, err
		}
		if info := c.CachedInfo(); info.NumPending > 0 || info.NumAckPending > 0 {
			return false, nil
		}
	}
	return true, nil
}

// Orphans returns how many messages the stream holds that no consumer will
// deliver: all of them once the queue is idle (see drained). It asks the
// broker; -1 when it cannot tell.
func (w *Queue) Orphans(ctx context.Context) int64 {
	idle, err := w.queueIdle(ctx)
	if err != nil || !idle {
		return -1
	}
	info, err := w.stream.Info(ctx)
	if err != nil {
		return -1
	}
	return int64(info.State.Msgs)
}
