package sources

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// rebalance renews the membership and held leases, takes the partitions
// this worker owns and releases those it no longer owns. It runs on the
// coordinator goroutine.
func (w *Queue) rebalance(intake context.Context, out chan<- any, stopping bool) {
	ctx, cancel := w.call()
	defer cancel()
	if _, err := w.kv.Put(ctx, "w."+w.id, nil); err != nil {
		w.brokerErr("renew membership", err)
		return // the broker is away: leases are kept until they fail to renew
	}
	own := w.assignment(ctx, w.members(ctx))
	for p := range w.parts {
		l := w.held[p]
		key := "p." + strconv.Itoa(p)
		// Without an assignment for the members it sees, a worker keeps
		// what it holds and waits for the leader's.
		mine := !stopping && (own == nil && l != nil || own != nil && own[p] == w.id)
		switch {
		case l == nil && mine:
			rev, err := w.kv.Create(ctx, key, []byte(w.id))
			if err == nil {
				w.pull(intake, p, rev, out)
			} else if !errors.Is(err, jetstream.ErrKeyExists) { // held by another: expected until it lets go
				w.brokerErr("take lease "+key, err)
			}
		case l == nil:
		case (l.releasing || l.failed.Load()) && closed(l.pulling) && l.inflight.Load() == 0:
			// Deleted at the revision held, or left to lapse when that fails.
			w.brokerErr("release lease "+key, w.kv.Delete(ctx, key, jetstream.LastRevision(l.rev)))
			delete(w.held, p)
			w.counts.released.Add(1)
			w.counts.setPending(p, -1)
		default:
			rev, err := w.kv.Update(ctx, key, []byte(w.id), l.rev)
			switch {
			case err == nil:
				l.rev = rev
				l.renewed.Store(time.Now().UnixNano())
			case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyExists):
				// Lost: it lapsed while this worker could not renew, and may
				// be another's now. Stop pulling; what is in flight is
				// settled as usual.
				w.brokerErr("renew lease "+key, err)
				l.lost.Store(true)
				l.cancel()
				delete(w.held, p)
				w.counts.lost.Add(1)
				w.counts.setPending(p, -1)
				continue
			default:
				w.brokerErr("renew lease "+key, err)
			}
			if !mine && !l.releasing {
				l.releasing = true
				l.cancel()
			}
		}
	}
}

// joinWait is how long a worker that has just said it is there waits
// before it takes partitions: workers started together then see each
// other at their first rebalance, instead of the first one taking every
// partition and handing most of them over again.
const joinWait = 200 * time.Millisecond

// join says this worker is there, and gives others started with it the
// time to say so too.
func (w *Queue) join(ctx context.Context) {
	cctx, cancel := w.call()
	_, err := w.kv.Put(cctx, "w."+w.id, nil)
	cancel()
	w.brokerErr("join", err)
	sleep(ctx, min(joinWait, w.q.Lease/4))
}

// members lists the live workers, this one included.
func (w *Queue) members(ctx context.Context) []string {
	ids := []string{w.id}
	keys, err := w.kv.ListKeys(ctx)
	if err != nil {
		w.brokerErr("list workers", err)
		return ids
	}
	for k := range keys.Keys() {
		if id, ok := strings.CutPrefix(k, "w."); ok && id != w.id {
			ids = append(ids, id)
		}
	}
	return ids
}

// score is a worker's claim on partition p, which breaks ties in
// weighted: FNV-1a 64 of "id/p", mixed by the finalizer of MurmurHash3.
// FNV alone will not do: its last bytes barely reach the high bits, so
// the worker whose id scored highest won every partition (when it was
// the whole assignment, a rendezvous hash).
func score(id string, p int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", id, p)
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// leave gives up the leases and the membership.
func (w *Queue) leave() {
	ctx, cancel := w.call()
	defer cancel()
	for p, l := range w.held {
		l.cancel()
		key := "p." + strconv.Itoa(p)
		w.brokerErr("release lease "+key, w.kv.Delete(ctx, key, jetstream.LastRevision(l.rev)))
		delete(w.held, p)
	}
	w.brokerErr("leave", w.kv.Delete(ctx, "w."+w.id))
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
