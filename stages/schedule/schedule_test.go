package schedule

import (
	"context"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"golang.org/x/time/rate"

	"sluice/record"
)

// loop is the real schedule -> fetch -> schedule loop with a fake fetcher:
// respond plays the server, in synctest's virtual time.
type loop struct {
	stats *quotaPauses
	sched *Schedule
	stop  chan struct{}
	out   <-chan any

	mu   sync.Mutex
	sent map[string][]time.Duration // dispatch times by host, from the start
}

func limits(mod func(*Limits)) Limits {
	l := Limits{Rate: rate.Inf, HostRate: rate.Inf, HostConcurrency: 1000, Window: 1024, PauseMax: time.Minute}
	if mod != nil {
		mod(&l)
	}
	return l
}

// fakeFetcher plays the server in place of a Fetcher: it counts the
// attempt, notes when it was sent and lets respond fill in the result.
type fakeFetcher struct {
	l       *loop
	start   time.Time
	respond func(r *record.Record)
}

// FetchRobots plays the server for a robots.txt as for any record.
func (f *fakeFetcher) FetchRobots(ctx context.Context, r *record.Record) { f.Fetch(ctx, r) }

func (f *fakeFetcher) Fetch(_ context.Context, r *record.Record) {
	r.NewAttempt()
	r.Attempts++
	r.Replayable = true // a GET
	f.l.mu.Lock()
	f.l.sent[r.Host] = append(f.l.sent[r.Host], time.Since(f.start))
	f.l.mu.Unlock()
	f.respond(r)
}

func newLoop(t *testing.T, lim Limits, pol RetryPolicy, workers int, respond func(r *record.Record)) *loop {
	t.Helper()
	l := &loop{stop: make(chan struct{}), sent: map[string][]time.Duration{}, stats: &quotaPauses{}}
	var err error
	l.sched, err = NewSchedule(l.stop, lim, Observers{l.stats})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeFetcher{l: l, start: time.Now(), respond: respond}
	l.out = l.sched.Via(FetchFlow(context.Background(), l.stop, f, workers, l.sched, pol, nil, lim.Robots, nil)).Out()
	return l
}

// feed sends n records for host, numbered from seq, then returns.
func (l *loop) feed(host string, seq, n int) {
	for i := range n {
		u := &url.URL{Scheme: "http", Host: host, Path: "/" + strconv.Itoa(seq+i)}
		l.sched.In() <- &record.Record{Seq: int64(seq + i), URL: u.String(), Target: u, Host: host}
	}
}

// feedCounted sends n records for a.test from a goroutine, then closes the
// input; the counter says how many the schedule has taken so far.
func (l *loop) feedCounted(n int) *atomic.Int64 {
	var taken atomic.Int64
	go func() {
		for i := range n {
			l.sched.In() <- &record.Record{Seq: int64(i + 1), URL: "http://a.test/", Host: "a.test"}
			taken.Add(1)
		}
		close(l.sched.In())
	}()
	return &taken
}

// batch is n records for one host.
type batch struct {
	host string
	n    int
}

// run feeds the batches in order, numbering the records from 1, closes the
// input and collects every record; all of them must come out.
func (l *loop) run(t *testing.T, batches ...batch) ([]*record.Record, []time.Duration) {
	t.Helper()
	total := 0
	for _, b := range batches {
		total += b.n
	}
	go func() {
		seq := 1
		for _, b := range batches {
			l.feed(b.host, seq, b.n)
			seq += b.n
		}
		close(l.sched.In())
	}()
	recs, at := l.collect()
	if len(recs) != total {
		t.Fatalf("%d records out of %d", len(recs), total)
	}
	return recs, at
}

// collect reads every record until the loop ends, with its completion time.
func (l *loop) collect() (recs []*record.Record, at []time.Duration) {
	start := time.Now()
	for v := range l.out {
		recs = append(recs, v.(*record.Record))
		at = append(at, time.Since(start))
	}
	return recs, at
}

