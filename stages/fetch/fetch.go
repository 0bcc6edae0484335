package fetch

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"sluice/record"
	"sluice/stages/cache"
	"sluice/stages/schedule"
	"sluice/stages/transport"
	"sluice/stages/warc"
)

// Config is what a Fetcher needs; the flags fill it. How it connects is
// the transport's, which NewFetcher is given.
type Config struct {
	Concurrency  int                // parallel requests: the fetch workers
	Timeout      time.Duration      // one attempt, from dial to the last body byte
	MaxBody      int64              // body bytes read at most; the rest is not read
	MaxRedirects int                // redirects followed; 0 returns 3xx responses as results
	Method       string             // -X; when empty, POST for a request with a body and GET for one without
	Header       http.Header        // sent with every request; read-only once given
	Body         []byte             // -d, --json: the body of a request whose record gives none
	BodyType     string             // the Content-Type sent with Body unless Header has one
	FailStatus   bool               // status >= 400 becomes an error of kind http
	Observe      schedule.Observers // told of every attempt
	KeepBody     bool               // keep what was read of the body in the record, for extraction or --body
	KeepHeader   bool               // keep the response headers in the record, for --extract headers

	Cache      cache.Cache // --cache: responses kept between runs; nil for none
	CacheFresh bool        // --cache-fresh: a kept response still fresh (RFC 9111) is used without a request
	// --cache-stale-if-error: how long past its freshness a kept response
	// answers for a failed request (no answer, or 500, 502, 503, 504);
	// a response's own stale-if-error can say longer (RFC 5861).
	CacheStaleIfError time.Duration

	Archive *warc.Archiver // --warc: the WARC records of every exchange; nil for none

	Trace         bool // --trace: timings and addresses of the last attempt
	TLSInfo       bool // --tls-info: the TLS connection and the leaf certificate
	RedirectChain bool // --redirect-chain: each redirect before the final response
}

// Fetcher performs HTTP requests for records. It is safe for concurrent use:
// its client is built once and never changed.
type Fetcher struct {
	cfg        Config
	client     *http.Client
	host       string      // a Host header given with -H: the request's Host
	bodyHeader http.Header // Header with Content-Type: BodyType, sent with Body

	inFlight atomic.Int64 // attempts under way, for the progress line
	attempts atomic.Int64 // attempts started
	cached   cacheCounts  // with --cache: records by their cache field
}

// InFlight returns how many attempts are under way.
func (f *Fetcher) InFlight() int64 { return f.inFlight.Load() }

// Attempts returns how many attempts have started.
func (f *Fetcher) Attempts() int64 { return f.attempts.Load() }

// NewFetcher checks cfg and builds the shared client over rt, which makes
// the round trips: transport.New's, or any other http.RoundTripper.
func NewFetcher(cfg Config, rt http.RoundTripper) (*Fetcher, error) {
	if cfg.Concurrency < 1 {
		return nil, fmt.Errorf("concurrency %d: must be at least 1", cfg.Concurrency)
	}
	if cfg.Timeout <= 0 {
		return nil, fmt.Errorf("timeout %v: must be positive", cfg.Timeout)
	}
	if cfg.MaxBody < 0 {
		return nil, fmt.Errorf("max body %d: must not be negative", cfg.MaxBody)
	}
	if cfg.MaxRedirects < 0 {
		return nil, fmt.Errorf("max redirects %d: must not be negative", cfg.MaxRedirects)
	}
	if cfg.Header == nil {
		cfg.Header = http.Header{}
	}
	if cfg.Header.Get("Accept-Encoding") == "" {
		cfg.Header = cfg.Header.Clone()
		cfg.Header.Set("Accept-Encoding", AcceptEncoding)
	}
	f := &Fetcher{cfg: cfg, host: cfg.Header.Get("Host"), bodyHeader: cfg.Header}
	if cfg.BodyType != "" && cfg.Header.Get("Content-Type") == "" {
		f.bodyHeader = cfg.Header.Clone()
		f.bodyHeader.Set("Content-Type", cfg.BodyType)
	}
	if cfg.Archive != nil {
		rt = &warc.Capture{Next: rt}
	}
	f.client = &http.Client{Transport: rt, CheckRedirect: f.checkRedirect}
	return f, nil
}

// Timeout is --timeout.
func (f *Fetcher) Timeout() time.Duration { return f.cfg.Timeout }

// Close closes the idle connections of the shared client.
func (f *Fetcher) Close() { f.client.CloseIdleConnections() }

// redirectError is why a redirect was not followed.
type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

