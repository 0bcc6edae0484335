package crawl

import (
	"bufio"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"os"
	"slices"
)

// seenSet is the set of URLs a crawl has admitted, as 128-bit fingerprints
// (the first 16 bytes of the SHA-256 of the URL as serialized). Two URLs
// share a fingerprint with a probability of about n²/2¹²⁹: 10⁻²⁵ for ten
// million URLs, so the set is exact in practice, unlike a Bloom filter's
// false positives alone, which would leave pages out of a crawl.
//
// The newest fingerprints, up to memMax, are in an open-addressing table in
// memory (16 bytes a slot, 18 to 28 bytes a URL). When it is full they are
// sorted and written to a run file in dir, and the table starts again. Runs
// are merged two by two like a binary counter, so there are at most
// log₂(n/memMax)+1 of them and each fingerprint is rewritten that many
// times at most. Of a run, memory keeps a Bloom filter (10 bits a
// fingerprint: about 1% false positives) and the first fingerprint of each
// 4 KiB block: 1.3 bytes a URL. A fingerprint a run's filter lets through
// costs one read of a block, from the page cache when the machine has room.
// So ten million URLs take some 13 MiB of memory, not 250.
//
// A run that cannot be written leaves its fingerprints in the table, which
// then grows without bound (noDisk), so the set stays exact; a block that
// cannot be read counts as not holding the URL (a page fetched twice is
// better than one left out). Either error is kept for err. Not safe for
// concurrent use: the frontier's goroutine owns it.
type seenSet struct {
	dir    string
	memMax int // 0: no bound, no disk

	table  fpTable
	runs   []*seenRun // oldest, and largest, first
	n      int
	noDisk bool
	block  []byte
	err    error // the first disk error; see above
}

// DefaultMemSeen is how many URLs the seen set holds in memory before the
// rest go to disk: 131,072, about 3 MiB.
const DefaultMemSeen = 1 << 17

func newSeenSet(dir string, memMax int) seenSet { return seenSet{dir: dir, memMax: memMax} }

type fp = [2]uint64

func fingerprint(url string) fp {
	sum := sha256.Sum256([]byte(url))
	f := fp{binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])}
	if f == (fp{}) {
		f[0] = 1 // the empty slot's value: a one in 2¹²⁸ fingerprint moves aside
	}
	return f
}

func fpCompare(a, b fp) int {
	if c := cmp.Compare(a[0], b[0]); c != 0 {
		return c
	}
	return cmp.Compare(a[1], b[1])
}

// add puts url in the set and reports whether it was not there before.
func (s *seenSet) add(url string) bool {
	f := fingerprint(url)
	if len(s.runs) > 0 {
		if s.table.has(f) {
			return false
		}
		for _, r := range s.runs {
			if r.has(f, s) {
				return false
			}
		}
	}
	if !s.table.insert(f) {
		return false
	}
	s.n++
	if s.memMax > 0 && !s.noDisk && s.table.n >= s.memMax {
		s.flush()
	}
	return true
}

// len is how many URLs the set holds.
func (s *seenSet) len() int { return s.n }

