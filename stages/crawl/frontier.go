package crawl

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reugn/go-streams"

	"sluice/flow"
	"sluice/record"
	"sluice/stages/schedule"
)

// DefaultCrawlDepth is --depth's default with --follow.
const DefaultDepth = 3

// Config is what --follow and its companions decide.
type Config struct {
	Follow           bool
	Depth            int    // links followed from a seed at most
	Scope            string // ScopeHost, ScopeDomain, ScopePrefix or ScopeAny
	Include, Exclude []*regexp.Regexp
	MaxPages         int64 // tasks admitted at most, seeds included; 0: no limit
	MaxHostPages     int64 // tasks admitted per host at most; 0: no limit
	MaxRedirects     int   // redirects followed in a row
	WriteLinks       bool  // --extract links: the links are written, not only followed
	WritePage        bool  // something else is extracted: the page is written
	SpillDir         string
	MemTasks         int           // pending tasks kept in memory before the rest go to disk; 0: DefaultMemTasks
	MemSeen          int           // URLs the seen set keeps in memory before the rest go to disk; 0: DefaultMemSeen
	State            string        // --state DIR: the crawl's log, to go on after a kill; "" for none
	Sitemaps         bool          // --sitemaps: each seed host's sitemaps, from its robots.txt or /sitemap.xml
	Revisit          time.Duration // --revisit, with --in: a URL admitted this long ago may be admitted again; 0: never
	Given            []string      // with --in, the crawl's settings given as flags (names without "--"): the rest are the crawl's
}

// DefaultMemTasks is how many pending tasks the frontier keeps in memory
// per level (about 90 bytes each, with their URLs); the rest wait on disk.
const DefaultMemTasks = 20_000

// Frontier is the crawl's source of tasks (--follow): a streams.Flow between
// the input's source and the schedule. Input records (the seeds) go through
// it as they come, with backpressure, each given a task envelope with its
// seed's scope. URLs the discover stage offers (Offer) are admitted, or
// counted away by reason (seen before, --max-pages, --max-host-pages), at
// once, never blocking the offerer; they wait by depth in FIFOs that keep
// Config.MemTasks each in memory and the rest on disk. They are
// released once the input has ended, so that their seqs, given at release,
// follow the input's, and level by level (see levels), so that the crawl
// is breadth first: every URL gets its least depth.
//
// Every record it releases counts as outstanding until the sink has taken
// it (Done). Since a page's links are offered before the page reaches the
// sink, a page's Done always comes after its links are counted, and the run
// cannot end early. One goroutine owns all state; it starts when the output
// is connected and ends, closing its output, when the input is closed and
// no task is pending or outstanding. Once stop is closed it releases no
// more discovered tasks (they are counted as left), but passes on every
// input record it still gets, and ends when the outstanding ones are done.
type Frontier struct {
	flow.Link
	out   chan<- any
	in    chan any
	kick  chan struct{}
	stop  <-chan struct{}
	cfg   Config
	parse func(seq int64, line []byte) *record.Record

	mu      sync.Mutex
	offers  []record.Found // offered, not yet taken by the loop
	spare   []record.Found
	parent  []int64 // the parent seq of each offer
	spareP  []int64
	done    []int // the records the sink took since the loop last looked: 2 × depth, +1 when retried
	spareD  []int
	retries []int   // the depths of released records that went into a retry for the first time
	durable []int64 // --state: seqs settled (durably written), to log as written

	// Owned by the loop.
	seen       seenSet
	hostPages  map[string]int64
	levels     levels
	scopes     []*record.Scope
	scopeIndex map[record.Scope]int
	scopeIDs   map[*record.Scope]int
	lastSeq    int64 // the last seq given
	inputEnded bool
	stopping   bool
	state      *crawlState     // --state; nil without
	before     bitset          // --state: seqs a run before wrote
	tasks      int64           // tasks admitted, ever (seeds are not): the next one's id is one more
	mapped     map[string]bool // --sitemaps: seed hosts whose sitemaps were asked for

	admitted atomic.Int64
	size     atomic.Int64 // pending: admitted and not yet released
	left     atomic.Int64 // admitted but never released: sluice stopped
	counts   [8]atomic.Int64
	errMu    sync.Mutex
	err      error
}

var notReasons = [...]string{record.NotSeen, record.NotScope, record.NotDepth, record.NotExcluded, record.NotMaxPages, record.NotMaxHostPages, record.NotRedirects, record.NotStopped}

var _ streams.Flow = (*Frontier)(nil)