func (l *loop) sentTimes(host string) []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Duration(nil), l.sent[host]...)
}

var noRetry = RetryPolicy{Statuses: DefaultRetryStatuses, Base: time.Millisecond, Max: time.Minute}

func ok200(r *record.Record) { r.Status = 200 }

// --rate 50 for 10 s: 500 requests within 5%, and no second holds more than
// rate + burst, over many hosts.
func TestScheduleGlobalRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLoop(t, limits(func(l *Limits) { l.Rate = 50 }), noRetry, 100, ok200)
		var batches []batch
		for i := range 10 {
			batches = append(batches, batch{fmt.Sprintf("h%d.test", i), 70})
		}
		l.run(t, batches...)
		var all []time.Duration
		for i := range 10 {
			all = append(all, l.sentTimes(fmt.Sprintf("h%d.test", i))...)
		}
		perSecond := map[int]int{}
		in10s := 0
		for _, d := range all {
			perSecond[int(d/time.Second)]++
			if d < 10*time.Second {
				in10s++
			}
		}
		if in10s < 475 || in10s > 525 {
			t.Errorf("%d requests in the first 10 s at --rate 50; want 500 ± 5%%", in10s)
		}
		for sec, n := range perSecond {
			if n > 50+1 {
				t.Errorf("second %d holds %d requests; want at most rate + burst = 51", sec, n)
			}
		}
	})
}

// 200 records for a throttled host A, listed before 200 for host B: B's all
// finish before A's third.
func TestScheduleNoHeadOfLineBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := limits(func(l *Limits) {
			l.HostRates = map[string]rate.Limit{"a.test": 2}
			l.HostConcurrency = 10
		})
		l := newLoop(t, lim, noRetry, 20, func(r *record.Record) {
			time.Sleep(10 * time.Millisecond)
			r.Status = 200
		})
		recs, at := l.run(t, batch{"a.test", 200}, batch{"b.test", 200})
		var lastB time.Duration
		var aDone []time.Duration
		for i, r := range recs {
			if r.Host == "b.test" {
				lastB = max(lastB, at[i])
			} else {
				aDone = append(aDone, at[i])
			}
		}
		if lastB >= aDone[2] {
			t.Errorf("last of B done at %v, A's third at %v; want all of B before A's third", lastB, aDone[2])
		}
		if last := aDone[len(aDone)-1]; last < 99*time.Second {
			t.Errorf("A's 200 records at 2/s done by %v; want about 100 s", last)
		}
		t.Logf("B's 200 done by %v; A's 3rd at %v, A's 200th at %v", lastB, aDone[2], aDone[len(aDone)-1])
	})
}

// A host that answers 429 with Retry-After: 2 gets no request for 2 s, while
// another host keeps going; the 429'd record is retried after the pause.
func TestScheduleRetryAfterPausesHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var once sync.Once
		var pausedAt time.Duration
		start := time.Now()
		lim := limits(func(l *Limits) { l.HostConcurrency = 1 })
		pol := RetryPolicy{Retries: 2, Statuses: DefaultRetryStatuses, Base: time.Millisecond, Max: time.Minute}
		l := newLoop(t, lim, pol, 10, func(r *record.Record) {
			time.Sleep(100 * time.Millisecond)
			r.Status = 200
			if r.Host == "a.test" {
				once.Do(func() {
					r.Status, r.RetryAfter = 429, 2*time.Second
					pausedAt = time.Since(start)
				})
			}
		})
		recs, _ := l.run(t, batch{"a.test", 5}, batch{"b.test", 50})
		a, b := l.sentTimes("a.test"), l.sentTimes("b.test")
		if len(a) != 6 {
			t.Fatalf("a.test got %d requests; want 5 and one retry", len(a))
		}
		if gap := a[1] - a[0]; gap < 2*time.Second+100*time.Millisecond {
			t.Errorf("a.test's next request %v after the 429 was sent; want at least the 2 s pause after the answer", gap)
		}
		during := 0
		for _, d := range b {
			if d > pausedAt && d < pausedAt+2*time.Second {
				during++
			}
		}
		if during < 15 {
			t.Errorf("b.test got %d requests during a.test's 2 s pause; want it to keep going (~20)", during)
		}
		for _, r := range recs {
			if r.Status != 200 {
				t.Errorf("record %d ended with status %d; want 200 after the retry", r.Seq, r.Status)
			}
		}
	})
}

