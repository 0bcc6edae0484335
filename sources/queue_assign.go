package sources

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"sluice/natsq"
)

// Which worker works which partition. A partition's work is its hosts',
// and hosts hash unevenly into partitions: over 48 hosts, equal counts of
// partitions left the busiest of 4 workers 1.67x its share of the records,
// and the run ends with it (BENCHMARKS.md). So the leader, the member with
// the smallest id, weighs each partition by the messages it holds when
// the membership changes, assigns them heaviest first to the least loaded
// worker, and writes that to the bucket with the members it was made for.
// Every worker follows it while it sees those members. The leases still
// decide who pulls: an assignment only says which leases to try for.

// assignKey is the bucket's key of the assignment: the members' ids
// comma-separated, a newline, and each partition's owner comma-separated.
const assignKey = "assign"

// assignment returns each partition's owner for members. A worker that is
// not the leader and finds no assignment for the members it sees gets nil:
// it keeps what it holds and takes nothing new until the leader has made
// one. The leader writes its assignment again at every call, since the
// bucket's keys lapse after the lease time.
func (w *Queue) assignment(ctx context.Context, members []string) []string {
	sorted := slices.Sorted(slices.Values(members))
	set := strings.Join(sorted, ",")
	if sorted[0] != w.id {
		e, err := w.kv.Get(ctx, assignKey)
		if err != nil {
			if !errors.Is(err, jetstream.ErrKeyNotFound) {
				w.brokerErr("read the assignment", err)
			}
			return nil
		}
		return parseAssignment(e.Value(), set, w.parts)
	}
	if w.assigned == nil || w.assignedTo != set {
		w.assigned, w.assignedTo = weighted(w.parts, sorted, w.weights(ctx)), set
	}
	_, err := w.kv.Put(ctx, assignKey, []byte(set+"\n"+strings.Join(w.assigned, ",")))
	w.brokerErr("write the assignment", err)
	return w.assigned
}

// parseAssignment reads an assignment; nil when it was made for other
// members than set, or is not one.
func parseAssignment(v []byte, set string, parts int) []string {
	members, owners, ok := bytes.Cut(v, []byte("\n"))
	if !ok || string(members) != set {
		return nil
	}
	own := strings.Split(string(owners), ",")
	if len(own) != parts {
		return nil
	}
	return own
}

// weights are the messages each partition holds, delivered or not; nil
// when the broker cannot say.
func (w *Queue) weights(ctx context.Context) []uint64 {
	out := make([]uint64, w.parts)
	for p := range w.parts {
		c, err := w.js.CreateOrUpdateConsumer(ctx, w.q.Stream, natsq.ConsumerConfig(w.q, p))
		if err != nil {
			w.brokerErr("weigh partitions", err)
			return nil
		}
		info := c.CachedInfo()
		out[p] = info.NumPending + uint64(max(info.NumAckPending, 0))
	}
	return out
}

// weighted assigns partitions to members (sorted), heaviest first, each to
// the member with the least weight so far (then the fewest partitions,
// then the best rendezvous score), none above 1.5x its share of
// partitions. Without weights it spreads them by count.
func weighted(parts int, members []string, weight []uint64) []string {
	if weight == nil {
		weight = make([]uint64, parts)
	}
	order := make([]int, parts)
	for p := range order {
		order[p] = p
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(weight[b], weight[a]) })
	n := len(members)
	most := max((3*parts+2*n-1)/(2*n), (parts+n-1)/n) // 1.5x the share, rounded up
	load := make(map[string]uint64, n)
	count := make(map[string]int, n)
	out := make([]string, parts)
	for _, p := range order {
		best := ""
		for _, id := range members {
			if count[id] >= most {
				continue
			}
			if best == "" || cmp.Or(cmp.Compare(load[id], load[best]), cmp.Compare(count[id], count[best]),
				cmp.Compare(score(best, p), score(id, p))) < 0 {
				best = id
			}
		}
		out[p] = best
		load[best] += weight[p]
		count[best]++
	}
	return out
}
