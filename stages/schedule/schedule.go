package schedule

import (
	"container/heap"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reugn/go-streams"
	"golang.org/x/time/rate"

	"sluice/flow"
	"sluice/record"
	"sluice/stages/internal/fifo"
)

// sweepEvery is how often idle hosts' state is looked at for dropping.
const sweepEvery = time.Second

// Schedule is the politeness stage: a streams.Flow that holds a bounded
// window of records, keyed by host, and releases a record when the global
// token bucket, its host's token bucket, its host's concurrency limit and any
// Retry-After pause of its host all allow it.
//
// Records for a host that must wait are held without blocking the others:
// hosts take turns (round robin) among those that may send now, and a
// throttled host sleeps in a timer heap. The window counts every record
// between In and the point where the fetch stage lets it go (Done), including
// records in flight and records waiting to be retried; when it is full the
// stage stops reading In, which is the backpressure. It also stops reading
// while Limits.Workers records are out at the fetch stage: no worker could
// take another record then, and a window full of records that are only
// waiting for a worker would cost memory and the collector's time.
//
// The fetch stage hands every record back after each attempt (the schedule
// is its Returner): Done frees the record's host slot and window place,
// Again holds the record until its backoff is over and sends it again.
//
// One goroutine owns all state; it starts when the output is connected. It
// ends, closing its output, when In is closed and every record it admitted
// has been let go (Done). When stop is closed it releases every record it
// holds at once, without limits, for the fetch stage to pass on or mark
// canceled.
type Schedule struct {
	flow.Link
	out  chan<- any // the next stage's In, once connected
	in   chan any
	kick chan struct{} // a record was given back: look at backlog

	backMu  sync.Mutex
	backlog []returned // given back by the fetch stage, not yet taken
	spare   []returned // the other of two buffers swapped on each take
	stop    <-chan struct{}
	lim     Limits
	observe Observers

	global    *rate.Limiter // nil for no global rate
	hosts     map[string]*hostState
	ready     fifo.Queue[*hostState] // hosts that may send now, in turn
	sleeping  timeHeap[*hostState]
	delayed   timeHeap[*record.Record]         // records waiting out a retry backoff
	bypass    fifo.Queue[*record.Record]       // records that failed before scheduling
	count     int                              // records in the window
	sent      int                              // records sent to the fetch stage and not yet given back
	next      *record.Record                   // picked, waiting for a fetch worker
	permits   chan permit                      // --render: a browser's requests asking for their host's turn (Permit); nil without
	permitted map[*hostState]bool              // hosts with permits in their queues
	grants    map[*record.Record]chan struct{} // the permits in the hosts' queues: each closed when its host's turn comes
	stopping  bool
	waiting   atomic.Int64 // records held and not in flight, for the progress line
	atLimit   atomic.Int64 // hosts with records ready but every slot in use, for the progress line
	nhosts    atomic.Int64 // hosts with state kept, for --metrics
}

// Waiting returns how many records the stage holds that are not in flight:
// waiting for a rate limit, a slot, a pause or a retry backoff.
func (s *Schedule) Waiting() int64 { return s.waiting.Load() }

// AtHostLimit returns how many hosts have records ready to go that wait
// only for one of the host's --host-concurrency slots.
func (s *Schedule) AtHostLimit() int64 { return s.atLimit.Load() }

// Hosts returns how many hosts the stage keeps state for: those with
// records held or in flight, or whose limits still apply.
func (s *Schedule) Hosts() int64 { return s.nhosts.Load() }

var (
	_ streams.Flow = (*Schedule)(nil)
	_ Returner     = (*Schedule)(nil)
)

// returned is what the fetch stage tells the schedule after an attempt: a
// copy of what the schedule needs to know of it, and the record itself only
// when it is to go again (the schedule then owns it). A finished record has
// gone downstream, where later stages own it; holding it while the report
// waits would also keep its body alive, up to a window's worth of bodies
// when the schedule goroutine is starved for CPU.
type returned struct {
	r          *record.Record // when again: hold it until notBefore and send it again
	again      bool
	notBefore  time.Time
	host       string
	sent       time.Time // zero for a record that bypassed the limits
	status     int
	retryAfter time.Duration
	quota      *record.Quota
	timedOut   bool
	robots     bool
}

