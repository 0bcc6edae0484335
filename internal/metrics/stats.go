package metrics

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"sluice/record"
	"sluice/stages/cache"
	"sluice/stages/crawl"
	"sluice/stages/schedule"
)

// Stats counts what happened per host, for --stats. It is safe for
// concurrent use, and a nil *Stats counts nothing. It keeps one entry per
// host seen, so its memory grows with the number of distinct hosts.
type Stats struct {
	mu    sync.Mutex
	hosts map[string]*HostStats
}

// HostStats are the counts for one host, or for all of them.
type HostStats struct {
	Requests  int64                 `json:"requests"`       // attempts made
	Retries   int64                 `json:"retries"`        // attempts that were scheduled again
	Waits     int64                 `json:"waits"`          // times a record was ready but waited for a rate limit or a pause
	SlotWaits int64                 `json:"slot_waits"`     // times a record was ready but every one of its host's slots was in use (--host-concurrency)
	Quota     int64                 `json:"quota_pauses"`   // pauses because a rate-limit field said the host's quota was spent
	Statuses  map[int]int64         `json:"statuses"`       // responses by status, over all attempts
	Errors    map[record.Kind]int64 `json:"errors"`         // failed attempts by kind
	Rate      float64               `json:"rate,omitempty"` // auto-throttle's current rate in requests/s; 0 when not throttled
}

// NewStats returns an empty Stats.
func NewStats() *Stats { return &Stats{hosts: map[string]*HostStats{}} }

func (s *Stats) host(h string) *HostStats {
	hs := s.hosts[h]
	if hs == nil {
		hs = &HostStats{Statuses: map[int]int64{}, Errors: map[record.Kind]int64{}}
		s.hosts[h] = hs
	}
	return hs
}

var _ schedule.Observer = (*Stats)(nil)

// Attempt counts one finished attempt of r.
func (s *Stats) Attempt(r *record.Record, _ time.Duration) {
	s.add(r.Host, func(hs *HostStats) {
		hs.Requests++
		if r.Status != 0 {
			hs.Statuses[r.Status]++
		}
		if r.Err != nil && r.Err.Kind != record.KindHTTP {
			hs.Errors[r.Err.Kind]++
		}
	})
}

func (s *Stats) add(host string, fn func(*HostStats)) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.host(host))
}

func (s *Stats) Retry(host string) { s.add(host, func(h *HostStats) { h.Retries++ }) }

func (s *Stats) Wait(host string, why schedule.Wait) {
	s.add(host, func(h *HostStats) {
		if why == schedule.WaitSlot {
			h.SlotWaits++
		} else {
			h.Waits++
		}
	})
}

// Pause counts quota pauses; a Retry-After pause is counted as the
// retry it comes with.
func (s *Stats) Pause(host string, why schedule.Pause) {
	if why == schedule.PauseQuota {
		s.add(host, func(h *HostStats) { h.Quota++ })
	}
}

func (s *Stats) Rate(host string, r float64) {
	s.add(host, func(h *HostStats) { h.Rate = r })
}

// Hosts returns a copy of the counts by host.
func (s *Stats) Hosts() map[string]HostStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]HostStats, len(s.hosts))
	for h, hs := range s.hosts {
		c := *hs
		c.Statuses, c.Errors = maps.Clone(hs.Statuses), maps.Clone(hs.Errors)
		out[h] = c
	}
	return out
}

// Total sums the counts over all hosts.
func (s *Stats) Total() HostStats {
	t := HostStats{Statuses: map[int]int64{}, Errors: map[record.Kind]int64{}}
	for _, hs := range s.Hosts() {
		t.Requests += hs.Requests
		t.Retries += hs.Retries
		t.Waits += hs.Waits
		t.SlotWaits += hs.SlotWaits
		t.Quota += hs.Quota
		for k, v := range hs.Statuses {
			t.Statuses[k] += v
		}
		for k, v := range hs.Errors {
			t.Errors[k] += v
		}
	}
	return t
}

// Write prints the counts for people: the busiest maxHosts hosts, one line
// each, then the total.
func (s *Stats) Write(w io.Writer, maxHosts int) error {
	hosts := s.Hosts()
	names := slices.SortedFunc(maps.Keys(hosts), func(a, b string) int {
		return cmp.Or(cmp.Compare(hosts[b].Requests, hosts[a].Requests), strings.Compare(a, b))
	})
	var b strings.Builder
	fmt.Fprintf(&b, "sluice stats: %d hosts\n", len(names))
	for i, name := range names {
		if i == maxHosts {
			fmt.Fprintf(&b, "  (%d more hosts)\n", len(names)-maxHosts)
			break
		}
		writeCounts(&b, name, hosts[name])
	}
	writeCounts(&b, "total", s.Total())
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes every host's counts, the total, the given record
// counts and, with --cache, the cache's, and with --follow the crawl's, as
// one JSON object (--stats-json).
func (s *Stats) WriteJSON(w io.Writer, records map[string]any, cached *cache.Counts, crawled *crawl.Stats) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Records map[string]any       `json:"records"`
		Cache   *cache.Counts        `json:"cache,omitempty"`
		Crawl   *crawl.Stats         `json:"crawl,omitempty"`
		Total   HostStats            `json:"total"`
		Hosts   map[string]HostStats `json:"hosts"`
	}{records, cached, crawled, s.Total(), s.Hosts()})
}

func writeCounts(b *strings.Builder, name string, hs HostStats) {
	fmt.Fprintf(b, "  %s requests=%d retries=%d waits=%d", name, hs.Requests, hs.Retries, hs.Waits)
	if hs.Quota > 0 {
		fmt.Fprintf(b, " quota_pauses=%d", hs.Quota)
	}
	if hs.SlotWaits > 0 {
		fmt.Fprintf(b, " slot_waits=%d", hs.SlotWaits)
	}
	if len(hs.Statuses) > 0 {
		sep := " status:"
		for _, code := range slices.Sorted(maps.Keys(hs.Statuses)) {
			fmt.Fprintf(b, "%s%d=%d", sep, code, hs.Statuses[code])
			sep = ","
		}
	}
	if len(hs.Errors) > 0 {
		sep := " errors:"
		for _, kind := range slices.Sorted(maps.Keys(hs.Errors)) {
			fmt.Fprintf(b, "%s%s=%d", sep, kind, hs.Errors[kind])
			sep = ","
		}
	}
	if hs.Rate > 0 {
		fmt.Fprintf(b, " rate=%.1f/s", hs.Rate)
	}
	b.WriteString("\n")
}