// A response whose rate-limit fields say the quota is spent pauses its host
// until the reset, whatever its status, and --stats counts the pause; the
// other host keeps going.
func TestScheduleQuotaPausesHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var once sync.Once
		var pausedAt time.Duration
		start := time.Now()
		lim := limits(func(l *Limits) { l.HostConcurrency = 1 })
		pol := RetryPolicy{Retries: 2, Statuses: DefaultRetryStatuses, Base: time.Millisecond, Max: time.Minute}
		l := newLoop(t, lim, pol, 10, func(r *record.Record) {
			time.Sleep(100 * time.Millisecond)
			r.Status = 200
			if r.Host == "a.test" {
				once.Do(func() {
					r.Quota = &record.Quota{Reset: 3 * time.Second} // RateLimit: "default";r=0;t=3
					pausedAt = time.Since(start)
				})
			}
		})
		l.run(t, batch{"a.test", 5}, batch{"b.test", 50})
		a, b := l.sentTimes("a.test"), l.sentTimes("b.test")
		if len(a) != 5 {
			t.Fatalf("a.test got %d requests; want 5, none retried (the answer was a 200)", len(a))
		}
		if gap := a[1] - a[0]; gap < 3*time.Second+100*time.Millisecond {
			t.Errorf("a.test's next request %v after the spent quota was sent; want the 3 s to the reset after the answer", gap)
		}
		during := 0
		for _, d := range b {
			if d > pausedAt && d < pausedAt+3*time.Second {
				during++
			}
		}
		if during < 20 {
			t.Errorf("b.test got %d requests during a.test's pause; want it to keep going (~30)", during)
		}
		if got := l.stats.n.Load(); got != 1 {
			t.Errorf("--stats counts %d quota pauses; want 1", got)
		}
	})
}

// One worker: a record waiting out a long backoff (Retry-After: 2) holds no
// worker, so 50 records for another host behind it all finish first, and
// the waiting record comes out last, after its second attempt.
func TestScheduleRetryWaitHoldsNoWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pol := RetryPolicy{Retries: 1, Statuses: DefaultRetryStatuses, Base: time.Millisecond, Max: time.Minute}
		l := newLoop(t, limits(nil), pol, 1, func(r *record.Record) {
			time.Sleep(10 * time.Millisecond)
			r.Status = 200
			if r.Host == "a.test" {
				r.Status, r.RetryAfter = 503, 2*time.Second
			}
		})
		recs, _ := l.run(t, batch{"a.test", 1}, batch{"b.test", 50})
		last := recs[len(recs)-1]
		if last.Host != "a.test" || last.Status != 503 || last.Attempts != 2 {
			t.Errorf("last record out: %s, status %d after %d attempts; want a.test's, 503 after 2, behind all 50 of b.test's",
				last.Host, last.Status, last.Attempts)
		}
	})
}

// overloadServer answers 429 when it has answered limit requests within the
// last second, until it is lifted.
type overloadServer struct {
	mu     sync.Mutex
	limit  int
	lifted bool
	recent []time.Time
}

func (s *overloadServer) respond(r *record.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for len(s.recent) > 0 && now.Sub(s.recent[0]) >= time.Second {
		s.recent = s.recent[1:]
	}
	if !s.lifted && len(s.recent) >= s.limit {
		r.Status = 429
		return
	}
	s.recent = append(s.recent, now)
	r.Status = 200
}