// Classify maps an error from an HTTP exchange to the kind a record
// reports: a redirect refused is reported as such, whatever it wraps; the
// rest as the transport's kinds.
func Classify(err error) record.Kind {
	var redirect *redirectError
	if errors.As(err, &redirect) {
		return record.KindRedirects
	}
	return transport.Classify(err)
}

// RobotsMaxRedirects is how many redirects a --robots request for
// robots.txt follows, whatever --max-redirects says of pages (and with
// --follow, which follows none itself): RFC 9309, 2.3.1.2, asks for at
// least five.
const RobotsMaxRedirects = 5

// robotsKey marks the context of a robots.txt request.
type robotsKey struct{}

// resourceKey marks the context of a rendered page's request: the browser
// follows its redirects itself, each a request of its own.
type resourceKey struct{}

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	limit := f.cfg.MaxRedirects
	if req.Context().Value(robotsKey{}) != nil {
		limit = RobotsMaxRedirects
	}
	if req.Context().Value(resourceKey{}) != nil {
		limit = 0
	}
	if limit == 0 {
		return http.ErrUseLastResponse
	}
	traceOf(req).hop(req.Response)
	if len(via) > limit {
		return &redirectError{fmt.Sprintf("stopped after %d redirects", limit)}
	}
	if s := req.URL.Scheme; s != "http" && s != "https" {
		return &redirectError{fmt.Sprintf("redirect to unsupported scheme %q", s)}
	}
	// Credentials given with -H are for the host they were given for: like
	// curl, drop them when a redirect leaves it (another host, port or
	// scheme). Go's client keeps them for subdomains.
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || record.HostKey(req.URL.Scheme, req.URL.Host) != record.HostKey(first.Scheme, first.Host) {
		for _, h := range credentialHeaders {
			req.Header.Del(h)
		}
	}
	return nil
}

// credentialHeaders are not sent on to another host after a redirect.
var credentialHeaders = []string{"Authorization", "Cookie", "Proxy-Authorization"}

// purpose is what an attempt is made for; it decides what of the attempt
// is kept, cached and counted.
type purpose uint8

const (
	forRecord  purpose = iota // a record's: the request the flags shape; cached, counted
	forRobots                 // a host's robots.txt for --robots: never cached, kept whole, its own redirect limit
	forBrowser                // a request a rendered page made, as the browser asks it: kept whole, not counted, redirects not followed
)

// Fetch performs one attempt for r and fills in its response fields, or its
// error, in place of the last attempt's. ctx cancels the attempt; the
// attempt has its own deadline of Config.Timeout. A failed attempt keeps no
// body: a record that failed passes extraction (record.Passes), and what it
// read is not output.
func (f *Fetcher) Fetch(ctx context.Context, r *record.Record) { f.attempt(ctx, r, forRecord) }

// FetchRobots performs one attempt at a host's robots.txt for --robots (r
// from robots.Robots.Request): as Fetch, but never from or into the cache,
// its body and header kept whole for the rules, and up to
// RobotsMaxRedirects redirects followed.
func (f *Fetcher) FetchRobots(ctx context.Context, r *record.Record) { f.attempt(ctx, r, forRobots) }

// FetchResource performs one attempt for a request a rendered page made
// (r.Request as the browser asks it, not the flags' headers): its body and
// header kept whole for the browser, its redirects handed back to the
// browser, and not counted among the records' attempts (a page's requests
// are counted in its record: render.requests).
func (f *Fetcher) FetchResource(ctx context.Context, r *record.Record) {
	f.attempt(ctx, r, forBrowser)
}