func report(r *record.Record, again bool, notBefore time.Time) returned {
	rt := returned{
		again: again, notBefore: notBefore, host: r.Host, sent: r.Sent, status: r.Status,
		retryAfter: r.RetryAfter, quota: r.Quota, timedOut: r.Err != nil && r.Err.Kind == record.KindTimeout,
		robots: r.Task.RobotsRules(),
	}
	if again {
		rt.r = r
	}
	return rt
}

type hostStatus uint8

const (
	idle       hostStatus = iota // nothing to send, or not yet looked at
	ready                        // in the ready queue
	sleeping                     // in the sleeping heap until wakeAt
	waitSlot                     // every concurrency slot in use
	waitRobots                   // its robots.txt is being fetched (--robots)
)

// hostState is what the schedule knows of one host. It is dropped when the
// host has nothing queued, in flight or delayed, and dropping it would not
// loosen a limit (its bucket is full again and any pause is over).
type hostState struct {
	key         string
	queue       fifo.Queue[*record.Record]
	inFlight    int
	delayed     int
	maxConc     int
	ceiling     rate.Limit    // the configured rate
	limiter     *rate.Limiter // nil: no rate limit
	pausedUntil time.Time
	spacedUntil time.Time // a limit of one at a time: a token's interval after the last record really went (handedOff)
	status      hostStatus
	wakeAt      time.Time
	meter       *rateMeter // auto-throttle only: requests sent
	okMeter     *rateMeter // auto-throttle only: good answers
	throttle    *aimd      // auto-throttle, once the host has been overloaded
	robotsWait  bool       // --robots: its robots.txt is being fetched; nothing else goes meanwhile
	budget      quotaBudget
	permits     int // permits at the front of its queue (--render)
}

// quotaBudget is what the host's rate-limit fields allow: at most left more
// requests until until, counting those in flight when the answer came (the
// server may not have counted them yet). A quota is a budget, not a signal
// to stop: pausing only once an answer says nothing remains lets every
// request already in flight overshoot. Where a policy gave the quota's size
// and window, a window that ends starts the next with the whole quota, so
// the requests at its start stay within it before any answer says so.
type quotaBudget struct {
	left   int64
	until  time.Time // zero or past: no budget holds
	limit  int64
	window time.Duration
}

// active reports whether the budget holds at now, renewing it from the
// policy when its window has ended; inFlight requests count against a
// renewed window.
func (b *quotaBudget) active(now time.Time, inFlight int) bool {
	if now.Before(b.until) {
		return true
	}
	if b.until.IsZero() || b.limit <= 0 || b.window <= 0 {
		return false
	}
	for !now.Before(b.until) {
		b.until = b.until.Add(b.window)
	}
	b.left = b.limit - int64(inFlight)
	return true
}

// answer takes what a response said of the quota, with inFlight requests
// still out: within a window it only tightens the budget (answers arrive
// out of order, and remaining never grows within a window).
func (b *quotaBudget) answer(q *record.Quota, now time.Time, inFlight int, maxPause time.Duration) {
	left := q.Remaining - int64(inFlight)
	until := now.Add(min(q.Reset, maxPause))
	if now.Before(b.until) {
		left = min(left, b.left)
		if b.until.After(until) {
			until = b.until
		}
	}
	b.left, b.until = max(left, 0), until
	if q.Limit > 0 && q.Window > 0 {
		b.limit, b.window = q.Limit, q.Window
	}
}

// NewSchedule makes the schedule stage; it starts when its output is connected.
func NewSchedule(stop <-chan struct{}, lim Limits, observe Observers) (*Schedule, error) {
	if err := lim.check(); err != nil {
		return nil, err
	}
	s := &Schedule{
		in:      make(chan any),
		kick:    make(chan struct{}, 1),
		stop:    stop,
		lim:     lim,
		observe: observe,
		hosts:   map[string]*hostState{},
	}
	if lim.Rate != rate.Inf {
		burst := lim.Burst
		if burst < 1 {
			burst = burstFor(lim.Rate)
		}
		s.global = rate.NewLimiter(lim.Rate, burst)
	}
	s.Start = func(dst chan<- any) {
		s.out = dst
		go s.run()
	}
	return s, nil
}

