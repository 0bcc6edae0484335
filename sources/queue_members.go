package sources

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

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
	members := w.members(ctx)
	for p := range w.parts {
		l := w.held[p]
		key := "p." + strconv.Itoa(p)
		mine := !stopping && owner(p, members) == w.id
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
			case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyExists):
				// Lost: it lapsed while this worker could not renew, and may
				// be another's now. Stop pulling; what is in flight is
				// settled as usual.
				w.brokerErr("renew lease "+key, err)
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