func (f *Fetcher) attempt(ctx context.Context, r *record.Record, p purpose) {
	r.NewAttempt()
	sh := f.shape(r.Request)
	if p == forBrowser {
		sh = shaped{method: r.Request.Method, body: r.Request.Body, header: r.Request.Header}
	}
	var lk *cacheLookup
	if f.cfg.Cache != nil && p != forRobots {
		var done bool
		if lk, done = f.lookup(r, sh, p == forBrowser); done {
			return
		}
	}
	var exchanges *warc.ExchangeLog
	if f.cfg.Archive != nil {
		exchanges = &warc.ExchangeLog{Max: f.cfg.MaxBody}
		if lk != nil && lk.kept != nil {
			exchanges.Refers = lk.kept.Requested
		}
		// Last of all, once the body is closed, and not in the attempt's
		// time (elapsed_ms is the exchange's, not the compression's).
		defer func() { r.Archive = f.cfg.Archive.Encode(exchanges, r) }()
	}
	start := time.Now()
	r.Attempts++
	if p != forBrowser { // the counts and metrics are the records'
		f.attempts.Add(1)
		f.inFlight.Add(1)
	}
	defer func() {
		took := time.Since(start)
		r.Elapsed += took
		if p != forBrowser {
			f.inFlight.Add(-1)
			f.cfg.Observe.Attempt(r, took)
		}
	}()

	actx, cancel := context.WithTimeout(ctx, f.timeout(r))
	defer cancel()
	switch p {
	case forRobots:
		actx = context.WithValue(actx, robotsKey{}, true)
	case forBrowser:
		actx = context.WithValue(actx, resourceKey{}, true)
	}
	var at *attemptTrace
	if f.tracing() {
		actx, at = f.startTrace(actx, start)
	}
	if exchanges != nil {
		actx = exchanges.Attach(actx)
	}
	req, resp, err := f.send(actx, r, sh, lk)
	if req == nil {
		r.Fail(record.KindInvalidInput, "%v", err)
		return
	}
	if at != nil {
		at.done(resp, err)
		defer f.finish(at, r, req)
	}
	if err != nil {
		f.fail(ctx, r, err)
		if ctx.Err() == nil {
			f.staleOnError(r, lk)
		}
		return
	}
	defer resp.Body.Close()
	whole := p != forRecord // the rules, or the browser, need body and header
	f.response(r, resp, f.cfg.KeepHeader || whole)
	if f.cfg.Cache != nil && p != forRobots && cache.UnsafeMethod(req.Method) {
		f.invalidate(resp)
	}
	keepBody := f.cfg.KeepBody || whole || lk != nil && wantBody(lk.kept, resp)
	if err := f.body(r, resp, keepBody); err != nil {
		f.fail(ctx, r, err)
		return
	}
	if exchanges != nil && !r.Truncated {
		warc.Drain(resp.Body)
	}
	if lk != nil && !f.staleOnError(r, lk) {
		f.keep(r, lk, req.Header, resp.Header, start)
	}
	if f.cfg.FailStatus && r.Status >= 400 && p != forBrowser {
		r.Fail(record.KindHTTP, "HTTP %d %s", r.Status, http.StatusText(r.Status))
	}
}

// send builds an attempt's request and sends it, once more on another
// connection if the one it got was closed under it before it could be
// written (net.ErrClosed: the connection policy closes the connections of
// hosts the schedule forgot, and net/http's HTTP/2 pool can hand one out
// in the moment before its reader sees it closed; nothing reached the
// server). A nil request comes with the error that stopped building it.
func (f *Fetcher) send(ctx context.Context, r *record.Record, sh shaped, lk *cacheLookup) (*http.Request, *http.Response, error) {
	for try := 0; ; try++ {
		req, err := f.newRequest(ctx, r, sh)
		if err != nil {
			return nil, nil, err
		}
		if lk != nil && lk.kept != nil {
			req.Header = cache.Conditional(req.Header, lk.kept)
		}
		r.Replayable = idempotent[req.Method] || req.Header["Idempotency-Key"] != nil // a record's headers are canonical
		resp, err := f.client.Do(req)
		if err == nil || try > 0 || !r.Replayable || !errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
			return req, resp, err
		}
	}
}

// response fills r's fields from resp's status line and headers: what it
// is, and what it says of the host's limits (Retry-After, rate-limit
// fields); the header itself when keepHeader.
func (f *Fetcher) response(r *record.Record, resp *http.Response, keepHeader bool) {
	r.Status = resp.StatusCode
	r.Proto = resp.Proto
	r.FinalURL = resp.Request.URL.String()
	r.ContentType = resp.Header.Get("Content-Type")
	r.Quota = ReadQuota(resp.Header, time.Now())
	if r.Status >= 300 && r.Status < 400 {
		r.Location = location(r.FinalURL, resp.Header.Get("Location"))
	}
	if r.Status == http.StatusTooManyRequests || r.Status == http.StatusServiceUnavailable {
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			r.RetryAfter = d
		}
	}
	if keepHeader {
		r.Header = resp.Header
	}
}

// location is a 3xx's Location resolved against the request's URL as a
// browser resolves it; as sent when it does not resolve; "" for none.
func location(from, loc string) string {
	if loc == "" {
		return ""
	}
	if b := record.NewLinkBase(from, ""); b != nil {
		if abs, ok := b.Resolve(loc); ok {
			return abs
		}
	}
	return loc
}