// In returns the channel of new records; the upstream closes it.
func (s *Schedule) In() chan<- any { return s.in }

// Done takes the fetch stage's word that r is finished.
func (s *Schedule) Done(r *record.Record) { s.giveBack(report(r, false, time.Time{})) }

// Again takes r back, to be sent again not before at.
func (s *Schedule) Again(r *record.Record, at time.Time) { s.giveBack(report(r, true, at)) }

// giveBack is the fetch stage's report on a record after an attempt. The
// schedule goroutine always accepts it, which keeps the loop schedule ->
// fetch -> schedule free of deadlock.
//
// It never blocks: the report goes on a list and a buffered kick wakes the
// schedule goroutine, which takes every report waiting at once. Under load
// that is one wake-up for many records rather than one per record.
func (s *Schedule) giveBack(rt returned) {
	s.backMu.Lock()
	s.backlog = append(s.backlog, rt)
	s.backMu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default: // a kick is pending; it will see this report too
	}
}

// takeBack handles every record given back since the last call.
func (s *Schedule) takeBack() {
	s.backMu.Lock()
	batch := s.backlog
	s.backlog = s.spare[:0]
	s.backMu.Unlock()
	now := time.Now()
	for i, rt := range batch {
		s.finish(rt, now)
		batch[i] = returned{}
	}
	s.spare = batch
}

