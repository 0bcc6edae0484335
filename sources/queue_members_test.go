package sources

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// Partitions are spread evenly over the workers, whatever their ids, and
// every worker computes the same owners from the same members in any
// order. A worker joining moves about its share, not everything. (The
// rendezvous hash on FNV-1a alone gave one worker every partition.)
func TestOwners(t *testing.T) {
	moved, joins := 0, 0
	for set := range 200 {
		for _, n := range []int{1, 2, 3, 4, 5, 8, 16, 20} {
			var members []string
			for i := range n {
				members = append(members, fmt.Sprintf("%012x", uint64(set*1000+i)*0x9e3779b97f4a7c15>>16))
			}
			got := owners(16, members)
			per := map[string]int{}
			for _, o := range got {
				per[o]++
			}
			limit := (16 + n - 1) / n // the share rounded up
			for id, k := range per {
				if k > limit {
					t.Fatalf("set %d, %d workers: %s owns %d partitions; at most %d", set, n, id, k, limit)
				}
			}
			if len(per) != min(n, 16) {
				t.Fatalf("set %d, %d workers: %d of them own partitions", set, n, len(per))
			}
			reversed := slices.Clone(members)
			slices.Reverse(reversed)
			if !slices.Equal(got, owners(16, reversed)) {
				t.Fatalf("set %d, %d workers: the owners depend on the members' order", set, n)
			}
			if n == 4 {
				after := owners(16, append(members, "newcomer0000"))
				for p := range after {
					if after[p] != got[p] {
						moved++
					}
				}
				joins++
			}
		}
	}
	// A fifth worker's share is 16/5 = 3.2 partitions; keeping every share
	// even moves about one more.
	if avg := float64(moved) / float64(joins); avg > 6 {
		t.Errorf("a fifth worker joining moves %.1f partitions on average; want about its share (3.2)", avg)
	} else {
		t.Logf("a fifth worker joining moves %.1f of 16 partitions on average", avg)
	}
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
