package fetch

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sluice/stages/cache"
	"sluice/stages/warc"
)

// handlerTransport answers every request in process with h: an
// http.RoundTripper with no connection and nothing of net/http's Transport,
// as a transport of another kind (HTTP/3, a proxy pool) would be.
type handlerTransport struct {
	h     http.Handler
	calls atomic.Int64
}

func (t *handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.calls.Add(1)
	if req.Body != nil {
		req.Body.Close()
	}
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, req)
	resp := w.Result()
	resp.Request = req
	return resp, nil
}

// The fetch path the binary runs with --trace, --warc and --cache works
// over any RoundTripper: the attempt is timed, its exchange archived, its
// response kept, and a second fetch answered from the cache without a
// round trip.
func TestFetchOverAnyRoundTripper(t *testing.T) {
	rt := &handlerTransport{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "max-age=3600")
		io.WriteString(w, "<title>in process</title>")
	})}
	store, err := cache.Open(t.TempDir(), cache.Options{Max: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg := Config{
		Concurrency: 1, Timeout: 5 * time.Second, MaxBody: 1 << 20, KeepBody: true,
		Trace: true, Cache: store, CacheFresh: true, Archive: warc.NewArchiver(warc.Config{}),
	}
	f, err := NewFetcher(cfg, rt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)

	r := fetch(t, f, "http://in.process/page")
	if r.Err != nil || r.Status != 200 || string(r.Body) != "<title>in process</title>" {
		t.Fatalf("Fetch over a handler: status %d, body %q, err %v; want 200 and the page", r.Status, r.Body, r.Err)
	}
	if r.Timings == nil || r.Timings.Total <= 0 {
		t.Errorf("--trace: timings %+v; want the attempt timed", r.Timings)
	}
	if r.Cache != cache.Miss {
		t.Errorf("--cache: first fetch %q; want %q", r.Cache, cache.Miss)
	}
	if r.Archive == nil || len(r.Archive.Members) != 2 || r.Archive.Ref != 1 {
		t.Fatalf("--warc: archive %+v; want a request and a response record", r.Archive)
	}
	resp := gunzip(t, r.Archive.Members[1].Bytes)
	if !strings.Contains(resp, "WARC-Type: response") || !strings.Contains(resp, "<title>in process</title>") {
		t.Errorf("--warc: the response record is %q; want the exchange as it came", resp)
	}

	again := fetch(t, f, "http://in.process/page")
	if again.Cache != cache.Fresh || string(again.Body) != "<title>in process</title>" || rt.calls.Load() != 1 {
		t.Errorf("second fetch: cache %q, body %q, %d round trips; want fresh from the cache, 1 round trip", again.Cache, again.Body, rt.calls.Load())
	}
}

func gunzip(t *testing.T, b []byte) string {
	t.Helper()
	z, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

var _ http.RoundTripper = (*handlerTransport)(nil)
