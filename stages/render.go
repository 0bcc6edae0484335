package stages

import (
	"context"
	"errors"
	"fmt"
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
	cdpfetch "github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"sluice/record"
)

// RenderConfig is --render's.
type RenderConfig struct {
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
	DefaultRecycle = 50
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
// request the page makes is intercepted (the DevTools Fetch domain) and
// made by fetch, sluice's own fetcher, so --deny-private, --resolve, the
// proxy settings and the cache hold for it, once turns (the schedule) has
// given its host's turn, so the host's rate and slots hold too; images, fonts
// and media are refused unless LoadAll. The browser itself can reach
// nothing: its resolver maps every name to nowhere, so a request that
// escaped interception fails.
//
// One browser process serves the run, Workers tabs at a time, each tab
// replaced after Recycle pages. A browser that dies, or hangs (a tab that
// does not open, or does not give its DOM, within hungAfter), is ended and
// started again by the next page that needs it; a page whose browser died
// under it is rendered again, once. Close ends the browser and waits for
// it; on Linux the kernel also kills it when sluice dies (chromedp's
// parent-death signal).
type Renderer struct {
	cfg     RenderConfig
	stop    <-chan struct{}                       // closed when sluice is stopping
	fetch   func(context.Context, *record.Record) // the page's requests go out through it (Fetcher.Fetch)
	turns   Permitter                             // and wait for their host's turn there; nil: no waiting
	timeout time.Duration                         // a page's request at most: --timeout

	mu      sync.Mutex
	browser *browser // nil until the first page, and after it died
	tabs    chan *tab
	closed  bool
}

// browser is one browser process and its context.
type browser struct {
	ctx    context.Context // the browser's: done when it dies or is closed
	cancel func()
}

// tab is a browser tab, reused page after page.
type tab struct {
	b      *browser
	ctx    context.Context
	target *chromedp.Target
	pages  int
	page   atomic.Pointer[page] // the page it renders now; nil between pages
}

// page is the state of one page's rendering.
type page struct {
	r        *record.Record
	arcMu    sync.Mutex
	archived []record.Member // --warc: the WARC records of its requests (Fetcher.Fetch encodes them), after the document's
	ctx      context.Context // its sub-requests': canceled when the page is done
	served   atomic.Bool     // the document was given to the browser
	inFlight atomic.Int64
	last     atomic.Int64 // when a request last started or ended, unix nanoseconds
	requests atomic.Int64 // answered by sluice
	blocked  atomic.Int64 // refused: images, fonts, media; anything not http(s)
	subs     sync.WaitGroup
}

// Permitter gives a request its host's turn (the Schedule): Done gives
// the permit back, with the request's outcome.
type Permitter interface {
	Permit(ctx context.Context, url, host string) (*record.Record, error)
	Done(r *record.Record)
}

// NewRenderer returns the render stage, which gives up once stop is
// closed: the page's requests go out through fetch (Fetcher.Fetch, with
// records marked Resource), each once turns gives its host's turn (nil:
// at once), each taking timeout at most, its wait for its turn included.
func NewRenderer(stop <-chan struct{}, cfg RenderConfig, fetch func(context.Context, *record.Record), turns Permitter, timeout time.Duration) *Renderer {
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
	if r.Body == nil || !isHTML(r.ContentType, r.Body) || stopped(rd.stop) {
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
	_, charsetName := charsetOf(r.Body, r.ContentType) // the name only: the body is replaced
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
	return rd.open(ctx, b)
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
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(rd.cfg.Browser),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("no-pings", true),
		// Whatever escapes interception reaches nothing.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
		chromedp.Flag("proxy-server", "http://127.0.0.1:9"),
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

// open opens a tab in b, its requests intercepted: a goroutine of its own
// takes each paused request for as long as the tab lives.
func (rd *Renderer) open(ctx context.Context, b *browser) (*tab, error) {
	tctx, _ := chromedp.NewContext(b.ctx)
	t := &tab{b: b, ctx: tctx}
	// The tab's first run cannot have a deadline (the tab would end with
	// it): a browser that does not open it in time is taken for hung.
	opened := make(chan error, 1)
	go func() {
		opened <- chromedp.Do(tctx, chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			t.target = target
			_, err := cdp.Call(ctx, target, cdpfetch.Enable, cdpfetch.EnableParams{Patterns: []*cdpfetch.RequestPattern{{URLPattern: "*"}}})
			return err
		}), chromedp.EmulateViewport(1280, 800)) // the viewport, whatever the window's frame takes
	}()
	var err error
	select {
	case err = <-opened:
	case <-time.After(hungAfter):
		rd.gone(b)
		<-opened
		return nil, fmt.Errorf("%w: it did not open a tab in %v", errBrowserGone, hungAfter)
	}
	if err != nil {
		chromedp.Cancel(tctx)
		if b.ctx.Err() != nil {
			rd.gone(b)
			return nil, fmt.Errorf("%w: %v", errBrowserGone, err)
		}
		return nil, fmt.Errorf("open a tab: %w", err)
	}
	paused := chromedp.Events(tctx, cdpfetch.RequestPaused)
	go func() {
		for e, err := range paused {
			if err != nil {
				return
			}
			rd.paused(t, &e)
		}
	}()
	return t, nil
}

// put gives t back for the next page, or closes it: after Recycle pages,
// or when its page went wrong.
func (rd *Renderer) put(t *tab, ok bool) {
	p := t.page.Swap(nil)
	if p != nil {
		p.subs.Wait()
	}
	t.pages++
	if ok && t.pages < rd.cfg.Recycle && t.b.ctx.Err() == nil {
		// The page stays until the next navigation replaces it (a blank
		// page in between cost 95 ms a page); what it asks for meanwhile
		// is refused, since the tab has no page.
		rd.tabs <- t
		return
	}
	chromedp.Cancel(t.ctx)
}

// load navigates t to r's URL and returns the DOM once the page is done
// (--render-wait), or as it stands at --render-timeout.
func (rd *Renderer) load(ctx context.Context, t *tab, r *record.Record) (string, bool, error) {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &page{r: r, ctx: pctx}
	p.last.Store(time.Now().UnixNano())
	t.page.Store(p)
	wctx, wcancel := context.WithTimeout(t.ctx, rd.cfg.Timeout)
	defer wcancel()
	stop := context.AfterFunc(ctx, wcancel)
	defer stop()
	err := chromedp.Do(wctx, chromedp.Navigate(r.FinalURL))
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

// paused answers a request of t's page: the document with what sluice
// fetched, an image, font or medium with a refusal (unless LoadAll), any
// other through fetch, in a goroutine of its own.
func (rd *Renderer) paused(t *tab, e *cdpfetch.EventRequestPaused) {
	p := t.page.Load()
	switch {
	case p == nil:
		refuse(t, e.RequestID, network.ErrorReasonAborted)
	case e.ResourceType == network.ResourceTypeDocument && !p.served.Load() && sameDocument(e.Request.URL, p.r.FinalURL):
		p.served.Store(true)
		h := p.r.Header
		if h == nil {
			h = http.Header{"Content-Type": {p.r.ContentType}}
		}
		rd.fulfill(t, e.RequestID, p.r.Status, h, p.r.Body)
	case !rd.cfg.LoadAll && (e.ResourceType == network.ResourceTypeImage || e.ResourceType == network.ResourceTypeFont ||
		e.ResourceType == network.ResourceTypeMedia || isFavicon(e.Request.URL)),
		!strings.HasPrefix(e.Request.URL, "http://") && !strings.HasPrefix(e.Request.URL, "https://"):
		p.blocked.Add(1)
		refuse(t, e.RequestID, network.ErrorReasonBlockedByClient)
	default:
		p.inFlight.Add(1)
		p.last.Store(time.Now().UnixNano())
		p.subs.Go(func() {
			defer func() {
				p.last.Store(time.Now().UnixNano())
				p.inFlight.Add(-1)
			}()
			rd.answer(t, p, e)
		})
	}
}

// isFavicon reports whether the browser asks for a site's icon of its own
// accord (an image, though not typed as one).
func isFavicon(u string) bool {
	u, _, _ = strings.Cut(u, "?")
	return strings.HasSuffix(u, "/favicon.ico")
}

// sameDocument reports whether the browser's request is for the document
// sluice fetched: the same URL, but for its fragment.
func sameDocument(asked, fetched string) bool {
	asked, _, _ = strings.Cut(asked, "#")
	fetched, _, _ = strings.Cut(fetched, "#")
	return asked == fetched
}

// answer makes e's request as a record's request goes (rd.fetch: the
// shared client, and the cache with --cache) and gives the browser its
// answer.
func (rd *Renderer) answer(t *tab, p *page, e *cdpfetch.EventRequestPaused) {
	fail := func(reason network.ErrorReason) {
		p.blocked.Add(1)
		refuse(t, e.RequestID, reason)
	}
	u, err := url.Parse(e.Request.URL)
	if err != nil {
		fail(network.ErrorReasonFailed)
		return
	}
	q := &record.Request{Method: e.Request.Method, Header: http.Header{}}
	for k, v := range e.Request.Headers {
		if s, ok := v.(string); ok {
			q.Header.Set(k, s)
		}
	}
	q.Header.Set("Accept-Encoding", acceptEncoding)
	for _, entry := range e.Request.PostDataEntries {
		q.Body = append(q.Body, entry.Bytes...)
	}
	sub := &record.Record{URL: e.Request.URL, Resource: true, Request: q}
	ctx, cancel := context.WithTimeout(p.ctx, rd.timeout)
	defer cancel()
	var turn *record.Record
	if rd.turns != nil {
		if turn, err = rd.turns.Permit(ctx, e.Request.URL, record.HostKey(u.Scheme, u.Host)); err != nil {
			fail(network.ErrorReasonAborted)
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
		fail(network.ErrorReasonConnectionRefused)
		return
	}
	p.requests.Add(1)
	rd.fulfill(t, e.RequestID, sub.Status, sub.Header, sub.Body)
}

// refuse fails a request of t's page.
func refuse(t *tab, id cdpfetch.RequestID, reason network.ErrorReason) {
	cdp.Call(t.ctx, t.target, cdpfetch.FailRequest, cdpfetch.FailRequestParams{RequestID: id, ErrorReason: reason}) //nolint:errcheck // the page may be gone
}

// fulfill gives the browser a response, its body whole and decoded.
func (rd *Renderer) fulfill(t *tab, id cdpfetch.RequestID, status int, h http.Header, body []byte) {
	var headers []*cdpfetch.HeaderEntry
	for k, vs := range h {
		if strings.EqualFold(k, "Content-Encoding") || strings.EqualFold(k, "Content-Length") {
			continue
		}
		for _, v := range vs {
			headers = append(headers, &cdpfetch.HeaderEntry{Name: k, Value: v})
		}
	}
	cdp.Call(t.ctx, t.target, cdpfetch.FulfillRequest, cdpfetch.FulfillRequestParams{ //nolint:errcheck // the page may be gone
		RequestID: id, ResponseCode: int64(status), ResponseHeaders: headers, Body: body})
}

// Close ends the browser and waits for it to exit.
func (rd *Renderer) Close() {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.closed = true
	if rd.browser != nil {
		rd.browser.cancel()
		rd.browser = nil
	}
}