// NewFrontier returns the frontier; parse makes a discovered URL's record
// (the input's parser, so that the flags' request defaults apply). It
// starts when its output is connected.
func NewFrontier(stop <-chan struct{}, cfg Config, parse func(seq int64, line []byte) *record.Record) (*Frontier, error) {
	if err := CheckScope(cfg.Scope); err != nil {
		return nil, err
	}
	if cfg.MemTasks <= 0 {
		cfg.MemTasks = DefaultMemTasks
	}
	if cfg.MemSeen <= 0 {
		cfg.MemSeen = DefaultMemSeen
	}
	f := &Frontier{
		in: make(chan any), kick: make(chan struct{}, 1), stop: stop, cfg: cfg, parse: parse,
		hostPages: map[string]int64{}, mapped: map[string]bool{}, scopeIndex: map[record.Scope]int{}, scopeIDs: map[*record.Scope]int{},
		levels: levels{dir: cfg.SpillDir, mem: cfg.MemTasks}, seen: newSeenSet(cfg.SpillDir, cfg.MemSeen),
	}
	if cfg.State != "" {
		if err := f.resume(); err != nil {
			return nil, err
		}
	}
	f.Start = func(dst chan<- any) {
		f.out = dst
		go f.run()
	}
	return f, nil
}

// resume opens --state and takes up what its log says: the scopes, the
// seen set, and the tasks still to do. Pending tasks spill into the state
// directory.
func (f *Frontier) resume() error {
	s, err := openState(f.cfg.State)
	if err != nil {
		return err
	}
	f.levels.dir = f.cfg.State
	r, err := s.replay(func(kind, key string) {
		f.scope(record.Scope{Kind: kind, Key: key})
	}, func(p pending, todo bool) {
		f.seen.add(p.url)
		if f.cfg.MaxHostPages > 0 {
			f.hostPages[p.host]++
		}
		if todo {
			if err := f.levels.push(p); err != nil {
				f.fail(err)
			}
			f.size.Add(1)
		}
	})
	if err != nil {
		s.close()
		return err
	}
	f.state, f.before, f.tasks, f.lastSeq = s, r.done, r.tasks, r.maxSeq
	f.admitted.Add(r.tasks)
	return nil
}

// Close logs what was settled since the frontier's goroutine ended and
// closes --state's log. It is called once the sink has finished.
func (f *Frontier) Close() error {
	if f.state == nil {
		return nil
	}
	f.mu.Lock()
	durable := f.durable
	f.durable = nil
	f.mu.Unlock()
	for _, seq := range durable {
		f.state.written(seq)
	}
	return f.state.close()
}

// Written takes the sink's word that r's line is durably out (stdout
// flushed, or the broker's ack for --out): only then is it logged as
// written for --state. One never told (a write that failed, a record
// canceled at the end of the grace period, which the sink then hands back
// rather than writes) is done again by the run that goes on. It never
// blocks.
func (f *Frontier) Written(r *record.Record) {
	if f.state == nil || r.Seq <= 0 { // seq 0: an internal task, not logged
		return
	}
	f.mu.Lock()
	f.durable = append(f.durable, r.Seq)
	f.mu.Unlock()
	f.poke()
}

// In returns the channel of input records; the upstream closes it.
func (f *Frontier) In() chan<- any { return f.in }

// Offer hands the frontier what the page of parent (a record it released)
// leads to. It never blocks.
func (f *Frontier) Offer(parent *record.Record, found []record.Found) {
	if len(found) == 0 {
		return
	}
	f.mu.Lock()
	f.offers = append(f.offers, found...)
	for range found {
		f.parent = append(f.parent, parent.Seq)
	}
	f.mu.Unlock()
	f.poke()
}

// Done takes the sink's word that it has taken r, a record the frontier
// released: written, skipped, or handed back to its queue. It never blocks.
func (f *Frontier) Done(r *record.Record) {
	mark := 0
	if r.Task != nil {
		mark = 2 * r.Task.Depth
		if r.Task.Retried {
			mark++
		}
	}
	f.mu.Lock()
	f.done = append(f.done, mark)
	f.mu.Unlock()
	f.poke()
}

// Returner wraps back, the schedule, so that a released record that goes
// into a retry's backoff stops holding back its level (see levels).
func (f *Frontier) Returner(back schedule.Returner) schedule.Returner { return retryWatch{back, f} }

type retryWatch struct {
	schedule.Returner
	f *Frontier
}

func (w retryWatch) Again(r *record.Record, at time.Time) {
	if t := r.Task; t != nil && !t.Retried { // the fetch worker owns r until Again
		t.Retried = true
		w.f.mu.Lock()
		w.f.retries = append(w.f.retries, t.Depth)
		w.f.mu.Unlock()
		w.f.poke()
	}
	w.Returner.Again(r, at)
}

func (f *Frontier) poke() {
	select {
	case f.kick <- struct{}{}:
	default: // one is pending; the loop will see this too
	}
}