func (s *Schedule) run() {
	outOpen := true
	defer func() {
		if outOpen {
			close(s.out)
		}
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	in, stop := s.in, s.stop
	for {
		now := time.Now()
		s.promote(now)
		var wake time.Time
		for s.next == nil || s.isPermit(s.next) {
			if s.next != nil { // a permit: its holder goes now, not a fetch worker
				s.granted(s.next)
			}
			if s.next, wake = s.pick(now); s.next == nil {
				break
			}
		}
		if s.next != nil && len(s.permitted) > 0 {
			// Every fetch worker is busy (the render stage holds them
			// back): the picked record waits, the browsers' requests need not.
			wake = s.grantWaiting(now)
		}
		if in == nil && s.count == 0 {
			if s.permits == nil {
				return
			}
			// The fetch stage may end; the stages after it may still ask
			// for permits, until ClosePermits.
			if outOpen {
				close(s.out)
				outOpen = false
			}
		}
		var inCh chan any
		var outCh chan<- any
		if in != nil && s.count < s.lim.Window && s.mayRead() {
			inCh = in
		}
		if s.next != nil {
			outCh = s.out
		}
		if s.step(inCh, outCh, &in, &stop, sweep.C) || s.takePermit() {
			continue
		}
		var timerC <-chan time.Time
		if at := s.earliest(wake); !at.IsZero() {
			timer.Reset(at.Sub(now))
			timerC = timer.C
		}
		select {
		case v, ok := <-inCh:
			if !ok {
				in = nil
				break
			}
			s.admit(v.(*record.Record))
		case <-s.kick:
			s.takeBack()
		case r, ok := <-s.permits:
			s.admitPermit(r, ok)
		case outCh <- s.next:
			s.handedOff(s.next)
			s.next = nil
			s.waiting.Add(-1)
		case <-timerC:
		case <-sweep.C:
			s.sweepIdle(time.Now())
		case <-stop:
			stop = nil
			s.stopping = true
		}
		timer.Stop()
	}
}

// mayRead reports whether the read-ahead stop (Limits.Workers) lets the
// loop take a record from upstream: some worker is free, and no record
// already picked waits for one. A picked record that waits means no worker
// has asked for it yet: every worker is busy, or not started (at start the
// loop would otherwise read ahead before the first worker runs).
//
// Besides, it reads while it holds fewer than Limits.Lookahead records (in
// flight or waiting): the hosts they are for are not forgotten when their
// present records are done, so their connections stay (conns.go). A host
// that comes back within about that many records of input finds them. A
// pool of more workers than that already holds as many.
func (s *Schedule) mayRead() bool {
	return s.lim.Workers == 0 || s.count < s.lim.Lookahead || (s.sent < s.lim.Workers && s.next == nil)
}

// DefaultLookahead is how many records the schedule holds at least, input
// permitting, reading lines: against a TLS handshake for each host that
// comes back after its connections were closed (bench/tls.sh's repeat
// scenarios: 1,900 handshakes for 1,000 hosts five times over at -c 64,
// 1,000 with it, as the plain pool). At -c 5000 (bench/conns.sh) reading
// that far ahead of the workers cost 17 MiB, which is why it counts the
// records in flight.
const DefaultLookahead = 1024

// step makes one move that needs no waiting: it takes the reports given
// back, sends the picked record to a fetch worker that is ready for it, or
// admits a record the source has ready, and reports whether it did.
// Under load one of these nearly always can be done, and single channel
// operations that do not block cost a fraction of the select over every
// channel that run falls back to (a third of sluice's extra CPU per record
// over a plain worker pool was in its selects).
func (s *Schedule) step(inCh chan any, outCh chan<- any, in *chan any, stop *<-chan struct{}, sweep <-chan time.Time) bool {
	// One channel per select: a select with a default and one case is a
	// single non-blocking operation; with more cases it locks them all.
	select {
	case <-s.kick:
		s.takeBack()
		return true
	default:
	}
	select {
	case <-*stop:
		*stop = nil
		s.stopping = true
		return true
	default:
	}
	select {
	case <-sweep: // also here: a loop that never has to wait must still sweep
		s.sweepIdle(time.Now())
	default:
	}
	if outCh != nil {
		select {
		case outCh <- s.next:
			s.handedOff(s.next)
			s.next = nil
			s.waiting.Add(-1)
			return true
		default:
		}
	}
	if inCh != nil {
		select {
		case v, ok := <-inCh:
			if !ok {
				*in = nil
			} else {
				s.admit(v.(*record.Record))
			}
			return true
		default:
		}
	}
	return false
}

// earliest is the next time the loop must wake by itself.
func (s *Schedule) earliest(wake time.Time) time.Time {
	at := wake
	for _, t := range []time.Time{s.delayed.peek(), s.sleeping.peek()} {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	return at
}

func (s *Schedule) admit(r *record.Record) {
	s.count++
	s.waiting.Add(1)
	if r.Err != nil || r.Host == "" || r.Skip != "" {
		s.bypass.Push(r) // nothing to fetch: no limit applies
		return
	}
	h := s.hosts[r.Host]
	if h == nil {
		h = s.newHost(r.Host)
	}
	h.queue.Push(r)
	s.wake(h)
}

func (s *Schedule) newHost(key string) *hostState {
	h := &hostState{key: key, maxConc: s.lim.hostConcurrency(key), ceiling: s.lim.hostRate(key)}
	if h.ceiling != rate.Inf {
		h.limiter = rate.NewLimiter(h.ceiling, burstFor(h.ceiling))
	}
	if s.lim.AutoThrottle {
		h.meter, h.okMeter = &rateMeter{}, &rateMeter{}
	}
	s.hosts[key] = h
	s.nhosts.Add(1)
	s.crawlDelay(h)
	if s.lim.HostBack != nil {
		s.lim.HostBack(key)
	}
	return h
}

// robotsFirst puts a request for h's robots.txt before h's records when
// --robots is on and it is not at hand, and reports whether h must wait
// for it: a request for it is under way, not the one about to go.
func (s *Schedule) robotsFirst(h *hostState, now time.Time) (wait bool) {
	if s.lim.Robots == nil {
		return false
	}
	front, _ := h.queue.Peek()
	switch {
	case h.robotsWait:
		return !front.Task.RobotsRules() // its retry goes; nothing else
	case !s.lim.Robots.Known(h.key, now):
		h.queue.PushFront(s.lim.Robots.Request(front))
		h.robotsWait = true
		s.count++
		s.waiting.Add(1)
	}
	return false
}

// robotsDone takes back h's robots.txt request: a retry keeps h waiting
// (promote makes it ready when the retry is due); otherwise h goes on, at
// its Crawl-delay.
func (s *Schedule) robotsDone(h *hostState, again bool) {
	if h.status == waitRobots {
		h.status = idle
	}
	if again {
		return
	}
	h.robotsWait = false
	s.crawlDelay(h)
	s.wake(h)
}

// crawlDelay makes h's robots.txt Crawl-delay its minimum interval, unless
// --host-rate is stricter.
func (s *Schedule) crawlDelay(h *hostState) {
	if s.lim.Robots == nil {
		return
	}
	d := s.lim.Robots.CrawlDelay(h.key)
	if limit := rate.Every(d); d > 0 && limit < h.ceiling {
		h.ceiling = limit
		h.limiter = rate.NewLimiter(limit, 1)
	}
}

// wake puts an idle host with something queued in the ready queue.
func (s *Schedule) wake(h *hostState) {
	if h.status == idle && h.queue.Len() > 0 {
		h.status = ready
		s.ready.Push(h)
	}
}

// promote moves records whose backoff is over to the front of their host's
// queue, and hosts whose wait is over to the ready queue.
func (s *Schedule) promote(now time.Time) {
	for at := s.delayed.peek(); !at.IsZero() && (s.stopping || !at.After(now)); at = s.delayed.peek() {
		r := s.delayed.pop()
		h := s.hosts[r.Host] // kept while it has delayed records
		h.delayed--
		h.queue.PushFront(r) // a retry goes before its host's new records
		s.wake(h)
	}
	for at := s.sleeping.peek(); !at.IsZero() && !at.After(now); at = s.sleeping.peek() {
		h := s.sleeping.pop()
		if h.status == sleeping && h.wakeAt.Equal(at) {
			h.status = idle
			s.wake(h)
		}
	}
}

// pick takes the next record that may be sent now. When none may, it
// returns the time the global bucket allows the next one (zero when the
// global bucket is not what stops it).
func (s *Schedule) pick(now time.Time) (*record.Record, time.Time) {
	if r, ok := s.bypass.Pop(); ok {
		return r, time.Time{}
	}
	if s.stopping {
		return s.pickAny(now), time.Time{}
	}
	if s.ready.Len() == 0 {
		return nil, time.Time{}
	}
	if s.global != nil {
		if at := tokenAt(s.global, now); at.After(now) {
			return nil, at
		}
	}
	for {
		h, ok := s.ready.Pop()
		if !ok {
			return nil, time.Time{}
		}
		h.status = idle
		switch {
		case h.queue.Len() == 0:
			s.maybeDrop(h, now)
			continue
		case h.inFlight >= h.maxConc:
			h.status = waitSlot // finish makes it ready again
			s.atLimit.Add(1)
			s.observe.Wait(h.key, WaitSlot)
			continue
		}
		if at := h.readyAt(now); at.After(now) {
			h.status, h.wakeAt = sleeping, at
			s.sleeping.push(at, h)
			s.observe.Wait(h.key, WaitRate)
			continue
		}
		if next, _ := h.queue.Peek(); !s.isPermit(next) && s.robotsFirst(h, now) { // a browser's request does not wait for robots.txt
			h.status = waitRobots // robotsDone makes it ready again
			continue
		}
		r := s.spend(h, now)
		if r.Task.RobotsRules() {
			h.status = waitRobots
		} else {
			s.wake(h) // to the back of the line: hosts take turns
		}
		return r, time.Time{}
	}
}

// spend takes a token from the global bucket and h's, and dispatches h's
// next record: its limits let it go now.
func (s *Schedule) spend(h *hostState, now time.Time) *record.Record {
	if s.global != nil {
		s.global.AllowN(now, 1)
	}
	if h.limiter != nil {
		h.limiter.AllowN(now, 1)
	}
	return s.dispatch(h, now)
}

func (s *Schedule) dispatch(h *hostState, now time.Time) *record.Record {
	r, _ := h.queue.Pop()
	if h.budget.active(now, h.inFlight) {
		h.budget.left--
	}
	h.inFlight++
	s.sent++
	if h.meter != nil {
		h.meter.add(now)
	}
	r.Sent = now
	return r
}

// pickAny takes any held record, ignoring limits: sluice is stopping and the
// fetch stage will not send it anyway.
func (s *Schedule) pickAny(now time.Time) *record.Record {
	for _, h := range s.hosts {
		if h.queue.Len() > 0 {
			return s.dispatch(h, now)
		}
	}
	return nil
}

// readyAt is when h's rate limit, pause and quota next allow a request.
func (h *hostState) readyAt(now time.Time) time.Time {
	at := now
	if h.pausedUntil.After(at) {
		at = h.pausedUntil
	}
	if h.spacedUntil.After(at) {
		at = h.spacedUntil
	}
	if h.budget.active(now, h.inFlight) && h.budget.left <= 0 && h.budget.until.After(at) {
		at = h.budget.until
	}
	if h.limiter != nil {
		if t := tokenAt(h.limiter, now); t.After(at) {
			at = t
		}
	}
	return at
}

// handedOff notes that r, dispatched at r.Sent, has reached a fetch
// worker now. Its host's token was taken at dispatch; when the record then
// waited for a worker and the host's limit is one request at a time
// (Crawl-delay, a burst of one), the next of the host's records waits a
// whole interval from now, so that the host sees its requests spaced as
// asked for however long each waited for a worker.
func (s *Schedule) handedOff(r *record.Record) {
	h := s.hosts[r.Host]
	if h == nil || h.limiter == nil || h.limiter.Burst() > 1 || r.Sent.IsZero() {
		return
	}
	lim := h.limiter.Limit()
	if lim <= 0 || lim == rate.Inf {
		return
	}
	now := time.Now()
	if now.After(r.Sent) {
		if next := now.Add(time.Duration(float64(time.Second) / float64(lim))); next.After(h.spacedUntil) {
			h.spacedUntil = next
		}
	}
}

// tokenAt is when lim next has a whole token.
func tokenAt(lim *rate.Limiter, now time.Time) time.Time {
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return now
	}
	wait := (1 - tokens) / float64(lim.Limit())
	// A microsecond more, so that float rounding cannot leave the bucket
	// just short of a token when the timer fires.
	return now.Add(time.Duration(math.Ceil(wait*1e6))*time.Microsecond + time.Microsecond)
}

func (s *Schedule) finish(rt returned, now time.Time) {
	if rt.again {
		s.waiting.Add(1)
	}
	if rt.sent.IsZero() { // a bypass record: never held a host slot
		if rt.again {
			s.bypass.Push(rt.r)
		} else {
			s.count--
		}
		return
	}
	h := s.hosts[rt.host] // kept while it has a record in flight
	h.inFlight--
	s.sent--
	var pause time.Duration
	spent := rt.quota.Spent()
	if rt.quota != nil {
		h.budget.answer(rt.quota, now, h.inFlight, s.lim.PauseMax)
		if spent {
			pause = rt.quota.Reset
		}
	}
	if (rt.status == 429 || rt.status == 503) && rt.retryAfter > 0 {
		pause = max(pause, rt.retryAfter)
		s.observe.Pause(h.key, PauseRetryAfter)
	}
	if pause > 0 {
		if until := now.Add(min(pause, s.lim.PauseMax)); until.After(h.pausedUntil) {
			h.pausedUntil = until
		}
	}
	if spent && pause > 0 {
		s.observe.Pause(h.key, PauseQuota)
	}
	if s.lim.AutoThrottle {
		s.adapt(h, rt, now)
	}
	if rt.robots {
		s.robotsDone(h, rt.again)
	}
	if rt.again {
		h.delayed++
		s.delayed.push(rt.notBefore, rt.r)
	} else {
		s.count--
	}
	if h.status == waitSlot {
		h.status = idle
		s.atLimit.Add(-1)
		s.wake(h)
	}
	s.maybeDrop(h, now)
}

// adapt feeds an attempt's outcome to the host's auto-throttle.
func (s *Schedule) adapt(h *hostState, rt returned, now time.Time) {
	spent := rt.quota.Spent() && rt.quota.Reset > 0
	overload := rt.status == 429 || rt.status == 503 || rt.timedOut || spent
	if !overload && rt.status != 0 {
		h.okMeter.add(now)
	}
	if h.throttle == nil {
		if !overload {
			return
		}
		ceiling := float64(h.ceiling)
		if h.ceiling == rate.Inf { // rate.Inf is MaxFloat64, not +Inf
			ceiling = math.Inf(1)
		}
		h.throttle = newAIMD(ceiling)
	}
	var changed, lifted bool
	if overload {
		changed = h.throttle.overload(now, rt.sent, h.meter.rate(now), h.okMeter.rate(now), max(rt.retryAfter, quotaReset(rt.quota)))
	} else if rt.status != 0 {
		changed, lifted = h.throttle.good(now)
	}
	switch {
	case lifted: // back to the configured limits
		h.throttle, h.limiter = nil, nil
		if h.ceiling != rate.Inf {
			h.limiter = rate.NewLimiter(h.ceiling, burstFor(h.ceiling))
		}
		s.observe.Rate(h.key, 0)
	case changed:
		limit := rate.Limit(h.throttle.rate)
		if h.limiter == nil {
			h.limiter = rate.NewLimiter(limit, burstFor(limit))
		} else {
			h.limiter.SetLimitAt(now, limit)
			h.limiter.SetBurstAt(now, burstFor(limit))
		}
		s.observe.Rate(h.key, h.throttle.rate)
	}
}

// quotaReset is how long a spent quota lasts; 0 when it is not spent.
func quotaReset(q *record.Quota) time.Duration {
	if q.Spent() {
		return q.Reset
	}
	return 0
}

// maybeDrop forgets an idle host whose state no longer limits anything.
func (s *Schedule) maybeDrop(h *hostState, now time.Time) {
	switch {
	case h.status != idle, h.queue.Len() > 0, h.inFlight > 0, h.delayed > 0, h.pausedUntil.After(now), h.spacedUntil.After(now), h.budget.until.After(now):
		return
	case h.limiter != nil && h.limiter.TokensAt(now) < float64(h.limiter.Burst()):
		return // a new state would start with a full bucket: too early
	case h.throttle != nil && !h.throttle.settled(now):
		return
	}
	delete(s.hosts, h.key)
	s.nhosts.Add(-1)
	if s.lim.HostDone != nil {
		s.lim.HostDone(h.key)
	}
}

func (s *Schedule) sweepIdle(now time.Time) {
	for _, h := range s.hosts {
		s.maybeDrop(h, now)
	}
}

// timeHeap is a min-heap of values by time.
type timeHeap[T any] struct{ items []timed[T] }

type timed[T any] struct {
	at time.Time
	v  T
}

func (h *timeHeap[T]) Len() int           { return len(h.items) }
func (h *timeHeap[T]) Less(i, j int) bool { return h.items[i].at.Before(h.items[j].at) }
func (h *timeHeap[T]) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *timeHeap[T]) Push(x any)         { h.items = append(h.items, x.(timed[T])) }
func (h *timeHeap[T]) Pop() any {
	last := h.items[len(h.items)-1]
	h.items[len(h.items)-1] = timed[T]{}
	h.items = h.items[:len(h.items)-1]
	return last
}

func (h *timeHeap[T]) push(at time.Time, v T) { heap.Push(h, timed[T]{at, v}) }
func (h *timeHeap[T]) pop() T                 { return heap.Pop(h).(timed[T]).v }

// peek returns the earliest time, or zero when the heap is empty.
func (h *timeHeap[T]) peek() time.Time {
	if len(h.items) == 0 {
		return time.Time{}
	}
	return h.items[0].at
}
