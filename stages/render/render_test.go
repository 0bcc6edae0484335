package render

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sluice/record"
	"sluice/stages/fetch"
	"sluice/stages/transport"
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

// testRenderer is a one-tab renderer whose pages' requests go through
// fetch, closed when the test ends.
// renderFetcher is the fetcher a page's requests go through.
func renderFetcher(t *testing.T, conn transport.Config) *fetch.Fetcher {
	t.Helper()
	cfg := fetch.Config{Concurrency: 1, Timeout: 5 * time.Second, MaxBody: 1 << 20}
	conn.Concurrency, conn.Timeout = cfg.Concurrency, cfg.Timeout
	rt, err := transport.New(conn)
	if err != nil {
		t.Fatal(err)
	}
	f, err := fetch.NewFetcher(cfg, rt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func testRenderer(t *testing.T, fetch func(context.Context, *record.Record)) *Renderer {
	t.Helper()
	rd := NewRenderer(nil, Config{Browser: browserPath(t), Workers: 1, Timeout: 10 * time.Second}, fetch, nil, 5*time.Second)
	t.Cleanup(rd.Close)
	return rd
}

// renderDoc renders doc as the HTML page fetched from url, and fails the
// test if the render does.
func renderDoc(t *testing.T, rd *Renderer, url, doc string) *record.Record {
	t.Helper()
	r := &record.Record{URL: url, Response: record.Response{FinalURL: url, Status: 200, ContentType: "text/html", Body: []byte(doc)}}
	rd.Render(context.Background(), r)
	if r.Err != nil {
		t.Fatalf("render: %v", r.Err.Message)
	}
	return r
}

// A page whose title and link exist only once its script ran and its
// XHR came back: the rendered body has them; the document itself came
// from the record, not from the server, and the XHR went through the
// fetcher. Its other XHR, to another origin that allows any, is sent as
// the page sent it: a plain GET, with no preflight (the header with the
// page's key, which sluice takes off, must not make it one).
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
	var other sync.Map // method -> *atomic.Int64
	otherSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := other.LoadOrStore(r.Method, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		if r.Header.Get(tabHeader) != "" {
			w.WriteHeader(http.StatusTeapot)
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write([]byte("from elsewhere"))
	}))
	defer otherSrv.Close()
	f := renderFetcher(t, transport.Config{})
	var subs atomic.Int64
	fetch := func(ctx context.Context, r *record.Record) {
		subs.Add(1)
		f.FetchResource(ctx, r)
	}
	rd := testRenderer(t, fetch)
	doc := `<!doctype html><html><head><title>shell</title></head><body><img src="/logo.png">
<script>
document.title = 'Built';
fetch('/data').then(r => r.json()).then(d => {
  const a = document.createElement('a'); a.href = d.link; a.textContent = 'built'; document.body.appendChild(a);
});
fetch('` + otherSrv.URL + `/text').then(r => r.text()).then(t => { document.body.dataset.other = t; });
</script></body></html>`
	r := renderDoc(t, rd, srv.URL+"/app", doc)
	body := string(r.Body)
	if !strings.Contains(body, "<title>Built</title>") || !strings.Contains(body, `href="/built-by-script"`) || !strings.Contains(body, `data-other="from elsewhere"`) {
		t.Errorf("the rendered DOM lacks what the script built:\n%s", body)
	}
	if docAsked.Load() != 0 || dataAsked.Load() != 1 || subs.Load() != 2 {
		t.Errorf("the server was asked for the document %d times, the data %d (through sluice %d in all); want 0, 1, 2", docAsked.Load(), dataAsked.Load(), subs.Load())
	}
	methods := map[string]int64{}
	other.Range(func(k, v any) bool { methods[k.(string)] = v.(*atomic.Int64).Load(); return true })
	if !maps.Equal(methods, map[string]int64{"GET": 1}) {
		t.Errorf("the other origin was asked %v; want one GET", methods)
	}
	if r.Render == nil || r.Render.Requests != 2 || r.Render.Blocked != 2 || r.Render.TimedOut {
		t.Errorf("render counts %+v; want 2 requests, 2 blocked (the image, the icon), not timed out", r.Render)
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
	f := renderFetcher(t, transport.Config{DenyPrivate: true})
	rd := testRenderer(t, f.FetchResource)
	doc := `<!doctype html><html><head><title>probe</title></head><body><script>
fetch('` + secret.URL + `/secret').then(r => r.text()).then(t => { document.title = 'got: ' + t; }, e => { document.title = 'refused'; });
</script></body></html>`
	r := renderDoc(t, rd, "http://public.example/probe", doc)
	if asked.Load() != 0 || !strings.Contains(string(r.Body), "<title>refused</title>") {
		t.Errorf("the loopback server was asked %d times; the page says %q; want never, refused", asked.Load(), r.Body)
	}
	if r.Render.Requests != 0 || r.Render.Blocked < 1 {
		t.Errorf("render counts %+v; want the request counted as blocked", r.Render)
	}
}

// An https page: the browser's tunnel ends at sluice, which makes the
// page's requests itself and checks the servers' certificates as for any
// record. The XHR to the page's own (trusted) host is answered; the one to
// a host whose certificate sluice does not trust never gets past the
// handshake, though the browser would have taken any certificate there.
func TestRenderHTTPS(t *testing.T) {
	var docAsked, dataAsked, untrustedAsked atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/data" {
			docAsked.Add(1)
			http.NotFound(w, r)
			return
		}
		dataAsked.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"link": "/secure-link"}`))
	}))
	defer srv.Close()
	untrusted := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		untrustedAsked.Add(1)
		w.Header().Set("Access-Control-Allow-Origin", "*")
	}))
	certs, err := newProxyCerts() // a certificate of no authority sluice knows
	if err != nil {
		t.Fatal(err)
	}
	cert, err := certs.forHost("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	untrusted.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	untrusted.StartTLS()
	defer untrusted.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	f := renderFetcher(t, transport.Config{CACert: ca, CACertOnly: true})
	rd := testRenderer(t, f.FetchResource)
	doc := `<!doctype html><html><head><title>shell</title></head><body><script>
