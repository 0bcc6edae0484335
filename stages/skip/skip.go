package skip

import (
	"hash/maphash"

	"github.com/reugn/go-streams"

	"sluice/flow"
	"sluice/record"
)

// UniqueMax is how many distinct URLs --unique remembers: a URL repeated
// after more than this many others may be fetched again. It costs about 50
// bytes a URL (a 64-bit hash in a set and a ring), so some 50 MB at most.
const UniqueMax = 1_000_000

// Skipper marks the records that are neither fetched nor written: those a
// previous run finished (--resume) and repeats of a URL already seen
// (--unique; for a record that says what to send, of the same request:
// method, URL, headers, body and timeout). Marked records still flow, so every seq passes every stage.
// It is used by one goroutine.
type Skipper struct {
	finished *record.Finished // nil without --resume
	unique   *recentSet       // nil without --unique
}

// NewSkipper returns a Skipper; finished may be nil, unique is --unique.
func NewSkipper(finished *record.Finished, unique bool) *Skipper {
	s := &Skipper{finished: finished}
	if unique {
		s.unique = newRecentSet(UniqueMax)
	}
	return s
}

// Mark sets r.Skip when r is to be skipped.
func (s *Skipper) Mark(r *record.Record) {
	switch {
	case s.finished != nil && s.finished.Has(r.Seq):
		r.Skip = "resume"
	case s.unique != nil && r.Err == nil && !s.unique.add(r.Request.Key(r.URL)):
		r.Skip = "duplicate"
	}
}

// SkipFlow runs s.Mark on every record in order, on one goroutine.
func SkipFlow(s *Skipper) streams.Flow {
	return flow.NewPool(1, func(r *record.Record) bool {
		s.Mark(r)
		return true
	})
}

// recentSet remembers the last max distinct strings by 64-bit hash; the
// oldest is forgotten first.
type recentSet struct {
	seed maphash.Seed
	set  map[uint64]struct{}
	ring []uint64
	next int
	max  int
}

func newRecentSet(max int) *recentSet {
	return &recentSet{seed: maphash.MakeSeed(), set: map[uint64]struct{}{}, max: max}
}

// add reports whether s was new, remembering it.
func (rs *recentSet) add(s string) bool {
	h := maphash.String(rs.seed, s)
	if _, ok := rs.set[h]; ok {
		return false
	}
	if len(rs.ring) < rs.max {
		rs.ring = append(rs.ring, h)
	} else {
		delete(rs.set, rs.ring[rs.next])
		rs.ring[rs.next] = h
		rs.next = (rs.next + 1) % rs.max
	}
	rs.set[h] = struct{}{}
	return true
}
