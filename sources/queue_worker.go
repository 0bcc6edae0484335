package sources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reugn/go-streams"

	"sluice/record"
	"sluice/stages"
)

// Queue is a streams.Source of records from a JetStream work queue shared
// by any number of workers (see the scheme above Partition).
//
// Partitions: every worker keeps a key w.<id> alive in the lease bucket.
// From the live workers, each partition's owner is chosen by rendezvous
// hashing, so a worker joining or leaving moves few partitions. A worker
// works a partition only while it holds its lease p.<n> (made with
// Create, renewed with Update at the revision it holds, so two workers can
// never both hold it). A partition it should no longer own is released
// only once every message it pulled from it is settled, so two workers
// never send to the same host at once. A dead worker's leases lapse after
// QueueURL.Lease, and its un-acked messages come back after AckWait.
//
// Backpressure: a worker holds at most window un-acked messages; it pulls
// only as many as it has room for. A message is acked when the sink has
// durably taken its output record (Record.Settle), and handed back (nak)
// when its record was canceled. Held messages get InProgress every
// AckWait/3, so waiting for a rate limit or a retry does not redeliver them.
type Queue struct {
	q        QueueURL
	js       jetstream.JetStream
	stream   jetstream.Stream
	kv       jetstream.KeyValue
	parts    int
	id       string
	urlField string
	stop     context.CancelFunc // ends intake: no pulls after it
	idleFrom time.Time          // when the queue was first seen empty, for QueueURL.Idle

	stages.Outlet // Out and Via: the worker starts when connected

	room       chan struct{}   // a token per message the window has room for
	acks       chan settlement // to the ackers
	ackersDone sync.WaitGroup

	held map[int]*lease // owned by the coordinator goroutine

	mu     sync.Mutex
	unsett map[*held]struct{} // pulled, not settled

	n        atomic.Int64
	bytes    atomic.Int64
	pullers  sync.WaitGroup
	stopped  chan struct{} // the coordinator has ended
	closeReq chan struct{}
}

type lease struct {
	rev       uint64
	cancel    context.CancelFunc // stops the puller
	pulling   chan struct{}      // closed when the puller has ended
	inflight  atomic.Int64       // pulled, not settled
	failed    atomic.Bool        // the puller could not start
	releasing bool
}

type held struct {
	msg jetstream.Msg
	l   *lease
}

var _ streams.Source = (*Queue)(nil)

// NewQueue joins the queue q as a worker. Pulling stops when ctx is done;
// the records then in the pipeline are still settled, and Close gives up
// the worker's leases.
func NewQueue(ctx context.Context, js jetstream.JetStream, q QueueURL, window int, urlField string) (*Queue, error) {
	stream, parts, err := EnsureQueue(ctx, js, q)
	if err != nil {
		return nil, err
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: LeaseBucket(q.Stream), TTL: q.Lease, History: 1, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("lease bucket: %w", err)
	}
	if urlField == "" {
		urlField = "url"
	}
	ctx, stop := context.WithCancel(ctx)
	w := &Queue{
		q: q, js: js, stream: stream, kv: kv, parts: parts, id: newID(), urlField: urlField, stop: stop,
		room:     make(chan struct{}, window),
		acks:     make(chan settlement, window),
		held:     map[int]*lease{},
		unsett:   map[*held]struct{}{},
		stopped:  make(chan struct{}),
		closeReq: make(chan struct{}),
	}
	for range window {
		w.room <- struct{}{}
	}
	w.Start = func(out chan<- any) { w.start(ctx, out) }
	return w, nil
}

// Count returns how many messages have been sent downstream as records.
func (w *Queue) Count() int64 { return w.n.Load() }

// BytesRead returns how many message bytes have been read.
func (w *Queue) BytesRead() int64 { return w.bytes.Load() }

// Unsettled returns how many pulled messages are not yet acked or handed back.
func (w *Queue) Unsettled() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.unsett)
}

// Err is nil: a queue worker does not end on its own; broker trouble is
// waited out (the client reconnects).
func (w *Queue) Err() error { return nil }

func (w *Queue) start(intake context.Context, out chan<- any) {
	for range ackers {
		w.ackersDone.Add(1)
		go w.settle()
	}
	go w.coordinate(intake, out)
}