document.title = 'Secure';
fetch('/data').then(r => r.json()).then(d => {
  const a = document.createElement('a'); a.href = d.link; a.textContent = 'secure'; document.body.appendChild(a);
});
fetch('` + untrusted.URL + `/x').then(() => { document.body.dataset.untrusted = 'answered'; }, () => { document.body.dataset.untrusted = 'refused'; });
</script></body></html>`
	r := renderDoc(t, rd, srv.URL+"/app", doc)
	body := string(r.Body)
	if !strings.Contains(body, "<title>Secure</title>") || !strings.Contains(body, `href="/secure-link"`) || !strings.Contains(body, `data-untrusted="refused"`) {
		t.Errorf("the rendered DOM lacks the script's link, or the untrusted host answered:\n%s", body)
	}
	if docAsked.Load() != 0 || dataAsked.Load() != 1 || untrustedAsked.Load() != 0 {
		t.Errorf("asked for the document %d times, the data %d, the untrusted host %d; want 0, 1, 0", docAsked.Load(), dataAsked.Load(), untrustedAsked.Load())
	}
	if r.Render.Requests != 1 || r.Render.Blocked != 2 {
		t.Errorf("render counts %+v; want 1 request (the data), 2 blocked (the untrusted host, the icon)", r.Render)
	}
}

// What the pages' proxy refuses: a page's WebSocket (sluice does not carry
// them), and any request that is not a page's, such as another process's
// on the machine that found the proxy's port: neither reaches the server.
func TestRenderProxyRefuses(t *testing.T) {
	var upgrades, asked atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if isUpgrade(r) {
			upgrades.Add(1)
		}
	}))
	defer srv.Close()
	f := renderFetcher(t, transport.Config{})
	rd := testRenderer(t, f.FetchResource)
	ws := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket"
	doc := `<!doctype html><html><head><title>socket</title></head><body><script>
const ws = new WebSocket('` + ws + `');
ws.onopen = () => { document.title = 'open'; };
ws.onerror = () => { document.title = 'refused'; };
</script></body></html>`
	r := renderDoc(t, rd, srv.URL+"/ws", doc)
	if !strings.Contains(string(r.Body), "<title>refused</title>") || upgrades.Load() != 0 {
		t.Errorf("the WebSocket: the page says %q, the server saw %d upgrades; want refused, none", r.Body, upgrades.Load())
	}
	proxy, err := url.Parse(rd.px.addr())
	if err != nil {
		t.Fatal(err)
	}
	stranger := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
	for _, key := range []string{"", "0123456789abcdef0123456789abcdef"} {
		req, _ := http.NewRequest("GET", srv.URL+"/secret", nil)
		if key != "" {
			req.Header.Set(tabHeader, tabPrefix+key)
		}
		if resp, err := stranger.Do(req); err == nil {
			resp.Body.Close()
			t.Errorf("a request through the proxy with key %q was answered: %s", key, resp.Status)
		}
	}
	if asked.Load() != 0 {
		t.Errorf("the server was asked %d times; want never", asked.Load())
	}
}

// A frame from another site (localhost is not 127.0.0.1's site): its
// document and its script's XHR come through sluice too, as the page's.
func TestRenderFrames(t *testing.T) {
	var frameAsked, dataAsked atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/frame":
			frameAsked.Add(1)
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<!doctype html><title>frame</title><script>fetch('/frame-data').then(r => r.text()).then(t => { document.title = t; });</script>`))
		case "/frame-data":
			dataAsked.Add(1)
			w.Write([]byte("framed"))
		}
	}))
	defer srv.Close()
	f := renderFetcher(t, transport.Config{})
	rd := testRenderer(t, f.FetchResource)
	other := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	doc := `<!doctype html><html><head><title>page</title></head><body><iframe src="` + other + `/frame"></iframe></body></html>`
	r := renderDoc(t, rd, srv.URL+"/page", doc)
	if frameAsked.Load() != 1 || dataAsked.Load() != 1 || r.Render.Requests != 2 {
		t.Errorf("the frame was asked %d times, its data %d; render counts %+v; want 1, 1, 2 requests", frameAsked.Load(), dataAsked.Load(), r.Render)
	}
}
