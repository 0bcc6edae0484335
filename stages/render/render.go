package render

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/andybalholm/cascadia"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"sluice/record"
	"sluice/stages/extract"
	"sluice/stages/fetch"
)

// Config is --render's.
type Config struct {
	On      bool
	Browser string        // the browser's executable: chromium
	Workers int           // --render-workers: pages rendered at a time, one tab each
	Wait    string        // --render-wait: "idle", "load", or a CSS selector that must appear
	Timeout time.Duration // --render-timeout: a page's time at most, from navigation to its DOM
	LoadAll bool          // --render-load all: images, fonts and media too
	Recycle int           // pages a tab renders before it is closed and replaced; 0: DefaultRecycle

	Screenshots string // --screenshot DIR: a PNG of each rendered page there; "" for none
	FullPage    bool   // --screenshot-full: of the whole page, not the viewport
}

// Render waits and defaults.
const (
	RenderIdle     = "idle"
	RenderLoad     = "load"
	DefaultRecycle = 200                    // a tab takes 0.3-0.8 s of CPU to open on 2 cores: at 50 pages that was 10% of a run
	renderQuiet    = 500 * time.Millisecond // --render-wait idle: no request for this long
)

// CheckSelector checks a --render-wait selector.
func CheckSelector(sel string) error {
	_, err := cascadia.Compile(sel)
	return err
}

// BrowserPackage names what to install when no browser is found.
const BrowserPackage = "Debian's chromium package (apt install chromium)"

// FindBrowser returns the path of the browser --render runs, or an error
// naming the package to install.
func FindBrowser() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("--render needs a Chromium browser, and none is on PATH: install %s", BrowserPackage)
}

// Renderer is the render stage (--render): it renders the HTML pages the
// fetch stage fetched in headless Chromium, and gives the extract stage
// the DOM the page's scripts built. The document is the one sluice
// fetched: the browser gets it from sluice, not from the server. Every
// request the page makes comes to sluice (the browser's proxy is sluice's,
// on loopback: renderproxy.go) and is made by fetch,
// sluice's own fetcher, so --deny-private, --resolve, the proxy settings
// and the cache hold for it, once turns (the schedule) has given its
// host's turn, so the host's rate and slots hold too; images, fonts and
// media are refused unless LoadAll. The browser itself can reach nothing
// but sluice's proxy: its resolver maps every other name to nowhere.
//
// One browser process serves the run, Workers tabs at a time, each tab
// replaced after Recycle pages. A browser that dies, or hangs (a tab that
// does not open, or does not give its DOM, within hungAfter), is ended and
// started again by the next page that needs it; a page whose browser died
// under it is rendered again, once. Close ends the browser and waits for
// it; on Linux the kernel also kills it when sluice dies (chromedp's
// parent-death signal).
type Renderer struct {
	cfg     Config
	stop    <-chan struct{}                       // closed when sluice is stopping
	fetch   func(context.Context, *record.Record) // the page's requests go out through it (Fetcher.Fetch)
	turns   Permitter                             // and wait for their host's turn there; nil: no waiting
	timeout time.Duration                         // a page's request at most: --timeout

	mu      sync.Mutex
	browser *browser   // nil until the first page, and after it died
	px      *pageProxy // the browser's proxy; started with the first browser
	tabs    chan *tab
	byKey   sync.Map // a page's key (its requests' tabHeader) -> *page
	closed  bool
	bg      sync.WaitGroup // tabs closing in the background
}

// browser is one browser process and its context.
type browser struct {
	ctx    context.Context // the browser's: done when it dies or is closed
	cancel func()
}

// tab is a browser tab, reused page after page.
type tab struct {
	b     *browser
	ctx   context.Context
	pages int
	page  atomic.Pointer[page] // the page it renders now; nil between pages
}

