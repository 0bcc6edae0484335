package schedule

import (
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"sluice/record"
	"sluice/stages/robots"
)

// Through the schedule: each host's robots.txt goes first and once, nothing
// else of that host goes before its answer, a disallowed URL is an error of
// kind robots without an attempt, and Crawl-delay spaces the host's
// requests while the other host goes at full speed.
func TestScheduleRobots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rb := robots.NewRobots("sluice")
		lim := limits(func(l *Limits) { l.Robots = rb })
		pol := RetryPolicy{Retries: 0}
		var mu sync.Mutex
		robotsAnswered := map[string]time.Duration{}
		start := time.Now()
		l := newLoop(t, lim, pol, 8, func(r *record.Record) {
			time.Sleep(50 * time.Millisecond)
			r.Status = 200
			if r.Task.RobotsRules() {
				mu.Lock()
				robotsAnswered[r.Host] = time.Since(start)
				mu.Unlock()
				if r.Host == "a.test" {
					r.Body = []byte("User-agent: *\nCrawl-delay: 2\nDisallow: /3\n")
				}
			}
		})
		recs, _ := l.run(t, batch{"a.test", 5}, batch{"b.test", 20})
		a, b := l.sentTimes("a.test"), l.sentTimes("b.test")
		if len(a) != 5 || len(b) != 21 { // a: robots.txt and 4 records (/3 is disallowed); b: robots.txt and 20
			t.Fatalf("a.test %d requests, b.test %d; want 5 and 21", len(a), len(b))
		}
		if a[1] < robotsAnswered["a.test"] || b[1] < robotsAnswered["b.test"] {
			t.Errorf("a record went before its host's robots.txt was answered: a %v b %v, robots %v", a[:2], b[:2], robotsAnswered)
		}
		for i := 2; i < len(a); i++ {
			if gap := a[i] - a[i-1]; gap < 2*time.Second {
				t.Errorf("a.test requests %d and %d %v apart; want the Crawl-delay of 2 s", i-1, i, gap)
			}
		}
		if last := b[len(b)-1]; last > 2*time.Second {
			t.Errorf("b.test's last request at %v; want it unhindered by a.test's Crawl-delay", last)
		}
		robots := 0
		for _, r := range recs {
			if r.Err != nil && r.Err.Kind == record.KindRobots {
				robots++
				if r.Attempts != 0 || !strings.HasSuffix(r.URL, "/3") {
					t.Errorf("record %s: %d attempts; want the disallowed /3 with none", r.URL, r.Attempts)
				}
			}
		}
		if robots != 1 || len(recs) != 25 {
			t.Errorf("%d records, %d of kind robots; want 25 and 1", len(recs), robots)
		}
	})
}
