package fetch

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"sluice/record"
	"sluice/stages/schedule"
)

// runFlow pushes records through f and returns what comes out.
func runFlow(t *testing.T, f interface {
	In() chan<- any
	Out() <-chan any
}, recs []*record.Record) []*record.Record {
	t.Helper()
	go func() {
		for _, r := range recs {
			f.In() <- r
		}
		close(f.In())
	}()
	var out []*record.Record
	for v := range f.Out() {
		out = append(out, v.(*record.Record))
	}
	return out
}

// Many workers share one client and one header map (read-only) while
// following redirects: under -race this catches any write to shared state.
func TestFetchFlowConcurrent(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/r" {
			http.Redirect(w, r, "/ok", http.StatusFound)
			return
		}
		if r.Header.Get("X-Test") != "1" {
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	h := http.Header{}
	h.Set("X-Test", "1")
	f := newFetcher(t, Config{Header: h, MaxRedirects: 5, Concurrency: 16})
	var in []*record.Record
	for i := range 300 {
		in = append(in, &record.Record{Seq: int64(i + 1), URL: fmt.Sprintf("%s/r?i=%d", srv.URL, i)})
	}
	out := runFlow(t, schedule.FetchFlow(context.Background(), nil, f, 16, nil, schedule.RetryPolicy{}, nil, nil, nil), in)
	if len(out) != len(in) {
		t.Fatalf("%d records out of %d in", len(out), len(in))
	}
	seen := map[int64]bool{}
	for _, r := range out {
		if seen[r.Seq] || r.Status != 200 || r.Err != nil {
			t.Errorf("record %d: status %d err %v duplicate %v", r.Seq, r.Status, r.Err, seen[r.Seq])
		}
		seen[r.Seq] = true
	}
}

// Once stop is closed, records are marked canceled without a request.
func TestFetchFlowStopped(t *testing.T) {
	requests := 0
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { requests++ })
	stop := make(chan struct{})
	close(stop)
	in := []*record.Record{{Seq: 1, URL: srv.URL}, {Seq: 2, URL: srv.URL}}
	out := runFlow(t, schedule.FetchFlow(context.Background(), stop, newFetcher(t, Config{}), 2, nil, schedule.RetryPolicy{}, nil, nil, nil), in)
	for _, r := range out {
		if kindOf(r) != record.KindCanceled || r.Attempts != 0 {
			t.Errorf("record %d after stop: %+v; want canceled, no attempt", r.Seq, r.Err)
		}
	}
	if len(out) != 2 || requests != 0 {
		t.Errorf("%d records, %d requests; want 2 and 0", len(out), requests)
	}
}

// returns records what the fetch stage hands back.
type returns struct {
	mu    sync.Mutex
	done  []int64
	again []int64
}

func (b *returns) Done(r *record.Record) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = append(b.done, r.Seq)
}

func (b *returns) Again(r *record.Record, _ time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.again = append(b.again, r.Seq)
}

// The pass-through rule at the fetch stage: a record that failed before its
// first attempt, or is skipped, goes by with no request and keeps its
// error; the schedule still learns it is done.
func TestFetchFlowPassesFailedRecords(t *testing.T) {
	requests := 0
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { requests++ })
	bad := &record.Record{Seq: 1, URL: srv.URL}
	bad.Fail(record.KindInvalidInput, "earlier")
	skipped := &record.Record{Seq: 2, URL: srv.URL, Skip: "duplicate"}
	var back returns
	out := runFlow(t, schedule.FetchFlow(context.Background(), nil, newFetcher(t, Config{}), 2, &back, schedule.RetryPolicy{}, nil, nil, nil),
		[]*record.Record{bad, skipped})
	if len(out) != 2 || requests != 0 || bad.Attempts != 0 || skipped.Attempts != 0 {
		t.Fatalf("%d records, %d requests, attempts %d and %d; want 2, 0, 0, 0", len(out), requests, bad.Attempts, skipped.Attempts)
	}
	if bad.Err.Message != "earlier" || skipped.Err != nil {
		t.Errorf("errors after the stage: %v, %v; want the first one's own, none", bad.Err, skipped.Err)
	}
	slices.Sort(back.done)
	if !slices.Equal(back.done, []int64{1, 2}) || len(back.again) != 0 {
		t.Errorf("handed back done %v, again %v; want [1 2] done", back.done, back.again)
	}
}

// A retryable answer goes back to the Returner with Again instead of on
// downstream; once stop is closed, a record that had an attempt keeps its
// last result instead of being marked canceled.
func TestFetchFlowRetryAndStop(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	pol := schedule.RetryPolicy{Retries: 2, Statuses: schedule.DefaultRetryStatuses, Base: time.Millisecond, Max: time.Millisecond}
	var back returns
	f := newFetcher(t, Config{})
	out := runFlow(t, schedule.FetchFlow(context.Background(), nil, f, 1, &back, pol, nil, nil, nil), []*record.Record{record.Parse(1, []byte(srv.URL), "url")})
	if len(out) != 0 || !slices.Equal(back.again, []int64{1}) {
		t.Fatalf("%d records out, again %v; want none out, seq 1 again", len(out), back.again)
	}
	stop := make(chan struct{})
	close(stop)
	tried := record.Parse(2, []byte(srv.URL), "url")
	tried.Attempts, tried.Status = 1, 503
	out = runFlow(t, schedule.FetchFlow(context.Background(), stop, f, 1, &back, pol, nil, nil, nil), []*record.Record{tried})
	if len(out) != 1 || tried.Status != 503 || tried.Err != nil || tried.Attempts != 1 {
		t.Errorf("after stop: status %d, error %v, attempts %d; want its last result (503, no error, 1)", tried.Status, tried.Err, tried.Attempts)
	}
}