// page is the state of one page's rendering.
type page struct {
	r        *record.Record
	key      string // its requests' tabHeader: the tab sends it from the page's navigation on
	arcMu    sync.Mutex
	archived []record.Member // --warc: the WARC records of its requests (Fetcher.Fetch encodes them), after the document's
	ctx      context.Context // its sub-requests': canceled when the page is done
	served   atomic.Bool     // the document was given to the browser
	inFlight atomic.Int64
	last     atomic.Int64 // when a request last started or ended, unix nanoseconds
	requests atomic.Int64 // answered by sluice
	blocked  atomic.Int64 // refused: images, fonts, media, WebSockets; and those sluice could not make

	mu   sync.Mutex
	done bool           // the page is over: its requests from now on are refused
	subs sync.WaitGroup // its requests under way
}

// begin counts a request of the page as under way; false once it is over.
func (p *page) begin() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return false
	}
	p.subs.Add(1)
	return true
}

// end waits for the page's requests under way, and refuses those to come.
func (p *page) end() {
	p.mu.Lock()
	p.done = true
	p.mu.Unlock()
	p.subs.Wait()
}

// Permitter gives a request its host's turn (the Schedule): Done gives
// the permit back, with the request's outcome.
type Permitter interface {
	Permit(ctx context.Context, url, host string) (*record.Record, error)
	Done(r *record.Record)
}

// NewRenderer returns the render stage, which gives up once stop is
// closed: the page's requests go out through fetch (fetch.Fetcher's
// FetchResource), each once turns gives its host's turn (nil: at once),
// each taking timeout at most, its wait for its turn included.
func NewRenderer(stop <-chan struct{}, cfg Config, fetch func(context.Context, *record.Record), turns Permitter, timeout time.Duration) *Renderer {
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.Recycle < 1 {
		cfg.Recycle = DefaultRecycle
	}
	if cfg.Wait == "" {
		cfg.Wait = RenderIdle
	}
	return &Renderer{stop: stop, cfg: cfg, fetch: fetch, turns: turns, timeout: timeout, tabs: make(chan *tab, cfg.Workers)}
}

