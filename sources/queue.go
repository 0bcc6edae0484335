package sources

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reugn/go-streams"

	"sluice/flow"
	"sluice/natsq"
	"sluice/record"
)

// Queue is a streams.Source of records from a JetStream work queue shared
// by any number of workers (the scheme is natsq's). Its work is split by
// concern over four files:
//
//   - queue_members.go: membership and partition ownership. Every worker
//     keeps a key w.<id> alive in the lease bucket; each partition's owner
//     among the live workers is chosen by rendezvous hashing, so a worker
//     joining or leaving moves few partitions, and each takes its even
//     share. A worker works a partition
//     only while it holds its lease p.<n> (made with Create, renewed with
//     Update at the revision it holds, so two workers never both hold it).
//     A partition it should no longer own is released only once every
//     message it pulled from it is settled, so two workers never send to
//     the same host at once. A dead worker's leases lapse after
//     QueueURL.Lease, and its un-acked messages come back after AckWait.
//   - queue_pull.go: pulling. A worker holds at most window un-acked
//     messages and pulls only as many as it has room for (backpressure),
//     and of those at most ahead that the pipeline has not taken yet: with
//     the schedule reading only while a fetch slot is free, a worker holds
//     what it can start soon, not a window's worth, and a partition it
//     gives up is settled promptly.
//   - queue_settle.go: settling. A message is acked when the sink has
//     durably taken its output record (Record.Settle), and handed back
//     (nak) when its record was canceled. Held messages get InProgress
//     every AckWait/3, so waiting for a rate limit or a retry does not
//     redeliver them.
//   - queue_idle.go: the end of a finite queue (QueueURL.Idle), judged on
//     the partition consumers' state, never on the stream being empty.
//
// Goroutines, all started when the source is connected (Via, To or Out):
//
//	coordinator  1           membership, leases, InProgress; closes the
//	                         output once intake stopped and every puller
//	                         ended; returns on Close
//	puller       1/partition pulls and sends records downstream; ends when
//	                         its partition is released or intake stops
//	acker        ackers      settles messages; ends when Close closes acks
//	closer       1           waits for the pullers, then closes the output
//
// Broker errors are waited out (the client reconnects); each is counted
// and the last kept for -v and --stats (BrokerErrors).
type Queue struct {
	q        natsq.QueueURL
	js       jetstream.JetStream
	stream   jetstream.Stream
	kv       jetstream.KeyValue
	parts    int
	id       string
	parser   record.Parser
	msgAcks  *flow.Acks         // the acknowledgements of the messages sent on, until the sink settles them
	crawl    *queueCrawl        // --follow: the queue is the crawl's frontier; nil otherwise
	stop     context.CancelFunc // ends intake: no pulls after it
	idleFrom time.Time          // when the queue was first seen idle, for QueueURL.Idle

	flow.Link

	room       chan struct{}   // a token per message the window has room for
	ahead      chan struct{}   // a token per message that may be pulled and not yet taken by the pipeline
	acks       chan settlement // to the ackers
	ackersDone sync.WaitGroup

	held map[int]*lease // owned by the coordinator goroutine

	// As leader, the assignment made (see assignment) and the members it
	// was made for; the coordinator goroutine's.
	assigned   []string
	assignedTo string

	mu     sync.Mutex
	unsett map[*held]struct{} // pulled, not settled

	n        atomic.Int64
	bytes    atomic.Int64
	counts   queueCounts
	pullers  sync.WaitGroup
	stopped  chan struct{} // the coordinator has ended
	closeReq chan struct{}

	errMu   sync.Mutex
	errs    int64
	lastErr error
}

// queueCounts are what --metrics shows of the queue.
type queueCounts struct {
	acked, handedBack, redelivered atomic.Int64
	taken, released, lost          atomic.Int64
	pendingMu                      sync.Mutex
	pending                        map[int]uint64 // by partition held: messages after the last one pulled
}

// QueueCounts are the counts of a worker's work on the queue.
type QueueCounts struct {
	Acked, HandedBack, Redelivered int64 // messages
	Taken, Released, Lost          int64 // partition leases
}

// Counts returns what the worker has done so far.
func (w *Queue) Counts() QueueCounts {
	c := &w.counts
	return QueueCounts{
		Acked: c.acked.Load(), HandedBack: c.handedBack.Load(), Redelivered: c.redelivered.Load(),
		Taken: c.taken.Load(), Released: c.released.Load(), Lost: c.lost.Load(),
	}
}

