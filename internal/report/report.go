// Package report sums up sluice's NDJSON output for `sluice report`:
// records by outcome, latency percentiles, throughput, bytes, retries and
// the slowest and most failing hosts; as text, JSON or Markdown, and
// drawn with --plot. It reads one line at a time and keeps no record:
// percentiles come from DDSketch (DataDog/sketches-go), whose quantiles are
// within 1% of the true value, and hosts from a table of bounded size, so
// memory stays the same on any length of input.
package report

import (
	"bytes"
	"math"
	"strconv"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"

	"sluice/record"
)

// Accuracy is the quantiles' bound of relative error.
const Accuracy = 0.01

// sketchBins bounds a sketch's memory; at 1% accuracy they span values
// from one to 10^17 times the smallest, so none is ever collapsed here.
const sketchBins = 2048

// phases are the --trace timings summed up, in the order written.
var phases = []string{"dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "wait_ms", "transfer_ms", "total_ms"}

// Report is the running sum of the records read so far.
type Report struct {
	lines, records, other int64     // other: lines that are no sluice record
	statuses              []int64   // by status, 100..599
	kinds                 counts    // records without a status, by error kind
	elapsed               *sketch   // elapsed_ms
	timings               []*sketch // by phase, of records with timings
	bytes                 int64     // content_length
	retried, extra        int64     // records with more than one attempt; the attempts beyond the first
	first, last           time.Time
	hosts                 *hostTable

	// The line being read, and the functions that read it: method values
	// made once, which made for each line would be allocated for each.
	cur                       line
	member, errorKind, timing func(key, value []byte)
	inner                     func(key []byte) func(key, value []byte)
}

// line is what one record gives the report.
type line struct {
	seq, url bool
	host     []byte
	status   int
	elapsed  float64
	attempts int64
	length   int64
	kind     []byte
	traced   bool
	timings  [7]float64
	start    time.Time
}

// New returns an empty report.
func New() *Report {
	r := &Report{statuses: make([]int64, 600), kinds: counts{}, elapsed: newSketch(), hosts: newHostTable(hostLimit)}
	for range phases {
		r.timings = append(r.timings, newSketch())
	}
	r.member, r.inner, r.errorKind, r.timing = r.readMember, r.readInner, r.readErrorKind, r.readTiming
	return r
}

// sketch is a DDSketch with the exact count, sum, min and max beside it.
type sketch struct {
	*ddsketch.DDSketchWithExactSummaryStatistics
}

func newSketch() *sketch {
	m, err := mapping.NewCubicallyInterpolatedMapping(Accuracy)
	if err != nil {
		panic(err) // Accuracy is a valid constant
	}
	provider := func() store.Store { return store.NewCollapsingLowestDenseStore(sketchBins) }
	return &sketch{ddsketch.NewDDSketchWithExactSummaryStatistics(m, provider)}
}

// Add reads one line of sluice's output. A line that is not a JSON object
// with a number seq and a string url is counted as other and left out.
func (r *Report) Add(text []byte) {
	text = bytes.TrimSpace(text)
	if len(text) == 0 {
		return
	}
	r.lines++
	c := &r.cur
	*c = line{}
	if record.Members(text, r.member, r.inner) != nil || !c.seq || !c.url {
		r.other++
		return
	}
	r.records++
	if c.status >= 100 && c.status < 600 {
		r.statuses[c.status]++
	} else if len(c.kind) > 0 {
		r.kinds.add(c.kind)
	}
	failed := len(c.kind) > 0 || c.status >= 400
	if c.attempts > 0 { // a record that made no request took no time worth telling
		r.elapsed.Add(c.elapsed)
	}
	r.bytes += c.length
	if c.attempts > 1 {
		r.retried++
		r.extra += c.attempts - 1
	}
	if c.traced {
		for i, v := range c.timings {
			r.timings[i].Add(v)
		}
		if !c.start.IsZero() {
			end := c.start.Add(time.Duration(c.timings[6] * float64(time.Millisecond)))
			if r.first.IsZero() || c.start.Before(r.first) {
				r.first = c.start
			}
			if end.After(r.last) {
				r.last = end
			}
		}
	}
	if len(c.host) > 0 {
		r.hosts.add(c.host, c.elapsed, failed)
	}
}

// readMember reads one top-level member of the current line.
func (r *Report) readMember(key, v []byte) {
	c := &r.cur
	switch string(key) {
	case "seq":
		c.seq = isNumber(v)
	case "url":
		if len(v) > 1 && v[0] == '"' {
			c.url, c.host = true, hostOf(v[1:len(v)-1])
		}
	case "status":
		c.status = int(number(v))
	case "elapsed_ms":
		c.elapsed = number(v)
	case "attempts":
		c.attempts = int64(number(v))
	case "content_length":
		c.length = int64(number(v))
	}
}

// readInner reads the members of the objects error and timings.
func (r *Report) readInner(key []byte) func(k, v []byte) {
	switch string(key) {
	case "error":
		return r.errorKind
	case "timings":
		r.cur.traced = true
		return r.timing
	}
	return nil
}

func (r *Report) readErrorKind(k, v []byte) {
	if string(k) == "kind" && len(v) > 1 && v[0] == '"' {
		r.cur.kind = v[1 : len(v)-1]
	}
}

// readTiming reads one member of a record's timings.
func (r *Report) readTiming(k, v []byte) {
	c := &r.cur
	if string(k) == "start" && len(v) > 1 {
		c.start = parseTime(v[1 : len(v)-1])
		return
	}
	for i, p := range phases {
		if string(k) == p {
			c.timings[i] = number(v)
			return
		}
	}
}

func isNumber(v []byte) bool { return len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') }

// number reads a JSON number; anything else is 0.
func number(v []byte) float64 {
	if !isNumber(v) {
		return 0
	}
	if f, ok := decimal(v); ok {
		return f
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// decimal reads the numbers sluice writes, digits with a fraction or
// none, when they have at most 15 digits: the digits as an integer
// divided by a power of ten, both exact in a float64, give the correctly
// rounded value (Clinger's fast path), as strconv would, in a fraction of
// its time. Anything else is not ok.
func decimal(v []byte) (float64, bool) {
	var mant uint64
	digits, frac, dot := 0, 0, false
	for _, c := range v {
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 || dot && frac == 0 {
		return 0, false
	}
	return float64(mant) / pow10[frac], true
}

// parseTime reads a time as sluice writes it (record.TimeFormat), or
// another RFC 3339 time; the zero time when it is neither.
func parseTime(v []byte) time.Time {
	if len(v) == len("2006-01-02T15:04:05.000000Z") && v[4] == '-' && v[7] == '-' && v[10] == 'T' && v[13] == ':' && v[16] == ':' && v[19] == '.' && v[26] == 'Z' {
		n := func(i, j int) int {
			x := 0
			for _, c := range v[i:j] {
				if c < '0' || c > '9' {
					return -1
				}
				x = x*10 + int(c-'0')
			}
			return x
		}
		y, mo, d, h, mi, s, us := n(0, 4), n(5, 7), n(8, 10), n(11, 13), n(14, 16), n(17, 19), n(20, 26)
		if min(y, mo, d, h, mi, s, us) >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && s < 60 {
			return time.Date(y, time.Month(mo), d, h, mi, s, us*1000, time.UTC)
		}
	}
	t, _ := time.Parse(time.RFC3339Nano, string(v))
	return t
}

// hostOf returns the host (and port) of a URL's text, or nil.
func hostOf(u []byte) []byte {
	i := bytes.Index(u, []byte("://"))
	if i < 0 {
		return nil
	}
	h := u[i+3:]
	if end := bytes.IndexAny(h, "/?#\\"); end >= 0 {
		h = h[:end]
	}
	if at := bytes.LastIndexByte(h, '@'); at >= 0 {
		h = h[at+1:]
	}
	return h
}

// counts are counts by a name read from the input, at most maxNames of
// them: the rest go under "other", so a hostile input cannot grow it.
type counts map[string]int64

const maxNames = 64

func (c counts) add(name []byte) {
	if _, ok := c[string(name)]; ok || len(c) < maxNames {
		c[string(name)]++
		return
	}
	c["other"]++
}