// Render renders r when it is an HTML page, replacing its body with the
// rendered DOM (as UTF-8) and filling r.Render. Once sluice is stopping
// (stop, or ctx done) no render starts and those under way are given up:
// their records go on as they were fetched, unrendered, at once.
func (rd *Renderer) Render(ctx context.Context, r *record.Record) {
	if r.Body == nil || !extract.IsHTML(r.ContentType, r.Body) || rd.stopping() {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-rd.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for try := 0; ; try++ {
		err := rd.renderOnce(ctx, r)
		switch {
		case err == nil, ctx.Err() != nil:
			return
		case try == 1 || !errors.Is(err, errBrowserGone):
			r.Fail(record.KindRender, "%v", err)
			return
		}
	}
}

var errBrowserGone = errors.New("the browser died")

// renderOnce renders r in a tab of a live browser.
func (rd *Renderer) renderOnce(ctx context.Context, r *record.Record) error {
	t, err := rd.take(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	html, timedOut, err := rd.load(ctx, t, r)
	if err != nil {
		rd.put(t, false)
		if t.b.ctx.Err() != nil {
			rd.gone(t.b)
			return fmt.Errorf("%w: %v", errBrowserGone, err)
		}
		return err
	}
	elapsed := time.Since(start)
	shot, shotErr := rd.screenshot(t, r)
	p := t.page.Load()
	rd.put(t, true)
	_, charsetName := extract.CharsetOf(r.Body, r.ContentType) // the name only: the body is replaced
	r.Body = []byte(html)
	r.Render = &record.Render{Requests: p.requests.Load(), Blocked: p.blocked.Load(), Elapsed: elapsed, TimedOut: timedOut,
		Charset: charsetName, Screenshot: shot}
	if len(p.archived) > 0 { // after the document's, which the record's warc field points at
		if r.Archive == nil {
			r.Archive = &record.Archive{Ref: -1}
		}
		r.Archive.Members = append(r.Archive.Members, p.archived...)
	}
	if shotErr != nil {
		r.Fail(record.KindRender, "--screenshot: %v", shotErr)
	}
	return nil
}

// screenshot writes a PNG of t's page to the --screenshot directory, named
// after r's seq, and returns its path: of the viewport (1280x800), or of
// the whole page with --screenshot-full. "" without --screenshot.
func (rd *Renderer) screenshot(t *tab, r *record.Record) (string, error) {
	if rd.cfg.Screenshots == "" {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(t.ctx, hungAfter)
	defer cancel()
	shot := chromedp.CaptureScreenshot()
	if rd.cfg.FullPage {
		shot = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(ctx, shot)
	if err != nil {
		return "", err
	}
	path := filepath.Join(rd.cfg.Screenshots, strconv.FormatInt(r.Seq, 10)+".png")
	return path, os.WriteFile(path, png, 0o644)
}

// take returns an idle tab, opening one (and the browser) when fewer than
// Workers are open.
func (rd *Renderer) take(ctx context.Context) (*tab, error) {
	select {
	case t := <-rd.tabs:
		if t.b.ctx.Err() == nil {
			return t, nil
		}
	default:
	}
	b, err := rd.live()
	if err != nil {
		return nil, err
	}
	return rd.open(b)
}

// live returns the running browser, starting one when there is none.
func (rd *Renderer) live() (*browser, error) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.closed {
		return nil, errors.New("sluice is stopping")
	}
	if rd.browser != nil && rd.browser.ctx.Err() == nil {
		return rd.browser, nil
	}
	if rd.px == nil {
		certs, err := newProxyCerts()
		if err != nil {
			return nil, fmt.Errorf("--render: a key for the pages' proxy: %w", err)
		}
		if rd.px, err = newPageProxy(certs, rd.serve); err != nil {
			return nil, fmt.Errorf("--render: the pages' proxy: %w", err)
		}
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(rd.cfg.Browser),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("no-pings", true),
		// Every request goes through sluice's proxy, loopback too; what
		// might not reaches nothing: no name resolves but the proxy's
		// address, and WebRTC may not send UDP past the proxy.
		chromedp.Flag("proxy-server", rd.px.addr()),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("force-webrtc-ip-handling-policy", "disable_non_proxied_udp"),
		// The certificates sluice's end of a tunnel shows (renderproxy.go).
		chromedp.Flag("ignore-certificate-errors-spki-list", rd.px.certs.spki),
		// A frame from another site renders in its page's process, so
		// that its requests carry the page's key too: one in a process of
		// its own would not (TestRenderFrames).
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,site-per-process,IsolateOrigins"),
		chromedp.Flag("disable-site-isolation-trials", true),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		return nil, fmt.Errorf("start %s: %w", rd.cfg.Browser, err)
	}
	alloc := chromedp.FromContext(actx).Allocator
	rd.browser = &browser{ctx: bctx, cancel: func() {
		bcancel()
		acancel()
		alloc.Wait() // the process is gone, its directory removed
	}}
	return rd.browser, nil
}

// gone forgets b, which died, and ends what is left of it.
func (rd *Renderer) gone(b *browser) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	b.cancel()
	if rd.browser == b {
		rd.browser = nil
	}
}

// open opens a tab in b.
func (rd *Renderer) open(b *browser) (*tab, error) {
	t := &tab{b: b}
	t.ctx, _ = chromedp.NewContext(b.ctx)
	// The tab's first run cannot have a deadline (the tab would end with
	// it): a browser that does not open it in time is taken for hung.
	opened := make(chan error, 1)
	go func() {
		opened <- chromedp.Do(t.ctx, chromedp.EmulateViewport(1280, 800)) // the viewport, whatever the window's frame takes
	}()
	var err error
	select {
	case err = <-opened:
	case <-time.After(hungAfter):
		rd.gone(b)
		<-opened
		rd.closeTab(t)
		return nil, fmt.Errorf("%w: it did not open a tab in %v", errBrowserGone, hungAfter)
	}
	if err != nil {
		rd.closeTab(t)
		if b.ctx.Err() != nil {
			rd.gone(b)
			return nil, fmt.Errorf("%w: %v", errBrowserGone, err)
		}
		return nil, fmt.Errorf("open a tab: %w", err)
	}
	return t, nil
}

// closeTab closes t.
func (rd *Renderer) closeTab(t *tab) {
	chromedp.Cancel(t.ctx) //nolint:errcheck // the browser may be gone
}

// put gives t back for the next page, or closes it: after Recycle pages,
// or when its page went wrong.
func (rd *Renderer) put(t *tab, ok bool) {
	if p := t.page.Swap(nil); p != nil {
		rd.byKey.Delete(p.key)
		p.end()
	}
	t.pages++
	alive := t.b.ctx.Err() == nil
	if ok && alive && t.pages < rd.cfg.Recycle {
		// The page stays until the next navigation replaces it (a blank
		// page in between cost 95 ms a page); what it asks for meanwhile
		// is refused, since the page is over.
		rd.tabs <- t
		return
	}
	rd.bg.Go(func() { rd.closeTab(t) })
}

// load navigates t to r's URL and returns the DOM once the page is done
// (--render-wait), or as it stands at --render-timeout.
func (rd *Renderer) load(ctx context.Context, t *tab, r *record.Record) (string, bool, error) {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	key := make([]byte, 16)
	rand.Read(key)
	p := &page{r: r, ctx: pctx, key: hex.EncodeToString(key)}
	p.last.Store(time.Now().UnixNano())
	t.page.Store(p)
	rd.byKey.Store(p.key, p)
	wctx, wcancel := context.WithTimeout(t.ctx, rd.cfg.Timeout)
	defer wcancel()
	stop := context.AfterFunc(ctx, wcancel)
	defer stop()
	err := chromedp.Do(wctx, chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{tabHeader: tabPrefix + p.key}})
		return err
	}), chromedp.Navigate(r.FinalURL))
	if err == nil {
		err = rd.wait(wctx, p)
	}
	timedOut := false
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return "", false, ctx.Err()
	case wctx.Err() != nil && t.b.ctx.Err() == nil:
		timedOut = true // extracted as it stands
	default:
		return "", false, err
	}
	dctx, dcancel := context.WithTimeout(t.ctx, hungAfter)
	defer dcancel()
	html, err := chromedp.Run(dctx, chromedp.Evaluate[string](`document.documentElement ? document.documentElement.outerHTML : ""`))
	if err != nil && dctx.Err() != nil && ctx.Err() == nil {
		// The tab does not answer: the browser hangs. It is ended, and
		// started again for the next page.
		rd.gone(t.b)
		return "", false, fmt.Errorf("%w: it did not answer for %v", errBrowserGone, hungAfter)
	}
	return html, timedOut, err
}

