package metrics

import (
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Other is the host label of the hosts that have none of their own.
const Other = "other"

// busiest keeps a host label for the n busiest hosts (--metrics-hosts).
// Attempts are counted per host in a table of at most limit candidates;
// when it is full, the less busy half of the unlabelled ones is dropped,
// so a host has to keep coming to be seen as busy. A host gets a label
// while fewer than n have one, or once it has made more than twice the
// attempts of the least busy labelled host, which then goes back to
// "other" with its counts: the series stay at most n+1 per outcome, and
// their sum is every attempt.
type busiest struct {
	mu       sync.Mutex
	n, limit int
	vec      *prometheus.CounterVec
	counts   map[string]int64           // attempts by candidate host
	labelled map[string]map[string]bool // host -> the outcomes it has series for
	least    int64                      // at most the fewest attempts of a labelled host
}

func newBusiest(n int, vec *prometheus.CounterVec) *busiest {
	return &busiest{n: n, limit: max(64*n, 4096), vec: vec, counts: map[string]int64{}, labelled: map[string]map[string]bool{}}
}

// count counts an attempt of host with outcome.
func (b *busiest) count(host, outcome string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, known := b.counts[host]
	if !known && len(b.counts) >= b.limit {
		b.shrink()
	}
	c++
	b.counts[host] = c
	outs, ok := b.labelled[host]
	if !ok && (len(b.labelled) < b.n || c > 2*b.least && b.makeRoom(c)) {
		outs, ok = map[string]bool{}, true
		b.labelled[host] = outs
	}
	if !ok {
		host = Other
	} else {
		outs[outcome] = true
	}
	b.vec.WithLabelValues(host, outcome).Inc()
}

// makeRoom demotes the least busy labelled host when a host with c
// attempts has more than twice its attempts, and reports whether it did.
func (b *busiest) makeRoom(c int64) bool {
	var least string
	for h := range b.labelled {
		if least == "" || b.counts[h] < b.counts[least] {
			least = h
		}
	}
	b.least = b.counts[least]
	if c <= 2*b.least {
		return false
	}
	for o := range b.labelled[least] {
		var m dto.Metric
		if b.vec.WithLabelValues(least, o).Write(&m) == nil {
			b.vec.WithLabelValues(Other, o).Add(m.GetCounter().GetValue())
		}
		b.vec.DeleteLabelValues(least, o)
	}
	delete(b.labelled, least)
	return true
}

// shrink drops the less busy half of the unlabelled candidates.
func (b *busiest) shrink() {
	var cs []int64
	for h, c := range b.counts {
		if b.labelled[h] == nil {
			cs = append(cs, c)
		}
	}
	slices.Sort(cs)
	if len(cs) == 0 {
		return
	}
	median := cs[len(cs)/2]
	for h, c := range b.counts {
		if b.labelled[h] == nil && c <= median {
			delete(b.counts, h)
		}
	}
}
