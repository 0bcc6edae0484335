package stages

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
)

// seenSet is the set of URLs a crawl has admitted: 128-bit fingerprints
// (the first 16 bytes of the SHA-256 of the URL as serialized) in one
// open-addressing table, 16 bytes a slot, grown by half when seven eighths
// full, so 18 to 28 bytes a URL. Two URLs share a fingerprint with a
// probability of about n²/2¹²⁹: 10⁻²⁵ for ten million URLs, so the set is
// exact in practice, unlike a Bloom filter's false positives, which would
// leave pages out of a crawl. Not safe for concurrent use: the frontier's
// goroutine owns it.
type seenSet struct {
	slots [][2]uint64 // {0, 0}: empty
	n     int
}

// add puts url in the set and reports whether it was not there before.
func (s *seenSet) add(url string) bool {
	sum := sha256.Sum256([]byte(url))
	fp := [2]uint64{binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])}
	if fp == ([2]uint64{}) {
		fp[0] = 1 // the empty slot's value: a one in 2¹²⁸ fingerprint moves aside
	}
	if 8*(s.n+1) > 7*len(s.slots) {
		s.grow()
	}
	if !s.insert(fp) {
		return false
	}
	s.n++
	return true
}

// insert puts fp in its slot, or finds it there (false): linear probing
// from the slot fp[0] maps to, scaled to the table's size (which is not a
// power of two).
func (s *seenSet) insert(fp [2]uint64) bool {
	n := uint64(len(s.slots))
	i, _ := bits.Mul64(fp[0], n)
	for {
		switch s.slots[i] {
		case fp:
			return false
		case [2]uint64{}:
			s.slots[i] = fp
			return true
		}
		if i++; i == n {
			i = 0
		}
	}
}

func (s *seenSet) grow() {
	old := s.slots
	s.slots = make([][2]uint64, max(1024, len(old)+len(old)/2))
	for _, fp := range old {
		if fp != ([2]uint64{}) {
			s.insert(fp)
		}
	}
}

// len is how many URLs the set holds.
func (s *seenSet) len() int { return s.n }
