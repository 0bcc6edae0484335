package report

import (
	"cmp"
	"slices"
)

// hostLimit is how many hosts the report keeps figures for.
const hostLimit = 10000

// hostTable keeps each host's figures, for at most limit hosts: when it is
// full, a new host makes it drop the half with the fewest records, so the
// hosts kept are the busiest (their counts since they were last added),
// and Approximate says some were dropped.
type hostTable struct {
	m           map[string]*hostFigures
	limit       int
	approximate bool
}

type hostFigures struct {
	records, failed int64
	sumMs, maxMs    float64
}

func newHostTable(limit int) *hostTable {
	return &hostTable{m: map[string]*hostFigures{}, limit: limit}
}

func (t *hostTable) add(host []byte, ms float64, failed bool) {
	f := t.m[string(host)]
	if f == nil {
		if len(t.m) >= t.limit {
			t.halve()
		}
		f = &hostFigures{}
		t.m[string(host)] = f
	}
	f.records++
	f.sumMs += ms
	f.maxMs = max(f.maxMs, ms)
	if failed {
		f.failed++
	}
}

// halve drops the hosts with the fewest records, half of them at least.
func (t *hostTable) halve() {
	rs := make([]int64, 0, len(t.m))
	for _, f := range t.m {
		rs = append(rs, f.records)
	}
	slices.Sort(rs)
	median := rs[len(rs)/2]
	for h, f := range t.m {
		if f.records <= median {
			delete(t.m, h)
		}
	}
	t.approximate = true
}

// HostRow is one host's line in a table of hosts.
type HostRow struct {
	Host    string  `json:"host"`
	Records int64   `json:"records"`
	Failed  int64   `json:"failed"`
	MeanMs  float64 `json:"mean_ms"`
	MaxMs   float64 `json:"max_ms"`
}

// top returns the n hosts first by less, most first.
func (t *hostTable) top(n int, less func(a, b HostRow) int) []HostRow {
	rows := make([]HostRow, 0, len(t.m))
	for h, f := range t.m {
		rows = append(rows, HostRow{Host: h, Records: f.records, Failed: f.failed, MeanMs: round3(f.sumMs / float64(f.records)), MaxMs: f.maxMs})
	}
	slices.SortFunc(rows, func(a, b HostRow) int { return cmp.Or(less(a, b), cmp.Compare(a.Host, b.Host)) })
	return rows[:min(n, len(rows))]
}