// --auto-throttle against a server that allows 20 requests/s: the rate
// settles near 20/s with most requests succeeding, and climbs back when the
// limit is lifted. With fast answers the first requests go out as one
// burst, which must not read as a huge rate to cut from.
func TestScheduleAutoThrottle(t *testing.T) {
	tests := []struct {
		name       string
		hostRate   rate.Limit
		latency    time.Duration
		recoverMin float64 // requests/s 10-20 s after the limit is lifted
	}{
		{"back toward --host-rate 100", 100, 20 * time.Millisecond, 60},
		{"no --host-rate, answers in 1 ms", rate.Inf, time.Millisecond, 30},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				settled, okShare, recovered := autoThrottleRun(t, tc.hostRate, tc.latency)
				if settled < 14 || settled > 26 || okShare < 0.8 {
					t.Errorf("20-40 s under a 20/s limit: %.1f requests/s, %.0f%% ok; want near 20/s and most ok", settled, 100*okShare)
				}
				if recovered < tc.recoverMin {
					t.Errorf("10-20 s after the limit was lifted: %.1f requests/s; want at least %v", recovered, tc.recoverMin)
				}
				t.Logf("settled at %.1f/s (%.0f%% ok); %.1f/s after the limit was lifted", settled, 100*okShare, recovered)
			})
		})
	}
}

// autoThrottleRun drives one host under auto-throttle for 60 s of virtual
// time; the server's 20/s limit is lifted at 40 s.
func autoThrottleRun(t *testing.T, hostRate rate.Limit, latency time.Duration) (settled, okShare, recovered float64) {
	srv := &overloadServer{limit: 20}
	lim := limits(func(l *Limits) {
		l.HostRate = hostRate
		l.AutoThrottle = true
		l.HostConcurrency = 50
	})
	l := newLoop(t, lim, noRetry, 50, func(r *record.Record) {
		time.Sleep(latency)
		srv.respond(r)
	})
	stopFeeding := make(chan struct{})
	go func() {
		defer close(l.sched.In())
		for i := 0; ; i++ {
			select {
			case l.sched.In() <- &record.Record{Seq: int64(i + 1), URL: "http://a.test/", Host: "a.test"}:
			case <-stopFeeding:
				return
			}
		}
	}()
	start := time.Now()
	var recs []*record.Record
	var at []time.Duration
	liftAt, endAt := 40*time.Second, 60*time.Second
	for v := range l.out {
		d := time.Since(start)
		recs = append(recs, v.(*record.Record))
		at = append(at, d)
		if d >= liftAt {
			srv.mu.Lock()
			srv.lifted = true
			srv.mu.Unlock()
		}
		if d >= endAt && !stopped(l.stop) {
			close(stopFeeding)
			close(l.stop)
		}
	}
	rateIn := func(from, to time.Duration) (perSec float64, okShare float64) {
		n, ok := 0, 0
		for i, r := range recs {
			if at[i] >= from && at[i] < to && r.Err == nil {
				n++
				if r.Status == 200 {
					ok++
				}
			}
		}
		return float64(n) / (to - from).Seconds(), float64(ok) / float64(max(n, 1))
	}
	settled, okShare = rateIn(20*time.Second, 40*time.Second)
	recovered, _ = rateIn(50*time.Second, 60*time.Second)
	return settled, okShare, recovered
}

// Every attempt fails and is retried, with one worker and a window of one:
// every record still comes out, after all its attempts.
func TestScheduleNoDeadlockSmallestWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := limits(func(l *Limits) { l.Window = 1; l.HostConcurrency = 1 })
		pol := RetryPolicy{Retries: 2, Statuses: DefaultRetryStatuses, Base: 10 * time.Millisecond, Max: time.Second}
		l := newLoop(t, lim, pol, 1, func(r *record.Record) { r.Fail(record.KindConnect, "refused") })
		go func() {
			l.feed("a.test", 1, 20)
			l.sched.In() <- &record.Record{Seq: 21, URL: "nope", Response: record.Response{Err: &record.Error{Kind: record.KindInvalidInput}}}
			l.feed("b.test", 22, 20)
			close(l.sched.In())
		}()
		recs, _ := l.collect()
		if len(recs) != 41 {
			t.Fatalf("%d records out of 41", len(recs))
		}
		for _, r := range recs {
			want := 3
			if r.Seq == 21 {
				want = 0
			}
			if r.Attempts != want {
				t.Errorf("record %d: %d attempts; want %d", r.Seq, r.Attempts, want)
			}
		}
	})
}