// newRequest builds an attempt's request. A record from record.Parse
// carries its URL parsed, and the request takes that as it is, never
// parsing it a second time.
func (f *Fetcher) newRequest(ctx context.Context, r *record.Record, sh shaped) (*http.Request, error) {
	var reader io.Reader
	if sh.body != nil {
		reader = bytes.NewReader(sh.body) // a new reader per attempt: a retry sends the body whole
	}
	target := ""
	if r.Target == nil {
		target = r.URL
	}
	req, err := http.NewRequestWithContext(ctx, sh.method, target, reader)
	if err != nil {
		return nil, err
	}
	if r.Target != nil {
		req.URL = r.Target
		if host, ok := strings.CutSuffix(r.Target.Host, ":"); ok {
			// An empty port: NewRequest drops the colon from the URL too. A
			// copy, since the record's URL is read-only.
			u := *r.Target
			u.Host = host
			req.URL = &u
		}
		req.Host = req.URL.Host
	}
	req.Header = sh.header
	if sh.host != "" {
		req.Host = sh.host
	}
	return req, nil
}

// noRequest stands for a record that asks nothing of its own.
var noRequest = &record.Request{}

// shaped is what a request sends.
type shaped struct {
	method string
	body   []byte
	header http.Header
	host   string // "": the URL's
}

// shape decides what a request sends: the record's method, headers, body
// and Host where it gives them, the flags' defaults where not. An attempt
// shapes its request once, for the cache and for the request itself.
func (f *Fetcher) shape(q *record.Request) shaped {
	if q == nil {
		q = noRequest
	}
	body, header := q.Body, f.cfg.Header
	if body == nil && f.cfg.Body != nil {
		body, header = f.cfg.Body, f.bodyHeader
	}
	method := cmp.Or(q.Method, f.cfg.Method, http.MethodGet)
	if q.Method == "" && f.cfg.Method == "" && body != nil {
		method = http.MethodPost // as curl does for -d
	}
	if q.Header != nil || q.JSON {
		// A new map whose value slices are shared with the flags' and the
		// record's headers: neither this code nor net/http's client changes
		// a request's header values in place (redirects copy them).
		merged := make(http.Header, len(header)+len(q.Header)+1)
		maps.Copy(merged, header)
		maps.Copy(merged, q.Header) // a record's header replaces the flags' of that name
		if q.JSON && q.Header.Get("Content-Type") == "" {
			merged["Content-Type"] = jsonType
		}
		header = merged
	}
	return shaped{method, body, header, cmp.Or(q.Header.Get("Host"), f.host)}
}

// jsonType is the Content-Type of a record's "json" body; shared, never changed.
var jsonType = []string{"application/json"}

// idempotent are the methods RFC 9110 (section 9.2.2) calls idempotent: a
// retry sends them again without --retry-unsafe.
var idempotent = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodOptions: true,
	http.MethodTrace: true, http.MethodPut: true, http.MethodDelete: true,
}

// readBody reads at most MaxBody+1 bytes of the body, decoded, to r.Body
// when it is kept and to nowhere otherwise, and returns how many it read.
// timeout is an attempt's: the record's own, or --timeout.
func (f *Fetcher) timeout(r *record.Record) time.Duration {
	if r.Request != nil && r.Request.Timeout > 0 {
		return r.Request.Timeout
	}
	return f.cfg.Timeout
}

// body reads resp's body, keeping it in r when keep, up to MaxBody (r is
// marked truncated past it); it keeps nothing of a body it failed to read.
func (f *Fetcher) body(r *record.Record, resp *http.Response, keep bool) error {
	n, err := f.readBody(r, resp, keep)
	if n > f.cfg.MaxBody {
		n, r.Truncated = f.cfg.MaxBody, true
		if r.Body != nil {
			r.Body = r.Body[:n]
		}
	}
	r.ContentLength = n
	if err != nil {
		r.Body = nil
	}
	return err
}

// readBody reads the decoded body, at most MaxBody+1 bytes (so that a
// longer one shows), into r.Body when keep, and says how much it read.
func (f *Fetcher) readBody(r *record.Record, resp *http.Response, keep bool) (int64, error) {
	body, release, err := decodedBody(resp)
	if err != nil {
		return 0, err
	}
	defer release()
	limited := io.LimitReader(body, f.cfg.MaxBody+1)
	if !keep {
		return io.Copy(io.Discard, limited)
	}
	var buf bytes.Buffer
	if cl := resp.ContentLength; cl > 0 {
		buf.Grow(int(min(cl, f.cfg.MaxBody) + 1))
	}
	n, err := buf.ReadFrom(limited)
	r.Body = buf.Bytes()
	return n, err
}

func (f *Fetcher) fail(ctx context.Context, r *record.Record, err error) {
	// The url.Error wrapper repeats the method and URL the record already holds.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	kind := Classify(err)
	if ctx.Err() != nil {
		kind = record.KindCanceled // whatever surfaced, the cause is that we stopped
	}
	r.Fail(kind, "%v", err)
}