// Pending returns, for each partition the worker holds, the messages
// after the last one it pulled.
func (w *Queue) Pending() map[int]uint64 {
	c := &w.counts
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	return maps.Clone(c.pending)
}

// setPending keeps p's pending count, or forgets it (n < 0) when p is let go.
func (c *queueCounts) setPending(p int, n int64) {
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	if n < 0 {
		delete(c.pending, p)
		return
	}
	if c.pending == nil {
		c.pending = map[int]uint64{}
	}
	c.pending[p] = uint64(n)
}

type lease struct {
	rev       uint64
	cancel    context.CancelFunc // stops the puller
	pulling   chan struct{}      // closed when the puller has ended
	inflight  atomic.Int64       // pulled, not settled
	failed    atomic.Bool        // the puller could not start
	lost      atomic.Bool        // the lease lapsed while held: what is held from it is handed back, not sent
	renewed   atomic.Int64       // when the lease was last made or renewed (UnixNano)
	revoked   func() bool        // Record.Revoked of the messages pulled under it
	releasing bool
}

type held struct {
	msg jetstream.Msg
	l   *lease
}

var _ streams.Source = (*Queue)(nil)

// NewQueue joins the queue q as a worker: it makes the stream and the
// lease bucket when they are missing. Pulling stops when ctx is done; the
// records then in the pipeline are still settled, and Close gives up the
// worker's leases. Nothing runs until the source is connected.
func NewQueue(ctx context.Context, js jetstream.JetStream, q natsq.QueueURL, window, ahead int, parser record.Parser) (*Queue, error) {
	var stream jetstream.Stream
	var parts int
	err := natsq.Retry(ctx, func() (err error) {
		stream, parts, err = natsq.EnsureQueue(ctx, js, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	var kv jetstream.KeyValue
	err = natsq.Retry(ctx, func() (err error) {
		kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: natsq.LeaseBucket(q.Stream), TTL: q.Lease, History: 1, Storage: jetstream.FileStorage,
			Replicas: stream.CachedInfo().Config.Replicas, // as many copies as the queue's
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lease bucket: %w", err)
	}
	ctx, stop := context.WithCancel(ctx)
	w := &Queue{
		msgAcks: flow.NewAcks(),
		q:       q, js: js, stream: stream, kv: kv, parts: parts, id: newID(), parser: parser, stop: stop,
		room:     make(chan struct{}, window),
		ahead:    make(chan struct{}, ahead),
		acks:     make(chan settlement, window),
		held:     map[int]*lease{},
		unsett:   map[*held]struct{}{},
		stopped:  make(chan struct{}),
		closeReq: make(chan struct{}),
	}
	for range window {
		w.room <- struct{}{}
	}
	for range ahead {
		w.ahead <- struct{}{}
	}
	w.Start = func(out chan<- any) { w.start(ctx, out) }
	return w, nil
}

// newID is a worker's name in the lease bucket.
func newID() string {
	b := make([]byte, 6)
	rand.Read(b) // never fails (crypto/rand's contract since Go 1.24)
	return hex.EncodeToString(b)
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
// waited out (the client reconnects) and counted in BrokerErrors.
func (w *Queue) Err() error { return nil }

// BrokerErrors returns how many calls to the broker failed, and the last
// failure.
func (w *Queue) BrokerErrors() (int64, error) {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.errs, w.lastErr
}

// brokerErr counts a failed call to the broker; what failed is said in
// doing, e.g. "renew lease p.3".
func (w *Queue) brokerErr(doing string, err error) {
	if err == nil {
		return
	}
	w.errMu.Lock()
	w.errs++
	w.lastErr = fmt.Errorf("%s: %w", doing, err)
	w.errMu.Unlock()
}

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
	if w.crawl != nil {
		w.crawl.pages.Wait() // each ends within crawlWait, settling its page if the sink has: before the settling ends
	}
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
	w.join(ctx)
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

// call bounds one call to the broker.
func (w *Queue) call() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), w.q.Lease/4)
}

// Acks returns the acknowledgements of the messages the queue has sent
// on: the sink settles them (flow.Sink.Settle), the fetch stage asks them
// whether a message's lease is lost (schedule.FetchFlow).
func (w *Queue) Acks() *flow.Acks { return w.msgAcks }