// The window bounds what is read: with a throttled host, the stage takes no
// more than Window records from upstream.
func TestScheduleWindowIsBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Workers is set: a throttled host still reads ahead to the window.
		lim := limits(func(l *Limits) { l.Window = 5; l.HostRate = 1; l.Workers = 4 })
		l := newLoop(t, lim, noRetry, 4, ok200)
		taken := l.feedCounted(20)
		go l.collect()
		time.Sleep(500 * time.Millisecond) // one request has gone, none has finished the window
		synctest.Wait()
		if got := taken.Load(); got != 5+1 { // the window, plus the one record that left it (sent at t=0)
			t.Errorf("took %d records at 0.5 s with a window of 5 and 1 request done; want 6", got)
		}
		close(l.stop) // release the rest
	})
}

// With every worker busy and nothing throttled, the stage reads no further
// ahead: only as many records as there are workers are taken from upstream,
// not the window, and all of them still come out.
func TestScheduleNoReadAheadWhileWorkersBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := limits(func(l *Limits) { l.Workers = 4 })
		l := newLoop(t, lim, noRetry, 4, func(r *record.Record) {
			time.Sleep(time.Second)
			r.Status = 200
		})
		taken := l.feedCounted(100)
		done := make(chan int)
		go func() {
			recs, _ := l.collect()
			done <- len(recs)
		}()
		time.Sleep(500 * time.Millisecond) // four requests under way, none done
		synctest.Wait()
		if got := taken.Load(); got != 4 {
			t.Errorf("took %d records with 4 workers busy and a window of 1024; want 4", got)
		}
		if n := <-done; n != 100 {
			t.Errorf("%d records out of 100", n)
		}
	})
}

// Closing stop releases every held record at once, ignoring limits.
func TestScheduleStopReleasesAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := limits(func(l *Limits) { l.HostRate = 1 })
		pol := RetryPolicy{Retries: 2, Statuses: DefaultRetryStatuses, Base: time.Hour, Max: time.Hour}
		l := newLoop(t, lim, pol, 4, func(r *record.Record) { r.Status = 503 })
		start := time.Now()
		go func() {
			time.Sleep(2500 * time.Millisecond)
			close(l.stop)
		}()
		recs, at := l.run(t, batch{"a.test", 50})
		byOutcome := map[string]int{}
		for i, r := range recs {
			if at[i] > 2600*time.Millisecond {
				t.Errorf("record %d came out at %v; want at the stop (2.5 s)", r.Seq, at[i])
			}
			switch {
			case r.Status == 503:
				byOutcome["503, waiting for a retry"]++
			case r.Err != nil && r.Err.Kind == record.KindCanceled:
				byOutcome["canceled"]++
			}
		}
		// Three requests went at 0, 1 and 2 s (1/s): they keep their 503.
		if byOutcome["503, waiting for a retry"] != 3 || byOutcome["canceled"] != 47 {
			t.Errorf("outcomes %v after %v; want 3 with their last result (503), 47 canceled", byOutcome, time.Since(start))
		}
	})
}

// Per-host state is dropped once a host has nothing waiting or in flight and
// its bucket has refilled: a thousand hosts leave nothing behind.
func TestScheduleForgetsIdleHosts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := limits(func(l *Limits) { l.HostRate = 10 })
		l := newLoop(t, lim, noRetry, 50, ok200)
		done := make(chan struct{})
		go func() {
			for i := range 1000 {
				l.feed(fmt.Sprintf("h%d.test", i), i+1, 1)
			}
			<-done // keep the input open while the schedule sweeps
			close(l.sched.In())
		}()
		go func() {
			time.Sleep(3 * time.Second) // buckets refill in 0.1 s; sweeps run every second
			close(done)
		}()
		recs, _ := l.collect()
		if len(recs) != 1000 {
			t.Fatalf("%d records out of 1000", len(recs))
		}
		// Out is closed: the schedule goroutine has ended, its state is ours to read.
		if n := len(l.sched.hosts); n != 0 {
			t.Errorf("schedule still holds state for %d idle hosts; want 0", n)
		}
	})
}

