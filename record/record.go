package record

import (
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Kind classifies why a record carries an error. The set is closed: every
// error a stage records has one of these kinds, and docs/output.md lists them.
type Kind string

const (
	KindInvalidInput Kind = "invalid_input" // the input line is not a usable http(s) URL
	KindDNS          Kind = "dns"           // the host name did not resolve
	KindConnect      Kind = "connect"       // the TCP connection was refused or unreachable
	KindTLS          Kind = "tls"           // handshake or certificate verification failed
	KindTimeout      Kind = "timeout"       // the attempt did not finish within --timeout
	KindReset        Kind = "reset"         // the connection broke mid-exchange
	KindProtocol     Kind = "protocol"      // the server's answer was not valid HTTP
	KindRedirects    Kind = "redirects"     // too many redirects, or a redirect to a non-http(s) URL
	KindHTTP         Kind = "http"          // status >= 400, only with --fail-status
	KindTooLarge     Kind = "too_large"     // the response headers were larger than the client accepts
	KindCanceled     Kind = "canceled"      // interrupted (signal, or output closed) before it finished
	KindDenied       Kind = "denied"        // --deny-private refused the address the host resolved to
	KindRobots       Kind = "robots"        // --robots: the host's robots.txt disallows the URL, or could not be read
	KindRender       Kind = "render"        // --render: the browser could not render the page (it died twice, or failed)
)

// Error is the error a record carries to the sink. Message is for people;
// Kind is for scripts.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return string(e.Kind) + ": " + e.Message }

// Record is the one element type that flows through every stage. A record
// that Passes goes by every later stage untouched. A Record is owned by one
// stage at a time, so it needs no locking.
type Record struct {
	Seq   int64  // 1-based position among the non-blank, non-comment input lines
	URL   string // as given; may be invalid UTF-8, which the encoder replaces
	Input []byte // the NDJSON input object, verbatim; nil for a plain URL line
	Host  string // scheduling key: lower-case host, with the port unless it is the scheme's default

	// URL parsed, when Parse found it usable; nil otherwise. The fetch stage
	// sends it as it is rather than parse URL a second time (net/http does
	// not change a request's URL). Read-only once set.
	Target *url.URL
	// The URL requested, as the WHATWG URL Standard writes URL, when it is
	// not URL as given (output as request_url); "" otherwise.
	RequestURL string

	// What the input object asks to send; nil for the flags' defaults.
	Request *Request

	// The outcome of the current or last attempt, replaced whole before
	// each attempt (NewAttempt). Its fields are the record's: r.Status is
	// r.Response.Status.
	Response

	Elapsed  time.Duration // over every attempt
	Attempts int

	// Between stages. Not part of the output.
	Skip       string    // why the record is neither fetched nor written: "resume" or "duplicate"
	Sent       time.Time // when the schedule let the current or last attempt go; zero when no limit applied
	Replayable bool      // the last attempt may be sent again: its method is idempotent (RFC 9110) or it has an Idempotency-Key

	// The record's envelope: where it came from (a crawl's origin, depth
	// and lineage; a queue's message). Only the framework (sources,
	// frontier, discover, sinks) reads or writes it; nil for a line of
	// input without --follow. See Task.
	Task *Task
}

// Response is the side of a record an attempt fills: what the fetch stage
// read of the final response, and what the extract stage found in it. A
// new attempt starts from the zero Response, so nothing of a previous
// attempt's answer can leak into the next one's record.
type Response struct {
	// Filled by the fetch stage from the final response.
	FinalURL      string
	Status        int
	Proto         string
	ContentType   string
	ContentLength int64  // body bytes read (after content decoding), at most --max-body
	Truncated     bool   // the body was longer than --max-body
	Cache         string // --cache: how the cache answered ("miss", "fresh", "revalidated", "changed", "unchanged"); empty without

	// Filled by the fetch stage when asked: --trace, --tls-info,
	// --redirect-chain.
	Timings    *Timings
	RemoteAddr string // the address connected to, IP:port
	LocalAddr  string
	TLS        *TLSInfo
	Redirects  []Hop // non-nil, maybe empty, when asked

	Location string // a 3xx response's Location, resolved against its URL; "" otherwise

	WARC *WARCRef // --warc: where the sink wrote the final response's WARC record; nil for none

	Render *Render // --render: how the page was rendered; nil when it was not

	Err *Error

	// Filled by the extract stage; see Page.
	Page *Page

	// Not written as such.
	Body       []byte        // the body read, kept only when extraction or --body needs it; written when set
	Header     http.Header   // the response headers, kept only for --extract headers and robots.txt
	RetryAfter time.Duration // the server's Retry-After on a 429 or 503, uncapped
	Quota      *Quota        // what the response's rate-limit fields said of the host's quota; nil when none
	Archive    *Archive      // --warc: the attempt's exchanges as WARC records, until the sink writes them
}

// Render is how the render stage rendered a page (--render): what the
// page asked for, and how long it took.
type Render struct {
	Requests int64         // the page's requests that sluice answered
	Blocked  int64         // its requests refused: images, fonts and media without --render-load all, what sluice could not fetch
	Elapsed  time.Duration // from navigation to the DOM
	TimedOut bool          // --render-timeout came first: the DOM is as it stood then
	Charset  string        // the document's charset as fetched; its body is the DOM now, in UTF-8

	Screenshot string // --screenshot: the PNG's path; "" for none
}

// Quota is what a response's rate-limit fields say of its host's quota:
// Remaining more requests are allowed until Reset from the response.
// Limit and Window, where a policy field gives them, are the quota's size
// and period, with which the next window's budget is known before any
// answer in it; 0 when not given.
type Quota struct {
	Remaining int64
	Reset     time.Duration
	Limit     int64
	Window    time.Duration
}

// Spent reports whether q says nothing remains until its reset.
func (q *Quota) Spent() bool { return q != nil && q.Remaining <= 0 }

// Passes reports whether r goes by the stages untouched (the pass-through
// rule, which flow keeps for every stage and sink): it is skipped, or it
// failed without a response to work on. An error of kind http (--fail-status)
// comes with a response, and extraction still reads it.
func (r *Record) Passes() bool {
	return r.Skip != "" || (r.Err != nil && r.Err.Kind != KindHTTP)
}

// MsgID is r's queue message's stream and sequence, the output's
// Nats-Msg-Id; "" for line input.
func (r *Record) MsgID() string {
	if r.Task == nil {
		return ""
	}
	return r.Task.MsgID
}

// NewAttempt forgets the previous attempt's outcome before a new attempt.
// Attempts and Elapsed add up over attempts and are kept.
func (r *Record) NewAttempt() { r.Response = Response{} }

// Page is what the extract stage found. A part that was not asked for, or
// does not apply (the body is not HTML), is left at its zero value and is
// not written.
type Page struct {
	Title    *string           // --extract title: the first <title>, white space folded
	Links    []string          // --extract links: absolute http(s) links, in page order, once each
	HasLinks bool              // links were extracted (the list may be empty)
	Meta     map[string]string // --extract meta: description, canonical, lang, robots, og:*, author, published, modified, site_name, type
	JSONLD   []byte            // --extract jsonld: the page's JSON-LD objects, one array, encoded
	Text     *string           // --extract text: visible text, white space folded, capped
	Headers  http.Header       // --extract headers: the response headers
	Fields   []Field           // --select and --select-all, in the order given, then named --jq
	JSON     []byte            // the unnamed --jq's result, encoded
	Hashes   []Hash            // --hash: of the body read, in the order of extract.HashNames
	Charset  string            // the charset the body was decoded from, for HTML
	Error    string            // why the HTML could not be parsed, or a --jq failed (that part is then missing)
}

// AddResult sets a --jq result: json when name is empty, else fields.name.
func (p *Page) AddResult(name string, result []byte) {
	if name == "" {
		p.JSON = result
		return
	}
	p.Fields = append(p.Fields, Field{Name: name, JSON: result})
}

// AddError adds a reason to p.Error.
func (p *Page) AddError(msg string) {
	if p.Error != "" {
		p.Error += "; "
	}
	p.Error += msg
}

// Hash is one --hash result: Hex for a digest, Int for a number (mmh3).
type Hash struct {
	Name string
	Hex  string
	Int  *int64
}

// Field is one --select (One), --select-all (All) or named --jq (JSON) result.
type Field struct {
	Name  string
	All   bool
	One   *string  // nil when nothing matched
	Items []string // every match, for All
	JSON  []byte   // a --jq result, encoded
}

// Fail sets the record's error. The first error wins: a record that failed
// keeps the reason it failed for.
func (r *Record) Fail(kind Kind, format string, args ...any) {
	if r.Err != nil {
		return
	}
	r.Err = &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}