// hungAfter is how long a tab may take to give its DOM before its browser
// is taken for hung.
const hungAfter = 5 * time.Second

// wait waits, once the page has loaded, for what --render-wait says.
func (rd *Renderer) wait(ctx context.Context, p *page) error {
	switch rd.cfg.Wait {
	case RenderLoad:
		return nil
	case RenderIdle:
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if p.inFlight.Load() == 0 && time.Since(time.Unix(0, p.last.Load())) >= renderQuiet {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
	default:
		return chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(rd.cfg.Wait)))
	}
}

// serve answers a request of a page (the page its tabHeader names):
// the document with what sluice fetched, an image, font or medium with a
// refusal (unless LoadAll), a WebSocket with a refusal, any other through
// fetch. A request of no page's, or of a page that is over, is refused.
func (rd *Renderer) serve(w http.ResponseWriter, req *http.Request, u string) {
	var p *page
	if key, ok := strings.CutPrefix(req.Header.Get(tabHeader), tabPrefix); ok {
		if v, ok := rd.byKey.Load(key); ok {
			p = v.(*page)
		}
	}
	if p == nil || !p.begin() {
		refuseRequest(w)
		return
	}
	defer p.subs.Done()
	switch {
	case !p.served.Load() && sameDocument(u, p.r.FinalURL) && req.Method == http.MethodGet:
		p.served.Store(true)
		h := p.r.Header
		if h == nil {
			h = http.Header{"Content-Type": {p.r.ContentType}}
		}
		respond(w, p.r.Status, h, p.r.Body)
	case !rd.cfg.LoadAll && unloaded(req), isUpgrade(req):
		p.blocked.Add(1)
		refuseRequest(w)
	default:
		p.inFlight.Add(1)
		p.last.Store(time.Now().UnixNano())
		defer func() {
			p.last.Store(time.Now().UnixNano())
			p.inFlight.Add(-1)
		}()
		rd.answer(w, p, req, u)
	}
}