// A finished record's report to the schedule does not keep the record (and
// its body) alive while the schedule goroutine has not taken it yet: the
// record has gone downstream and may be long written. A record to be sent
// again is kept, since the schedule owns it until then.
func TestGiveBackKeepsOnlyRecordsToRetry(t *testing.T) {
	s, err := NewSchedule(nil, Limits{Rate: rate.Inf, HostRate: rate.Inf, HostConcurrency: 1, Window: 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Never started: the reports wait in the backlog, as they do while the
	// schedule goroutine is starved for CPU.
	done := &record.Record{Seq: 1, Host: "a.test", Sent: time.Now(), Response: record.Response{Status: 200, Body: make([]byte, 1<<20)}}
	again := &record.Record{Seq: 2, Host: "a.test", Sent: time.Now(), Response: record.Response{Status: 503}}
	doneRef, againRef := weak.Make(done), weak.Make(again)
	s.Done(done)
	s.Again(again, time.Now())
	done, again = nil, nil
	runtime.GC()
	if doneRef.Value() != nil {
		t.Error("a finished record is kept by its report to the schedule")
	}
	if againRef.Value() == nil {
		t.Error("a record to retry was dropped from the schedule's backlog")
	}
	runtime.KeepAlive(s)
}

// quotaServer plays an API that allows limit requests per fixed window
// and says so on each answer, as the site's /quota pages do: what remains,
// the seconds to the reset rounded up, and the policy when it has one.
type quotaServer struct {
	mu            sync.Mutex
	start         time.Time
	limit         int
	window        time.Duration
	policy        bool // say the quota's size and window (RateLimit-Policy)
	index         int64
	used, tooMany int
}

func (s *quotaServer) respond(r *record.Record) {
	time.Sleep(50 * time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Since(s.start)
	if i := int64(now / s.window); i != s.index {
		s.index, s.used = i, 0
	}
	r.Status = 200
	if s.used >= s.limit {
		r.Status = 429
		s.tooMany++
	} else {
		s.used++
	}
	reset := time.Duration(s.index+1)*s.window - now
	reset = (reset + time.Second - 1).Truncate(time.Second) // whole seconds, rounded up
	r.Quota = &record.Quota{Remaining: int64(s.limit - s.used), Reset: reset}
	if s.policy {
		r.Quota.Limit, r.Quota.Window = int64(s.limit), s.window
	}
	if r.Status == 429 {
		r.RetryAfter = reset
	}
}

// Twenty requests at -c 4 to a host that allows 5 per 2 s and says so: the
// quota is a budget that counts the requests in flight, so at most one
// answer per window is a 429 (there were 8 to 9 when the host paused only
// once an answer said nothing remained), and the budget does not slow the
// host below its quota: the 20 take four windows.
func TestScheduleQuotaBudget(t *testing.T) {
	for _, policy := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			srv := &quotaServer{start: time.Now(), limit: 5, window: 2 * time.Second, policy: policy}
			pol := RetryPolicy{Retries: 10, Statuses: DefaultRetryStatuses, Base: time.Millisecond, Max: time.Minute}
			l := newLoop(t, limits(nil), pol, 4, srv.respond)
			l.run(t, batch{"a.test", 20})
			took := time.Since(srv.start)
			windows := int(took/srv.window) + 1
			t.Logf("policy %v: %d requests, %d answered 429, in %v (%d windows)", policy, len(l.sentTimes("a.test")), srv.tooMany, took, windows)
			if srv.tooMany > windows {
				t.Errorf("policy %v: %d answers were 429 over %d windows; want at most one a window", policy, srv.tooMany, windows)
			}
			if took > 8*time.Second {
				t.Errorf("policy %v: the 20 requests took %v; want four windows of 2 s, at most 8 s", policy, took)
			}
		})
	}
}