// Count reports a URL the discover stage did not offer, by reason.
func (f *Frontier) Count(reason string) {
	for i, r := range notReasons {
		if r == reason {
			f.counts[i].Add(1)
			return
		}
	}
	panic("sluice: unknown reason " + reason)
}

// NotAdmitted returns the URLs found and not admitted, by reason; reasons
// that did not occur are absent.
func (f *Frontier) NotAdmitted() map[string]int64 {
	m := map[string]int64{}
	for i, r := range notReasons {
		if n := f.counts[i].Load(); n > 0 {
			m[r] = n
		}
	}
	return m
}

// WrittenBefore reports whether a run before wrote seq (--state): the
// frontier does not release it again (a seed comes as skipped). Safe for
// concurrent use once the frontier is made.
func (f *Frontier) WrittenBefore(seq int64) bool { return f.before.has(seq) }

// Admitted returns how many tasks were admitted, seeds included.
func (f *Frontier) Admitted() int64 { return f.admitted.Load() }

// Pending returns how many admitted tasks wait to be released.
func (f *Frontier) Pending() int64 { return f.size.Load() }

// Left returns how many admitted tasks were never released because sluice
// stopped first.
func (f *Frontier) Left() int64 { return f.left.Load() }

// Err returns what went wrong with the frontier's file, if anything.
func (f *Frontier) Err() error {
	f.errMu.Lock()
	defer f.errMu.Unlock()
	return f.err
}

func (f *Frontier) fail(err error) {
	f.errMu.Lock()
	f.err = err
	f.errMu.Unlock()
}

func (f *Frontier) run() {
	defer close(f.out)
	defer func() {
		if err := f.levels.close(); err != nil {
			f.fail(err)
		}
		f.seen.close()
		if f.seen.err != nil {
			f.fail(f.seen.err)
		}
	}()
	in, stop := f.in, f.stop
	var next *record.Record // to go out
	for {
		f.take()
		if next == nil && f.inputEnded && !f.stopping {
			next = f.release()
		}
		if in == nil && next == nil && f.levels.outstanding() == 0 && (f.levels.pending() == 0 || f.stopping) {
			f.left.Add(int64(f.levels.pending()))
			f.size.Store(0)
			return
		}
		var inCh chan any
		var outCh chan<- any
		if next == nil && in != nil {
			inCh = in // an input record only when nothing else waits to go: backpressure
		}
		if next != nil {
			outCh = f.out
		}
		select {
		case v, ok := <-inCh:
			if !ok {
				in, f.inputEnded = nil, true
				break
			}
			next = f.seed(v.(*record.Record))
		case outCh <- next:
			if next.Task == nil || next.Task.Origin == record.OriginInput {
				f.levels.released(0) // a discovered task counted when taken from its level
			}
			next = nil
		case <-f.kick:
		case <-stop:
			stop, f.stopping = nil, true
		}
	}
}

// take admits what was offered and counts what the sink took.
func (f *Frontier) take() {
	f.mu.Lock()
	offers, parents, done, durable, retries := f.offers, f.parent, f.done, f.durable, f.retries
	f.offers, f.parent, f.done, f.durable, f.retries = f.spare[:0], f.spareP[:0], f.spareD[:0], nil, nil
	f.mu.Unlock()
	for i, o := range offers {
		f.admit(o, parents[i])
	}
	for _, d := range retries { // before the dones: a record's retry comes before its done
		f.levels.retry(d)
	}
	for _, m := range done {
		f.levels.done(m/2, m%2 == 1)
	}
	clear(offers)
	f.spare, f.spareP, f.spareD = offers, parents, done
	if f.state != nil {
		// After the admissions: a page is logged written only after the
		// links it offered are logged admitted.
		for _, seq := range durable {
			f.state.written(seq)
		}
		if err := f.state.flush(); err != nil {
			f.fail(err)
		}
	}
}

// seed gives an input record its envelope and marks its URL seen. With
// --state, a seed a run before wrote is skipped (its URL still seen).
func (f *Frontier) seed(r *record.Record) *record.Record {
	f.lastSeq = max(f.lastSeq, r.Seq)
	f.admitted.Add(1)
	var href string
	ok := r.Target != nil
	if ok {
		var err error
		href, err = record.WebURL(r.URL) // as links are written, so that a link back to a seed is seen
		ok = err == nil
	}
	if ok {
		f.seen.add(href)
	}
	if f.before.has(r.Seq) && r.Skip == "" {
		r.Skip = "resume"
	}
	if r.Skip != "" {
		return r // written before: skipped
	}
	if !ok {
		return r // nothing to crawl from: it is written as it is
	}
	if f.cfg.MaxHostPages > 0 {
		f.hostPages[r.Host]++
	}
	scope := f.scope(ScopeOf(f.cfg.Scope, href, r.Target))
	r.Task = &record.Task{Origin: record.OriginInput, Scope: f.scopes[scope]}
	if f.cfg.Sitemaps && !f.mapped[r.Host] {
		f.mapped[r.Host] = true
		f.internal(pending{url: r.Target.Scheme + "://" + r.Target.Host + "/robots.txt", host: r.Host, origin: uint8(record.OriginRobots), scope: scope})
	}
	return r
}