// Close ends the worker once the pipeline has drained: it stops renewing
// and gives up its leases and its membership, so the others take over at
// once rather than after the lease time.
func (w *Queue) Close() {
	defer w.stop()
	select {
	case <-w.closeReq:
	default:
		close(w.closeReq)
	}
	if !w.Started() {
		close(w.stopped)
	}
	<-w.stopped
}

// coordinate keeps the membership and leases; it closes out once intake has
// stopped and every puller has ended, and returns after Close.
func (w *Queue) coordinate(ctx context.Context, out chan<- any) {
	defer close(w.stopped)
	tick := time.NewTicker(w.q.Lease / 4)
	defer tick.Stop()
	beat := time.NewTicker(w.q.AckWait / 3)
	defer beat.Stop()
	intake := ctx.Done()
	w.rebalance(ctx, out, false)
	for {
		select {
		case <-tick.C:
			w.rebalance(ctx, out, intake == nil)
			if intake != nil && w.q.Idle > 0 && w.drained() {
				w.stop() // the queue is done: end like the end of input
			}
		case <-beat.C:
			w.inProgress()
		case <-intake:
			intake = nil
			for _, l := range w.held {
				l.cancel()
			}
			go func() {
				w.pullers.Wait()
				close(out)
			}()
		case <-w.closeReq:
			close(w.acks) // the pipeline has drained: nothing more to settle
			w.ackersDone.Wait()
			w.leave()
			w.stop()
			return
		}
	}
}

// drained reports whether the whole queue (every partition, every worker's
// share) has had no message and this worker nothing in hand for
// QueueURL.Idle. With work-queue retention a message leaves the stream
// only when acked, so an empty stream means every record is done.
func (w *Queue) drained() bool {
	ctx, cancel := w.kvctx()
	defer cancel()
	info, err := w.stream.Info(ctx)
	if err != nil || info.State.Msgs > 0 || w.Unsettled() > 0 {
		w.idleFrom = time.Time{}
		return false
	}
	if w.idleFrom.IsZero() {
		w.idleFrom = time.Now()
	}
	return time.Since(w.idleFrom) >= w.q.Idle
}

// kvctx bounds one call to the broker.
func (w *Queue) kvctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), w.q.Lease/4)
}

// rebalance renews the membership and held leases, takes the partitions
// this worker owns and releases those it no longer owns.
func (w *Queue) rebalance(intake context.Context, out chan<- any, stopping bool) {
	ctx, cancel := w.kvctx()
	defer cancel()
	if _, err := w.kv.Put(ctx, "w."+w.id, nil); err != nil {
		return // the broker is away: leases are kept until they fail to renew
	}
	members := w.members(ctx)
	for p := range w.parts {
		l := w.held[p]
		key := "p." + strconv.Itoa(p)
		mine := !stopping && owner(p, members) == w.id
		switch {
		case l == nil && mine:
			if rev, err := w.kv.Create(ctx, key, []byte(w.id)); err == nil {
				w.pull(intake, p, rev, out)
			}
		case l == nil:
		case (l.releasing || l.failed.Load()) && closed(l.pulling) && l.inflight.Load() == 0:
			w.kv.Delete(ctx, key, jetstream.LastRevision(l.rev))
			delete(w.held, p)
		default:
			rev, err := w.kv.Update(ctx, key, []byte(w.id), l.rev)
			switch {
			case err == nil:
				l.rev = rev
			case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyExists):
				// Lost: it lapsed while this worker could not renew, and may
				// be another's now. Stop pulling; what is in flight is
				// settled as usual.
				l.cancel()
				delete(w.held, p)
				continue
			}
			if !mine && !l.releasing {
				l.releasing = true
				l.cancel()
			}
		}
	}
}

// members lists the live workers, this one included.
func (w *Queue) members(ctx context.Context) []string {
	ids := []string{w.id}
	keys, err := w.kv.ListKeys(ctx)
	if err != nil {
		return ids
	}
	for k := range keys.Keys() {
		if id, ok := strings.CutPrefix(k, "w."); ok && id != w.id {
			ids = append(ids, id)
		}
	}
	return ids
}

