package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Summary is what a report says, for every format.
type Summary struct {
	Lines       int64                `json:"lines"`
	Records     int64                `json:"records"`
	Other       int64                `json:"other_lines"` // not sluice records: left out
	Outcomes    []Outcome            `json:"outcomes"`
	Latency     *Quantiles           `json:"latency_ms,omitempty"` // elapsed_ms of the records that made a request
	Timings     map[string]Quantiles `json:"timings_ms,omitempty"` // --trace phases
	Throughput  *Throughput          `json:"throughput,omitempty"` // from timings.start, when the records have it
	Bytes       int64                `json:"bytes"`                // content_length summed
	Retried     int64                `json:"records_retried"`
	Extra       int64                `json:"extra_attempts"`
	Slowest     []HostRow            `json:"slowest_hosts"`
	Failing     []HostRow            `json:"failing_hosts"`
	Hosts       int                  `json:"hosts"`             // hosts in the tables' count
	Approximate bool                 `json:"hosts_approximate"` // more hosts than the report keeps: the least busy were dropped
	Accuracy    float64              `json:"quantile_accuracy"` // the quantiles' relative error bound
}

// Outcome is a status, or an error kind for records without one.
type Outcome struct {
	Outcome string  `json:"outcome"`
	Records int64   `json:"records"`
	Share   float64 `json:"share"` // of the records
}