// sameDocument reports whether the browser's request is for the document
// sluice fetched: the same URL, but for its fragment.
func sameDocument(asked, fetched string) bool {
	asked, _, _ = strings.Cut(asked, "#")
	fetched, _, _ = strings.Cut(fetched, "#")
	return asked == fetched
}

// answer makes the browser's request req for u as a record's request goes
// (rd.fetch: the shared client, and the cache with --cache) and gives the
// browser its answer.
func (rd *Renderer) answer(w http.ResponseWriter, p *page, req *http.Request, u string) {
	fail := func() {
		if p.ctx.Err() == nil { // not one the page's end cut short
			p.blocked.Add(1)
		}
		refuseRequest(w)
	}
	pu, err := url.Parse(u)
	if err != nil {
		fail()
		return
	}
	q := &record.Request{Method: req.Method, Header: req.Header.Clone()}
	for _, k := range hopHeaders {
		q.Header.Del(k)
	}
	q.Header.Set("Accept-Encoding", fetch.AcceptEncoding)
	if req.ContentLength != 0 { // a GET has none: nil, so that the cache may answer it
		if q.Body, err = io.ReadAll(io.LimitReader(req.Body, maxRenderUpload+1)); err != nil || len(q.Body) > maxRenderUpload {
			fail()
			return
		}
	}
	sub := &record.Record{URL: u, Request: q}
	ctx, cancel := context.WithTimeout(p.ctx, rd.timeout)
	defer cancel()
	var turn *record.Record
	if rd.turns != nil {
		if turn, err = rd.turns.Permit(ctx, u, record.HostKey(pu.Scheme, pu.Host)); err != nil {
			fail()
			return
		}
		defer func() { rd.turns.Done(turn) }()
	}
	rd.fetch(ctx, sub)
	if sub.Archive != nil {
		p.arcMu.Lock()
		p.archived = append(p.archived, sub.Archive.Members...)
		p.arcMu.Unlock()
	}
	if turn != nil { // what the host said, for its pauses and its auto-throttle
		turn.Status, turn.Quota, turn.RetryAfter, turn.Err = sub.Status, sub.Quota, sub.RetryAfter, sub.Err
	}
	if sub.Status == 0 {
		fail()
		return
	}
	p.requests.Add(1)
	respond(w, sub.Status, sub.Header, sub.Body)
}

// maxRenderUpload caps the body of a page's request (a form's, a POST by
// a script) sluice sends on: a longer one is refused.
const maxRenderUpload = 8 << 20

// respond gives the browser an answer, its body whole and decoded.
func respond(w http.ResponseWriter, status int, h http.Header, body []byte) {
	out := w.Header()
	for k, vs := range h {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Encoding", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Trailer":
			continue
		}
		out[k] = vs
	}
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the browser may be gone
}

// stopping reports whether intake has ended: no page starts rendering then.
func (rd *Renderer) stopping() bool {
	select {
	case <-rd.stop:
		return true
	default:
		return false
	}
}

// Close ends the browser and waits for it to exit.
func (rd *Renderer) Close() {
	rd.mu.Lock()
	rd.closed = true
	if rd.browser != nil {
		rd.browser.cancel()
		rd.browser = nil
	}
	rd.mu.Unlock()
	rd.bg.Wait()
	if rd.px != nil {
		rd.px.close()
	}
}