// owner is partition p's worker among members: the highest hash of (worker,
// partition), so that a worker coming or going moves only its own share.
func owner(p int, members []string) string {
	var best string
	var top uint64
	for _, id := range members {
		h := fnv.New64a()
		fmt.Fprintf(h, "%s/%d", id, p)
		if v := h.Sum64(); best == "" || v > top {
			best, top = id, v
		}
	}
	return best
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// pull starts working partition p under the lease at rev.
func (w *Queue) pull(intake context.Context, p int, rev uint64, out chan<- any) {
	ctx, cancel := context.WithCancel(intake)
	l := &lease{rev: rev, cancel: cancel, pulling: make(chan struct{})}
	w.held[p] = l
	w.pullers.Add(1)
	go func() {
		defer w.pullers.Done()
		defer close(l.pulling)
		w.puller(ctx, p, l, out)
	}()
}

func (w *Queue) puller(ctx context.Context, p int, l *lease, out chan<- any) {
	cons, err := w.js.CreateOrUpdateConsumer(ctx, w.q.Stream, jetstream.ConsumerConfig{
		Durable:       w.q.Durable + "-" + strconv.Itoa(p),
		FilterSubject: w.q.Subject + "." + strconv.Itoa(p),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       w.q.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: -1,
	})
	if err != nil {
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
		got := 0
		if err == nil {
			for msg := range batch.Messages() {
				got++
				w.emit(ctx, msg, l, out)
			}
			err = batch.Error()
		}
		for range n - got {
			w.room <- struct{}{}
		}
		switch {
		case err != nil:
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

// takeRoom waits for room for one message, then takes what more there is,
// up to a batch; 0 when ctx ends first.
func (w *Queue) takeRoom(ctx context.Context) int {
	select {
	case <-w.room:
	case <-ctx.Done():
		return 0
	}
	n := 1
	for n < w.q.Batch {
		select {
		case <-w.room:
			n++
		default:
			return n
		}
	}
	return n
}

// emit sends the record of msg downstream, or hands msg back when intake
// has stopped.
func (w *Queue) emit(ctx context.Context, msg jetstream.Msg, l *lease, out chan<- any) {
	md, err := msg.Metadata()
	if err != nil {
		msg.Nak()
		w.room <- struct{}{}
		return
	}
	line := bytes.TrimSpace(msg.Data())
	r := record.Parse(int64(md.Sequence.Stream), line, w.urlField)
	r.MsgID = w.q.Stream + ":" + strconv.FormatUint(md.Sequence.Stream, 10)
	h := &held{msg: msg, l: l}
	w.mu.Lock()
	w.unsett[h] = struct{}{}
	w.mu.Unlock()
	l.inflight.Add(1)
	var settled atomic.Bool
	r.Settle = func(done bool) {
		if settled.CompareAndSwap(false, true) {
			w.acks <- settlement{h, done} // never blocks: it has room for the window
		}
	}
	select {
	case out <- r:
		w.n.Add(1)
		w.bytes.Add(int64(len(msg.Data())))
	case <-ctx.Done():
		r.Settle(false) // not started: back to the queue for another worker
	}
}

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

func (w *Queue) settleBatch(batch []settlement) {
	last := map[*lease]*held{} // the last ack of each partition, to be confirmed
	for _, s := range batch {
		switch {
		case !s.done:
			s.h.msg.Nak()
		case last[s.h.l] != nil:
			last[s.h.l].msg.Ack()
			last[s.h.l] = s.h
		default:
			last[s.h.l] = s.h
		}
	}
	for _, h := range last {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if h.msg.DoubleAck(ctx) != nil {
			// Not confirmed (the broker is away): these messages may come
			// back and their records be written again; with --out the
			// stream drops the copies.
			h.msg.Ack()
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
		m.InProgress()
	}
}

// leave gives up the leases and the membership.
func (w *Queue) leave() {
	ctx, cancel := w.kvctx()
	defer cancel()
	for p, l := range w.held {
		l.cancel()
		w.kv.Delete(ctx, "p."+strconv.Itoa(p), jetstream.LastRevision(l.rev))
		delete(w.held, p)
	}
	w.kv.Delete(ctx, "w."+w.id)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