// internal admits a task of the crawl's own (a sitemap, a robots.txt read
// for its Sitemap lines): not a page, so not counted, limited or logged
// in --state (a run that goes on asks again), but fetched once.
func (f *Frontier) internal(p pending) {
	if f.stopping || !f.seen.add(p.url) {
		return
	}
	if err := f.levels.push(p); err != nil {
		f.fail(err)
	}
	f.size.Add(1)
}

// scope is the index of s in the table, added when new.
func (f *Frontier) scope(s record.Scope) int {
	if i, ok := f.scopeIndex[s]; ok {
		return i
	}
	p := &s
	if f.state != nil { // nil while the log is replayed: its scopes are logged already
		f.state.scope(s.Kind, s.Key)
	}
	f.scopes = append(f.scopes, p)
	f.scopeIndex[s], f.scopeIDs[p] = len(f.scopes)-1, len(f.scopes)-1
	return len(f.scopes) - 1
}

// admit takes o into the queue, or counts it away.
func (f *Frontier) admit(o record.Found, parent int64) {
	scope, ok := f.scopeIDs[o.Scope]
	if !ok {
		panic("sluice: a found URL's scope is not the frontier's")
	}
	if o.Origin.Internal() {
		f.internal(pending{url: o.URL, host: o.Host, origin: uint8(o.Origin), scope: scope})
		return
	}
	switch {
	case f.stopping:
		f.Count(record.NotStopped)
		return
	case !f.seen.add(o.URL):
		f.Count(record.NotSeen)
		return
	case f.cfg.MaxPages > 0 && f.admitted.Load() >= f.cfg.MaxPages:
		f.Count(record.NotMaxPages)
		return
	case f.cfg.MaxHostPages > 0 && f.hostPages[o.Host] >= f.cfg.MaxHostPages:
		f.Count(record.NotMaxHostPages)
		return
	}
	f.tasks++
	p := pending{url: o.URL, host: o.Host, origin: uint8(o.Origin), depth: o.Depth, parent: parent, hops: o.Hops, scope: scope, id: f.tasks}
	if f.state != nil {
		f.state.admit(p)
	}
	if err := f.levels.push(p); err != nil {
		f.fail(err)
	}
	f.admitted.Add(1)
	f.size.Add(1)
	if f.cfg.MaxHostPages > 0 {
		f.hostPages[o.Host]++
	}
}

// release takes the next pending task and makes its record; nil when none.
func (f *Frontier) release() *record.Record {
	p, ok, err := f.levels.pop()
	if err != nil {
		f.fail(err)
		return nil
	}
	if !ok {
		return nil
	}
	f.size.Add(-1)
	seq := p.seq // released before, by a run that was killed (--state)
	internal := record.Origin(p.origin).Internal()
	switch {
	case internal: // seq 0: never written
	case seq == 0:
		f.lastSeq++
		seq = f.lastSeq
	}
	if f.state != nil && !internal {
		f.state.release(p.id, seq)
	}
	r := f.parse(seq, []byte(p.url))
	r.Task = &record.Task{Origin: record.Origin(p.origin), Depth: p.depth, Parent: p.parent, Hops: p.hops, Scope: f.scopes[p.scope]}
	return r
}

// Stats are the frontier's counts for --stats.
func (f *Frontier) Stats() Stats {
	return Stats{Admitted: f.Admitted(), Pending: f.Pending(), Left: f.Left(), NotAdmitted: f.NotAdmitted()}
}

// Stats is what --stats says of a crawl.
type Stats struct {
	Admitted    int64            `json:"admitted"`
	Pending     int64            `json:"pending,omitempty"`
	Left        int64            `json:"left,omitempty"`
	NotAdmitted map[string]int64 `json:"not_admitted"`
}

// String is the --stats line: "crawl admitted=N left=N not_admitted: seen=N,scope=N".
func (c Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "crawl admitted=%d", c.Admitted)
	if c.Left > 0 {
		fmt.Fprintf(&b, " left=%d", c.Left)
	}
	sep := " not_admitted:"
	for _, reason := range slices.Sorted(maps.Keys(c.NotAdmitted)) {
		fmt.Fprintf(&b, "%s%s=%d", sep, reason, c.NotAdmitted[reason])
		sep = ","
	}
	return b.String()
}