// Quantiles sum up a set of times in milliseconds.
type Quantiles struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Throughput is records over the time from the first attempt's start to
// the last attempt's end.
type Throughput struct {
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"records_per_second"`
}

// Summary sums up what was read; hosts is the rows of each host table.
func (r *Report) Summary(hosts int) Summary {
	s := Summary{
		Lines: r.lines, Records: r.records, Other: r.other, Bytes: r.bytes, Retried: r.retried, Extra: r.extra,
		Hosts: len(r.hosts.m), Approximate: r.hosts.approximate, Accuracy: Accuracy,
	}
	for code, n := range r.statuses {
		if n > 0 {
			s.Outcomes = append(s.Outcomes, Outcome{Outcome: strconv.Itoa(code), Records: n})
		}
	}
	for kind, n := range r.kinds {
		s.Outcomes = append(s.Outcomes, Outcome{Outcome: kind, Records: n})
	}
	for i := range s.Outcomes {
		s.Outcomes[i].Share = round3(float64(s.Outcomes[i].Records) / float64(r.records))
	}
	slices.SortFunc(s.Outcomes, func(a, b Outcome) int {
		return cmp.Or(cmp.Compare(b.Records, a.Records), cmp.Compare(a.Outcome, b.Outcome))
	})
	if q, ok := quantiles(r.elapsed); ok {
		s.Latency = &q
	}
	for i, p := range phases {
		if q, ok := quantiles(r.timings[i]); ok {
			if s.Timings == nil {
				s.Timings = map[string]Quantiles{}
			}
			s.Timings[p] = q
		}
	}
	if span := r.last.Sub(r.first).Seconds(); span > 0 {
		s.Throughput = &Throughput{Seconds: round3(span), PerSecond: round3(float64(r.timings[0].GetCount()) / span)}
	}
	s.Slowest = r.hosts.top(hosts, func(a, b HostRow) int { return cmp.Compare(b.MeanMs, a.MeanMs) })
	s.Failing = r.hosts.top(hosts, func(a, b HostRow) int {
		return cmp.Or(cmp.Compare(b.Failed, a.Failed), cmp.Compare(b.Records, a.Records))
	})
	for len(s.Failing) > 0 && s.Failing[len(s.Failing)-1].Failed == 0 {
		s.Failing = s.Failing[:len(s.Failing)-1]
	}
	return s
}

func quantiles(sk *sketch) (Quantiles, bool) {
	if sk.IsEmpty() {
		return Quantiles{}, false
	}
	qs, err := sk.GetValuesAtQuantiles([]float64{.5, .9, .99})
	if err != nil {
		return Quantiles{}, false
	}
	lo, _ := sk.GetMinValue()
	hi, _ := sk.GetMaxValue()
	n := sk.GetCount()
	return Quantiles{Count: int64(n), Min: round3(lo), Mean: round3(sk.GetSum() / n),
		P50: round3(qs[0]), P90: round3(qs[1]), P99: round3(qs[2]), Max: round3(hi)}, true
}

// round3 keeps three decimals: the microsecond, for milliseconds.
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// WriteJSON writes s as one JSON object.
func (s Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteText writes s for people, in aligned columns; md makes the tables
// Markdown.
func (s Summary) WriteText(w io.Writer, md bool) error {
	var b strings.Builder
	t := table{md: md, b: &b}
	t.heading("sluice report")
	fmt.Fprintf(&b, "%d records", s.Records)
	if s.Other > 0 {
		fmt.Fprintf(&b, " (%d other lines left out)", s.Other)
	}
	fmt.Fprintf(&b, "; %s of bodies; %d records retried (%d attempts more)\n", size(s.Bytes), s.Retried, s.Extra)
	if s.Throughput != nil {
		fmt.Fprintf(&b, "throughput: %.1f records/s over %.3f s (from timings.start)\n", s.Throughput.PerSecond, s.Throughput.Seconds)
	}
	t.heading("Outcomes")
	t.row("outcome", "records", "share")
	for _, o := range s.Outcomes {
		t.row(o.Outcome, strconv.FormatInt(o.Records, 10), fmt.Sprintf("%.1f%%", 100*o.Share))
	}
	t.end()
	if s.Latency != nil {
		t.heading(fmt.Sprintf("Latency, ms (quantiles within %g%%)", 100*s.Accuracy))
		t.row("", "count", "min", "mean", "p50", "p90", "p99", "max")
		t.quantiles("elapsed", *s.Latency)
		for _, p := range phases {
			if q, ok := s.Timings[p]; ok {
				t.quantiles(strings.TrimSuffix(p, "_ms"), q)
			}
		}
		t.end()
	}
	t.hosts("Slowest hosts, by mean elapsed", s.Slowest)
	t.hosts("Most failing hosts (errors and statuses >= 400)", s.Failing)
	if s.Approximate {
		fmt.Fprintf(&b, "More hosts than %d: the host tables count the busiest since they were last kept.\n", hostLimit)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// table writes aligned text or Markdown tables.
type table struct {
	md   bool
	b    *strings.Builder
	rows [][]string
}

func (t *table) heading(h string) {
	switch {
	case t.b.Len() == 0 && t.md:
		fmt.Fprintf(t.b, "# %s\n\n", h)
	case t.b.Len() == 0:
		fmt.Fprintf(t.b, "%s\n", h)
	case t.md:
		fmt.Fprintf(t.b, "\n## %s\n\n", h)
	default:
		fmt.Fprintf(t.b, "\n%s\n", h)
	}
}

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) quantiles(name string, q Quantiles) {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	t.row(name, strconv.FormatInt(q.Count, 10), f(q.Min), f(q.Mean), f(q.P50), f(q.P90), f(q.P99), f(q.Max))
}

func (t *table) hosts(title string, rows []HostRow) {
	if len(rows) == 0 {
		return
	}
	t.heading(title)
	t.row("host", "records", "failed", "mean ms", "max ms")
	for _, h := range rows {
		t.row(h.Host, strconv.FormatInt(h.Records, 10), strconv.FormatInt(h.Failed, 10),
			strconv.FormatFloat(h.MeanMs, 'f', -1, 64), strconv.FormatFloat(h.MaxMs, 'f', -1, 64))
	}
	t.end()
}

// end writes the rows gathered, the first as the header.
func (t *table) end() {
	if t.md {
		for i, r := range t.rows {
			fmt.Fprintf(t.b, "| %s |\n", strings.Join(r, " | "))
			if i == 0 {
				fmt.Fprintf(t.b, "|%s\n", strings.Repeat("---|", len(r)))
			}
		}
	} else {
		widths := make([]int, len(t.rows[0]))
		for _, r := range t.rows {
			for i, c := range r {
				widths[i] = max(widths[i], len(c))
			}
		}
		for _, r := range t.rows {
			var line strings.Builder
			for i, c := range r {
				if i == 0 {
					fmt.Fprintf(&line, "  %-*s", widths[i], c)
				} else {
					fmt.Fprintf(&line, "  %*s", widths[i], c)
				}
			}
			t.b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
		}
	}
	t.rows = t.rows[:0]
}

// size writes a byte count for people.
func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
