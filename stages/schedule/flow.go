package schedule

import (
	"context"
	"math/rand/v2"
	"time"

	"sluice/flow"
	"sluice/record"
	"sluice/stages/robots"
)

// Returner takes a record back from the fetch stage after each attempt: the
// schedule, which holds the window and the host slots. It never blocks.
type Returner interface {
	// Done: r is finished and goes on downstream, where later stages own it.
	Done(r *record.Record)
	// Again: r is to be sent again, not before at; the Returner owns it
	// until it sends it again.
	Again(r *record.Record, at time.Time)
}

// Doer performs one attempt for a record: a *fetch.Fetcher, or a fake in
// tests.
type Doer interface {
	Fetch(ctx context.Context, r *record.Record)
	// FetchRobots performs one attempt at a host's robots.txt for --robots
	// (a record from robots.Robots.Request).
	FetchRobots(ctx context.Context, r *record.Record)
}

// settler is a Doer told of a record's last attempt (the Fetcher counts
// its --cache outcomes there, not at each attempt).
type settler interface{ Settled(r *record.Record) }

// FetchFlow is the fetch stage: workers goroutines take records from the
// schedule, make an attempt with f, and decide by p whether the record is
// finished (it goes on downstream, and back learns it is Done) or goes round
// again after its backoff (back takes it, Again). back may be nil: then no
// record goes again. The decision is taken in the worker rather than in a
// stage of its own, which would cost every record two more goroutine
// hand-offs. Records waiting for a retry are held by back, in its window:
// they hold no fetch worker and no host slot, and obey every limit when
// they go again.
//
// A record that passes (record.Record.Passes) before its first attempt goes
// by untouched. A record whose queue partition this worker no longer holds
// (acks.Revoked; acks is nil without a queue) is not sent: it is marked
// canceled, which hands it back. Once stop is closed no attempt starts: a
// record that has had one keeps its last result, one that never had one is
// marked
// canceled. ctx cancels the attempts in flight (the pipeline cancels it
// when the grace period ends).
func FetchFlow(ctx context.Context, stop <-chan struct{}, f Doer, workers int, back Returner, p RetryPolicy, obs Observers, robots *robots.Robots, acks *flow.Acks) *flow.Pool {
	return flow.NewPool(workers, func(r *record.Record) bool {
		if r.Task.RobotsRules() {
			fetchRobots(ctx, stop, f, back, p, obs, robots, r)
			return false
		}
		if robots != nil && r.Task != nil && r.Task.Origin == record.OriginRobots {
			// --sitemaps with --robots: the schedule fetched this host's
			// robots.txt before anything of the host went; the discover
			// stage reads its Sitemap lines from the cache, not a second copy.
			if back != nil {
				back.Done(r)
			}
			return true
		}
		allowed, why := true, ""
		if robots != nil && r.Attempts == 0 && !r.Passes() {
			allowed, why = robots.Allowed(r)
		}
		switch {
		case r.Attempts == 0 && r.Passes():
		case acks.Revoked(r):
			// Another worker may own the partition, and the host, now:
			// back to the queue, for whoever owns it, without a request.
			r.Fail(record.KindCanceled, "not started: this worker lost the partition's lease")
		case stopped(stop) && r.Attempts > 0: // a retry that was not started
		case stopped(stop):
			r.Fail(record.KindCanceled, "not started: sluice was stopping")
		case !allowed:
			r.Fail(record.KindRobots, "%s", why)
		default:
			if attempt(ctx, stop, f, f.Fetch, back, p, obs, r) {
				return false
			}
		}
		if back != nil {
			back.Done(r)
		}
		return true
	})
}

// attempt makes one attempt for r with fetch (one of f's) and reports
// whether r goes round again:
// then back holds it until its backoff is over.
func attempt(ctx context.Context, stop <-chan struct{}, f Doer, fetch func(context.Context, *record.Record), back Returner, p RetryPolicy, obs Observers, r *record.Record) (again bool) {
	fetch(ctx, r)
	if back == nil || stopped(stop) || !p.retryable(r) {
		if s, ok := f.(settler); ok {
			s.Settled(r)
		}
		return false
	}
	obs.Retry(r.Host)
	back.Again(r, time.Now().Add(p.backoff(r, rand.Int64N)))
	return true
}

// fetchRobots makes a --robots request for a host's robots.txt: retried as
// any request, then kept in robots, and never written. back learns it is
// done, which lets the host's records go.
func fetchRobots(ctx context.Context, stop <-chan struct{}, f Doer, back Returner, p RetryPolicy, obs Observers, robots *robots.Robots, r *record.Record) {
	if !stopped(stop) {
		if attempt(ctx, stop, f, f.FetchRobots, back, p, obs, r) {
			return
		}
		robots.Store(r)
	}
	r.Body, r.Header = nil, nil
	if back != nil {
		back.Done(r)
	}
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}
