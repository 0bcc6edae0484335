package sources

import (
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// Without weights, partitions are spread evenly over the workers,
// whatever their ids. With weights (the messages each partition holds),
// the heaviest go first to the least loaded worker: over 48 hosts hashed
// into 16 partitions, as the server does, the busiest of 4 workers gets at
// most the average plus one partition's weight (where equal counts gave it
// up to 1.67x the average in bench/queue-scale.sh), and none holds more
// than 1.5x its share of partitions.
func TestWeighted(t *testing.T) {
	members := func(set, n int) []string {
		var ids []string
		for i := range n {
			ids = append(ids, fmt.Sprintf("%012x", uint64(set*1000+i)*0x9e3779b97f4a7c15>>16))
		}
		slices.Sort(ids)
		return ids
	}
	for set := range 200 {
		for _, n := range []int{1, 2, 3, 4, 5, 8, 16, 20} {
			per := map[string]int{}
			for _, o := range weighted(16, members(set, n), nil) {
				per[o]++
			}
			limit := (16 + n - 1) / n
			for id, k := range per {
				if k > limit {
					t.Fatalf("set %d, %d workers, no weights: %s owns %d partitions; at most %d", set, n, id, k, limit)
				}
			}
			if len(per) != min(n, 16) {
				t.Fatalf("set %d, %d workers, no weights: %d of them own partitions", set, n, len(per))
			}
		}
	}
	worst := 0.0
	for set := range 200 {
		weight := make([]uint64, 16)
		for h := range 48 {
			token := fmt.Sprintf("127_0_0_1:%d", 30000+set*48+h)
			f := fnv.New32a()
			f.Write([]byte(token))
			weight[f.Sum32()%16] += 250
		}
		ids := members(set, 4)
		got := weighted(16, ids, weight)
		load, count := map[string]uint64{}, map[string]int{}
		total, heaviest := uint64(0), uint64(0)
		for p, o := range got {
			load[o] += weight[p]
			count[o]++
			total += weight[p]
			heaviest = max(heaviest, weight[p])
		}
		top := slices.Max(slices.Collect(maps.Values(load)))
		if top > total/4+heaviest {
			t.Fatalf("set %d: the busiest worker has %d of %d messages; want at most %d", set, top, total, total/4+heaviest)
		}
		for id, k := range count {
			if k > 6 {
				t.Fatalf("set %d: %s holds %d of 16 partitions; want at most 6 (1.5x its share)", set, id, k)
			}
		}
		if !slices.Equal(got, weighted(16, ids, weight)) {
			t.Fatalf("set %d: two assignments from the same weights differ", set)
		}
		worst = max(worst, float64(top)/float64(total/4))
	}
	t.Logf("over 200 sets of 48 hosts, the busiest of 4 workers had at most %.2fx the average", worst)
}

// A lease's records are revoked once it is lost, or once it has gone
// unrenewed past the fence (the worker may have slept through its lapse),
// and not before; a renewal lifts the fence.
func TestLeaseFence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &lease{}
		l.renewed.Store(time.Now().UnixNano())
		revoked := l.fence(1500 * time.Millisecond)
		time.Sleep(1400 * time.Millisecond)
		if revoked() {
			t.Fatal("revoked within the fence")
		}
		time.Sleep(200 * time.Millisecond)
		if !revoked() {
			t.Fatal("not revoked past the fence")
		}
		l.renewed.Store(time.Now().UnixNano())
		if revoked() {
			t.Fatal("revoked right after a renewal")
		}
		l.lost.Store(true)
		if !revoked() {
			t.Fatal("not revoked once lost")
		}
	})
}