// The budget's arithmetic: in-flight requests count against what an answer
// says remains; a later answer in the window only tightens it; a policy's
// window renews it whole (less what is in flight) when it ends; without a
// policy it lapses.
func TestQuotaBudget(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var b quotaBudget
	b.answer(&record.Quota{Remaining: 4, Reset: 2 * time.Second, Limit: 5, Window: 2 * time.Second}, now, 3, time.Minute)
	if !b.active(now, 3) || b.left != 1 {
		t.Fatalf("after r=4 with 3 in flight: active %v, left %d; want 1", b.active(now, 3), b.left)
	}
	b.answer(&record.Quota{Remaining: 9, Reset: time.Second}, now.Add(100*time.Millisecond), 0, time.Minute)
	if b.left != 1 || !b.until.Equal(now.Add(2*time.Second)) {
		t.Errorf("a later answer with more left: left %d until %v; want 1 until the window's end", b.left, b.until)
	}
	b.answer(&record.Quota{Remaining: 0, Reset: time.Second, Limit: 5, Window: 2 * time.Second}, now.Add(200*time.Millisecond), 0, time.Minute)
	if b.left != 0 {
		t.Errorf("r=0: left %d", b.left)
	}
	if !b.active(now.Add(2500*time.Millisecond), 2) || b.left != 3 || !b.until.Equal(now.Add(4*time.Second)) {
		t.Errorf("the next window: left %d until %v; want 5-2 until 4 s", b.left, b.until)
	}
	var x quotaBudget
	x.answer(&record.Quota{Remaining: 2, Reset: time.Second}, now, 0, time.Minute)
	if x.active(now.Add(time.Second), 0) {
		t.Error("a budget without a policy holds past its reset")
	}
	var capped quotaBudget
	capped.answer(&record.Quota{Remaining: 0, Reset: time.Hour}, now, 0, time.Minute)
	if !capped.until.Equal(now.Add(time.Minute)) {
		t.Errorf("a reset past --retry-max: until %v; want a minute", capped.until)
	}
}

// quotaPauses is an Observer that counts the hosts paused for a spent quota.
type quotaPauses struct{ n atomic.Int64 }

func (q *quotaPauses) Attempt(*record.Record, time.Duration) {}
func (q *quotaPauses) Retry(string)                          {}
func (q *quotaPauses) Wait(string, Wait)                     {}
func (q *quotaPauses) Rate(string, float64)                  {}
func (q *quotaPauses) Pause(_ string, why Pause) {
	if why == PauseQuota {
		q.n.Add(1)
	}
}

// A host limited to one request at a time keeps its spacing as the
// server sees it, even when its record waited for a busy worker after
// its token was taken: the next goes a whole interval after this one
// really went, not after its token.
func TestScheduleSpacingCountsFromTheWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := limits(func(l *Limits) { l.HostRates = map[string]rate.Limit{"a.test": 0.5} }) // one every 2 s
		l := newLoop(t, lim, RetryPolicy{}, 1, func(r *record.Record) {
			if r.Seq == 1 {
				time.Sleep(2300 * time.Millisecond) // the only worker is still busy when the second's token comes
			}
			r.Status = 200
		})
		l.run(t, batch{"a.test", 3})
		a := l.sentTimes("a.test")
		if len(a) != 3 {
			t.Fatalf("a.test: %d requests; want 3", len(a))
		}
		for i := 1; i < len(a); i++ {
			if gap := a[i] - a[i-1]; gap < 2*time.Second {
				t.Errorf("a.test requests %d and %d went %v apart; want at least the 2 s its limit asks", i, i+1, gap)
			}
		}
	})
}