// flush writes the table as a new run and merges runs of no more than its
// size into it.
func (s *seenSet) flush() {
	sorted := s.table.sorted()
	r, err := s.write(len(sorted), func(yield func(fp) error) error {
		for _, f := range sorted {
			if err := yield(f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.table.rehash() // sorted() moved them: put them back where add looks
		s.noDisk, s.err = true, err
		return
	}
	s.table.reset()
	s.runs = append(s.runs, r)
	for k := len(s.runs); k >= 2 && s.runs[k-2].n <= s.runs[k-1].n; k = len(s.runs) {
		a, b := s.runs[k-2], s.runs[k-1]
		m, err := s.merge(a, b)
		if err != nil {
			s.err = err // both runs stay as they are
			return
		}
		a.f.Close()
		b.f.Close()
		s.runs = append(s.runs[:k-2], m)
	}
}

// merge writes a and b's fingerprints, in order, as one run.
func (s *seenSet) merge(a, b *seenRun) (*seenRun, error) {
	ra := bufio.NewReaderSize(io.NewSectionReader(a.f, 0, int64(a.n)*16), 64<<10)
	rb := bufio.NewReaderSize(io.NewSectionReader(b.f, 0, int64(b.n)*16), 64<<10)
	return s.write(a.n+b.n, func(yield func(fp) error) error {
		fa, okA, err := readFP(ra)
		if err != nil {
			return err
		}
		fb, okB, err := readFP(rb)
		if err != nil {
			return err
		}
		for okA || okB {
			if okA && (!okB || fpCompare(fa, fb) < 0) {
				if err := yield(fa); err != nil {
					return err
				}
				fa, okA, err = readFP(ra)
			} else {
				if err := yield(fb); err != nil {
					return err
				}
				fb, okB, err = readFP(rb)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func readFP(r *bufio.Reader) (fp, bool, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err == io.EOF {
		return fp{}, false, nil
	} else if err != nil {
		return fp{}, false, fmt.Errorf("crawl seen set: %w", err)
	}
	return fp{binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])}, true, nil
}

// runBlock is how many fingerprints a run's block holds: 4 KiB.
const runBlock = 256

// seenRun is a sorted file of fingerprints, unlinked once made (nothing is
// left behind, even by a kill), with its Bloom filter and block index.
type seenRun struct {
	f     *os.File
	n     int
	bloom []uint64
	first []fp // the first fingerprint of each block
}

// write makes a run of n fingerprints, given in order by each.
func (s *seenSet) write(n int, each func(yield func(fp) error) error) (*seenRun, error) {
	f, err := os.CreateTemp(s.dir, "sluice-seen-*")
	if err != nil {
		return nil, fmt.Errorf("crawl seen set: %w", err)
	}
	os.Remove(f.Name())
	r := &seenRun{f: f, bloom: make([]uint64, (10*n+63)/64), first: make([]fp, 0, (n+runBlock-1)/runBlock)}
	w := bufio.NewWriterSize(f, 64<<10)
	var b [16]byte
	err = each(func(x fp) error {
		if r.n%runBlock == 0 {
			r.first = append(r.first, x)
		}
		r.n++
		r.mark(x)
		binary.LittleEndian.PutUint64(b[:8], x[0])
		binary.LittleEndian.PutUint64(b[8:], x[1])
		_, err := w.Write(b[:])
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("crawl seen set: %w", err)
	}
	return r, nil
}

// The filter's seven bits of a fingerprint come from its second word (the
// table's slot comes from the first), by double hashing.
func (r *seenRun) probes(x fp, each func(bit uint64) bool) bool {
	m := uint64(len(r.bloom)) * 64
	h1, h2 := x[1]&0xffffffff, x[1]>>32|1
	for i := range uint64(7) {
		if !each((h1 + i*h2) % m) {
			return false
		}
	}
	return true
}

func (r *seenRun) mark(x fp) {
	r.probes(x, func(bit uint64) bool { r.bloom[bit/64] |= 1 << (bit % 64); return true })
}

// has reports whether the run holds x, reading one block when its filter
// does not rule x out.
func (r *seenRun) has(x fp, s *seenSet) bool {
	if !r.probes(x, func(bit uint64) bool { return r.bloom[bit/64]&(1<<(bit%64)) != 0 }) {
		return false
	}
	i, found := slices.BinarySearchFunc(r.first, x, fpCompare)
	if found {
		return true
	}
	if i == 0 {
		return false
	}
	i-- // the block whose first fingerprint is the last one before x
	k := min(runBlock, r.n-i*runBlock)
	if cap(s.block) < 16*runBlock {
		s.block = make([]byte, 16*runBlock)
	}
	b := s.block[:16*k]
	if _, err := r.f.ReadAt(b, int64(i)*16*runBlock); err != nil {
		if s.err == nil {
			s.err = fmt.Errorf("crawl seen set: %w", err)
		}
		return false
	}
	lo, hi := 0, k
	for lo < hi {
		mid := (lo + hi) / 2
		y := fp{binary.LittleEndian.Uint64(b[16*mid:]), binary.LittleEndian.Uint64(b[16*mid+8:])}
		switch fpCompare(y, x) {
		case 0:
			return true
		case -1:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return false
}

// close closes the runs' files (already unlinked).
func (s *seenSet) close() {
	for _, r := range s.runs {
		r.f.Close()
	}
	s.runs = nil
}

// fpTable is an open-addressing set of fingerprints, grown by half when
// seven eighths full.
type fpTable struct {
	slots []fp // {0, 0}: empty
	n     int
}

// insert puts x in its slot, or finds it there (false): linear probing
// from the slot x[0] maps to, scaled to the table's size (which is not a
// power of two).
func (t *fpTable) insert(x fp) bool {
	if 8*(t.n+1) > 7*len(t.slots) {
		t.grow()
	}
	if !t.put(x) {
		return false
	}
	t.n++
	return true
}

func (t *fpTable) put(x fp) bool {
	i, found := t.slot(x)
	if !found {
		t.slots[i] = x
	}
	return !found
}

func (t *fpTable) has(x fp) bool {
	if len(t.slots) == 0 {
		return false
	}
	_, found := t.slot(x)
	return found
}

// slot is where x is (found), or the empty slot where it would go.
func (t *fpTable) slot(x fp) (i uint64, found bool) {
	n := uint64(len(t.slots))
	i, _ = bits.Mul64(x[0], n)
	for {
		switch t.slots[i] {
		case x:
			return i, true
		case fp{}:
			return i, false
		}
		if i++; i == n {
			i = 0
		}
	}
}

func (t *fpTable) grow() {
	old := t.slots
	t.slots = make([]fp, max(1024, len(old)+len(old)/2))
	for _, x := range old {
		if x != (fp{}) {
			t.put(x)
		}
	}
}

// sorted moves the fingerprints to the front of the slots, in order, and
// returns them there: the table is not usable until reset or rehash.
func (t *fpTable) sorted() []fp {
	k := 0
	for _, x := range t.slots {
		if x != (fp{}) {
			t.slots[k] = x
			k++
		}
	}
	clear(t.slots[k:])
	slices.SortFunc(t.slots[:k], fpCompare)
	return t.slots[:k]
}

// reset empties the table, keeping its slots.
func (t *fpTable) reset() {
	clear(t.slots)
	t.n = 0
}

// rehash puts back the fingerprints sorted moved to the front.
func (t *fpTable) rehash() {
	moved := slices.Clone(t.slots[:t.n])
	clear(t.slots)
	for _, x := range moved {
		t.put(x)
	}
}
