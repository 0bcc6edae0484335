package stages

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"sluice/record"
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
	f := newFetcher(t, FetchConfig{Header: h, MaxRedirects: 5, Concurrency: 16})
	var in []*record.Record
	for i := range 300 {
		in = append(in, &record.Record{Seq: int64(i + 1), URL: fmt.Sprintf("%s/r?i=%d", srv.URL, i)})
	}
	out := runFlow(t, FetchFlow(context.Background(), nil, f, 16, nil), in)
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
	out := runFlow(t, FetchFlow(context.Background(), stop, newFetcher(t, FetchConfig{}), 2, nil), in)
	for _, r := range out {
		if kindOf(r) != record.KindCanceled || r.Attempts != 0 {
			t.Errorf("record %d after stop: %+v; want canceled, no attempt", r.Seq, r.Err)
		}
	}
	if len(out) != 2 || requests != 0 {
		t.Errorf("%d records, %d requests; want 2 and 0", len(out), requests)
	}
}
