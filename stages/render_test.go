package stages

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sluice/record"
)

// browserPath is the browser the render tests run, or it skips them (and
// fails them when SLUICE_REQUIRE_TOOLS is set, as in CI).
func browserPath(t *testing.T) string {
	t.Helper()
	p, err := FindBrowser()
	if err != nil {
		if os.Getenv("SLUICE_REQUIRE_TOOLS") != "" {
			t.Fatal(err)
		}
		t.Skip("no Chromium on PATH (apt install chromium): the render tests need one")
	}
	return p
}

// A page whose title and link exist only once its script ran and its
// XHR came back: the rendered body has them; the document itself came
// from the record, not from the server, and the XHR went through the
// fetcher.
func TestRenderRunsScripts(t *testing.T) {
	var docAsked, dataAsked atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/data":
			dataAsked.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"link": "/built-by-script"}`))
		default:
			docAsked.Add(1)
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	f, err := NewFetcher(FetchConfig{Concurrency: 1, Timeout: 5 * time.Second, MaxBody: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var subs atomic.Int64
	fetch := func(ctx context.Context, r *record.Record) {
		subs.Add(1)
		f.Fetch(ctx, r)
	}
	rd := NewRenderer(nil, RenderConfig{Browser: browserPath(t), Workers: 1, Timeout: 10 * time.Second}, fetch, nil, 5*time.Second)
	defer rd.Close()
	doc := `<!doctype html><html><head><title>shell</title></head><body><img src="/logo.png">
<script>
document.title = 'Built';
fetch('/data').then(r => r.json()).then(d => {
  const a = document.createElement('a'); a.href = d.link; a.textContent = 'built'; document.body.appendChild(a);
});
</script></body></html>`
	r := &record.Record{URL: srv.URL + "/app", Response: record.Response{FinalURL: srv.URL + "/app", Status: 200, ContentType: "text/html", Body: []byte(doc)}}
	rd.Render(context.Background(), r)
	if r.Err != nil {
		t.Fatalf("render: %v", r.Err.Message)
	}
	body := string(r.Body)
	if !strings.Contains(body, "<title>Built</title>") || !strings.Contains(body, `href="/built-by-script"`) {
		t.Errorf("the rendered DOM lacks what the script built:\n%s", body)
	}
	if docAsked.Load() != 0 || dataAsked.Load() != 1 || subs.Load() != 1 {
		t.Errorf("the server was asked for the document %d times, the data %d (through sluice %d); want 0, 1, 1", docAsked.Load(), dataAsked.Load(), subs.Load())
	}
	if r.Render == nil || r.Render.Requests != 1 || r.Render.Blocked != 2 || r.Render.TimedOut {
		t.Errorf("render counts %+v; want 1 request, 2 blocked (the image, the icon), not timed out", r.Render)
	}
}

// With --deny-private, a page's script that asks for a loopback address
// (a service on the machine, or 169.254.169.254 in a cloud) gets nothing:
// the request goes through sluice's transport, which refuses to connect,
// and never reaches the server. The page itself came with the record.
func TestRenderDenyPrivate(t *testing.T) {
	var asked atomic.Int64
	secret := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write([]byte("the secret"))
	}))
	defer secret.Close()
	f, err := NewFetcher(FetchConfig{Concurrency: 1, Timeout: 5 * time.Second, MaxBody: 1 << 20, DenyPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	rd := NewRenderer(nil, RenderConfig{Browser: browserPath(t), Workers: 1, Timeout: 10 * time.Second}, f.Fetch, nil, 5*time.Second)
	defer rd.Close()
	doc := `<!doctype html><html><head><title>probe</title></head><body><script>
fetch('` + secret.URL + `/secret').then(r => r.text()).then(t => { document.title = 'got: ' + t; }, e => { document.title = 'refused'; });
</script></body></html>`
	r := &record.Record{URL: "http://public.example/probe", Response: record.Response{FinalURL: "http://public.example/probe", Status: 200, ContentType: "text/html", Body: []byte(doc)}}
	rd.Render(context.Background(), r)
	if r.Err != nil {
		t.Fatalf("render: %v", r.Err.Message)
	}
	if asked.Load() != 0 || !strings.Contains(string(r.Body), "<title>refused</title>") {
		t.Errorf("the loopback server was asked %d times; the page says %q; want never, refused", asked.Load(), r.Body)
	}
	if r.Render.Requests != 0 || r.Render.Blocked < 1 {
		t.Errorf("render counts %+v; want the request counted as blocked", r.Render)
	}
}
