package warc

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"encoding/hex"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"sluice/record"
)

// Config is what an Archiver needs (--warc).
type Config struct {
	// Secrets are the request header fields written as record.Redacted
	// (Authorization, Cookie, Proxy-Authorization and --redact's); nil
	// writes every field as sent (--warc-secrets).
	Secrets []string
	// Loose takes the archive of a record that is never written, a
	// --robots robots.txt; it must be safe for concurrent use. nil drops
	// those.
	Loose func(*record.Archive)
}

// Archiver makes WARC/1.1 records of the HTTP exchanges of an attempt
// (--warc): a request and a response record for each exchange, redirects
// included, linked by WARC-Concurrent-To; the body as it came on the wire
// (still content-encoded; dechunked, with Transfer-Encoding renamed
// X-Orig-Transfer-Encoding), within --max-body; SHA-1 block and payload
// digests in base32. A 304 to a --cache revalidation is a revisit record
// (server-not-modified), and a 2xx body identical to one archived before in
// the run is one too (identical-payload-digest). Each record is compressed
// on its own (a gzip member) by the fetch worker that made it, so that
// compression runs on every core and the sink only appends.
//
// It is safe for concurrent use.
type Archiver struct {
	cfg    Config
	secret map[string]bool // canonical header names
	seen   payloads
}

// NewArchiver returns an Archiver for cfg.
func NewArchiver(cfg Config) *Archiver {
	a := &Archiver{cfg: cfg, secret: map[string]bool{}}
	for _, name := range cfg.Secrets {
		a.secret[textproto.CanonicalMIMEHeaderKey(name)] = true
	}
	a.seen.init(maxPayloads)
	return a
}

// Robots hands the archive of r, a --robots robots.txt after its last
// attempt, to Loose: such a record is never written, so the sink never
// sees it. a may be nil (no --warc).
func (a *Archiver) Robots(r *record.Record) {
	if a == nil || !r.Task.RobotsRules() || r.Archive == nil {
		return
	}
	if a.cfg.Loose != nil {
		a.cfg.Loose(r.Archive)
	}
	r.Archive = nil
}

// maxPayloads bounds the digests of bodies archived that a later identical
// body is written as a revisit of: the oldest are forgotten first.
const maxPayloads = 1 << 16

// captureKey marks the context of an attempt whose exchanges are archived.
type captureKey struct{}

// ExchangeLog is an attempt's exchanges, in order, as capture saw them.
// Its methods run in the attempt's goroutine: net/http's client calls its
// transport and the trace hooks there, and the fetch stage reads the body.
type ExchangeLog struct {
	Max    int64     // body bytes kept: --max-body
	ip     string    // the address of the connection the last request got
	Refers time.Time // --cache: when the kept response a 304 confirms was requested; zero for none
	list   []*exchange
}

// exchange is one request and its response.
type exchange struct {
	date     time.Time
	ip       string
	req      *http.Request
	reqBody  []byte
	resp     *http.Response
	body     []byte // as read from the wire, at most max
	complete bool   // the body was read to its end
	cut      bool   // the body went past max
}

// Attach returns ctx under which Capture logs an attempt's exchanges in l.
func (l *ExchangeLog) Attach(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, captureKey{}, l)
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		l.ip = ""
		if a, ok := info.Conn.RemoteAddr().(*net.TCPAddr); ok {
			l.ip = a.IP.String()
		}
	}})
}

// Capture is the fetch stage's RoundTripper under --warc, around the one
// that makes the round trips (Next): it sees every exchange of an attempt
// whose context an ExchangeLog is attached to, each redirect's too, and
// keeps a copy of the body as it is read, before any decoding.
type Capture struct{ Next http.RoundTripper }

// CloseIdleConnections closes Next's idle connections, if it keeps any.
func (c *Capture) CloseIdleConnections() {
	if n, ok := c.Next.(interface{ CloseIdleConnections() }); ok {
		n.CloseIdleConnections()
	}
}

func (c *Capture) RoundTrip(req *http.Request) (*http.Response, error) {
	l, _ := req.Context().Value(captureKey{}).(*ExchangeLog)
	if l == nil {
		return c.Next.RoundTrip(req)
	}
	x := &exchange{date: time.Now(), req: req}
	if req.GetBody != nil && req.ContentLength != 0 {
		if b, err := req.GetBody(); err == nil {
			x.reqBody, _ = io.ReadAll(b)
		}
	}
	resp, err := c.Next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	x.ip, x.resp = l.ip, resp
	x.body = getBuffer(min(resp.ContentLength, l.Max))
	resp.Body = &teeBody{ReadCloser: resp.Body, x: x, max: l.Max}
	l.list = append(l.list, x)
	return resp, nil
}

// teeBody keeps what is read of a body, up to max bytes.
type teeBody struct {
	io.ReadCloser
	x   *exchange
	max int64
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	keep := n
	if room := t.max - int64(len(t.x.body)); int64(keep) > room {
		keep, t.x.cut = int(room), true
	}
	t.x.body = append(t.x.body, p[:keep]...)
	if err == io.EOF {
		t.x.complete = true
	}
	return n, err
}

// Drain reads what is left of a body the fetch stage read to its end once
// decoded (a decoder can stop before the wire's end: a chunked body's last
// chunk), so that the archive sees the end.
func Drain(body io.Reader) { io.CopyN(io.Discard, body, 64<<10) }

// done reports whether x's body is whole: read to its end, or to its
// Content-Length.
func (x *exchange) done() bool {
	return !x.cut && (x.complete || x.resp.ContentLength >= 0 && int64(len(x.body)) == x.resp.ContentLength)
}

// Encode makes r's archive of what l saw; nil when it saw nothing.
func (a *Archiver) Encode(l *ExchangeLog, r *record.Record) *record.Archive {
	if len(l.list) == 0 {
		return nil
	}
	arc := &record.Archive{Ref: -1, Members: make([]record.Member, 0, 2*len(l.list))}
	for i, x := range l.list {
		last := i == len(l.list)-1
		reqID, respID := recordID(), recordID()
		h2 := x.resp.ProtoMajor == 2
		date := x.date.UTC().Format(warcDate)
		uri := x.req.URL.String()

		reqHead := a.requestHead(x)
		w := newWARCHeader("request", reqID, date, uri, x.ip, h2)
		w.field("WARC-Concurrent-To", respID)
		arc.Members = append(arc.Members, record.Member{Bytes: w.finish("application/http;msgtype=request", "", reqHead, x.reqBody)})

		w = a.responseHeader(l, r, x, respID, date, uri, last)
		w.field("WARC-Concurrent-To", reqID)
		entry := &record.IndexEntry{Key: SURT(uri), Timestamp: x.date.UTC().Format("20060102150405"), URL: uri, Status: x.resp.StatusCode}
		entry.Digest = w.payload
		var member []byte
		if w.typ == "revisit" {
			entry.Mime = "warc/revisit"
			member = w.finish("application/http;msgtype=response", w.payload, responseHead(x), nil)
		} else {
			entry.Mime = mediaType(x.resp.Header.Get("Content-Type"))
			member = w.finish("application/http;msgtype=response", w.payload, responseHead(x), x.body)
		}
		arc.Members = append(arc.Members, record.Member{Bytes: member, Index: entry})
		putBuffer(x.body)
		x.body = nil
		if last {
			arc.Ref = len(arc.Members) - 1
		}
	}
	if r.Status == 0 { // the last exchange's response was not the record's: it failed after it
		arc.Ref = -1
	}
	return arc
}

// responseHeader starts the WARC header of x's response: a response
// record, or a revisit of an earlier one.
func (a *Archiver) responseHeader(l *ExchangeLog, r *record.Record, x *exchange, id, date, uri string, last bool) *warcHeader {
	status := x.resp.StatusCode
	if status == http.StatusNotModified && last && !l.Refers.IsZero() {
		w := newWARCHeader("revisit", id, date, uri, x.ip, x.resp.ProtoMajor == 2)
		w.field("WARC-Profile", "http://netpreserve.org/warc/1.1/revisit/server-not-modified")
		w.field("WARC-Refers-To-Target-URI", uri)
		w.field("WARC-Refers-To-Date", l.Refers.UTC().Format(warcDate))
		return w
	}
	whole := x.done()
	sum := sha1.Sum(x.body)
	payload := digestOf(sum[:])
	if whole && len(x.body) > 0 && status >= 200 && status < 300 {
		if o, dup := a.seen.add(sum, original{uri: uri, date: date, id: id}); dup {
			w := newWARCHeader("revisit", id, date, uri, x.ip, x.resp.ProtoMajor == 2)
			w.field("WARC-Profile", "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest")
			w.field("WARC-Refers-To", o.id)
			w.field("WARC-Refers-To-Target-URI", o.uri)
			w.field("WARC-Refers-To-Date", o.date)
			w.payload = payload
			return w
		}
	}
	w := newWARCHeader("response", id, date, uri, x.ip, x.resp.ProtoMajor == 2)
	w.payload = payload
	switch {
	case whole:
	case x.cut || last && r.Truncated:
		w.field("WARC-Truncated", "length")
	default:
		w.field("WARC-Truncated", "unspecified")
	}
	return w
}

// warcDate is WARC-Date's form: UTC, to the microsecond (WARC/1.1 allows
// fractions of a second).
const warcDate = "2006-01-02T15:04:05.000000Z"

// requestHead is the request's line and header fields as sent, as HTTP/1.1
// writes them (an HTTP/2 request too: WARC-Protocol says h2), with secret
// fields redacted.
func (a *Archiver) requestHead(x *exchange) []byte {
	req := x.req
	var b bytes.Buffer
	b.WriteString(req.Method + " " + req.URL.RequestURI() + " HTTP/1.1\r\n")
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	b.WriteString("Host: " + host + "\r\n")
	for _, name := range slices.Sorted(maps.Keys(req.Header)) {
		if name == "Host" {
			continue
		}
		for _, v := range req.Header[name] {
			if a.secret[name] {
				v = record.Redacted
			}
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		b.WriteString("User-Agent: Go-http-client/1.1\r\n") // what net/http sends then
	}
	if len(x.reqBody) > 0 {
		b.WriteString("Content-Length: " + strconv.Itoa(len(x.reqBody)) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// responseHead is the response's status line and header fields: HTTP/1.1's
// form for an HTTP/2 response. net/http takes Transfer-Encoding out of the
// fields, and the body kept is dechunked: the field is written as
// X-Orig-Transfer-Encoding, which no replay tool reads as framing.
func responseHead(x *exchange) []byte {
	resp := x.resp
	var b bytes.Buffer
	proto := resp.Proto
	if resp.ProtoMajor != 1 {
		proto = "HTTP/1.1"
	}
	status := resp.Status
	if status == "" {
		status = strconv.Itoa(resp.StatusCode)
	}
	b.WriteString(proto + " " + status + "\r\n")
	for _, name := range slices.Sorted(maps.Keys(resp.Header)) {
		for _, v := range resp.Header[name] {
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	if len(resp.TransferEncoding) > 0 {
		b.WriteString("X-Orig-Transfer-Encoding: " + strings.Join(resp.TransferEncoding, ", ") + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// warcHeader is a WARC record's header being written.
type warcHeader struct {
	typ     string
	b       bytes.Buffer
	payload string // the WARC-Payload-Digest of a response or an identical-payload revisit; "" for none
}

func newWARCHeader(typ, id, date, uri, ip string, h2 bool) *warcHeader {
	w := &warcHeader{typ: typ}
	w.b.WriteString("WARC/1.1\r\n")
	w.field("WARC-Type", typ)
	w.field("WARC-Record-ID", id)
	w.field("WARC-Date", date)
	w.field("WARC-Target-URI", uri)
	if ip != "" {
		w.field("WARC-IP-Address", ip)
	}
	if h2 {
		w.field("WARC-Protocol", "h2")
	}
	return w
}

func (w *warcHeader) field(name, value string) {
	w.b.WriteString(name + ": " + value + "\r\n")
}

// finish ends the header with the block's digest, type and length, and
// returns the whole record, the block being head followed by body,
// compressed as one gzip member. payload is the WARC-Payload-Digest; ""
// for none.
func (w *warcHeader) finish(contentType, payload string, head, body []byte) []byte {
	h := sha1.New()
	h.Write(head)
	h.Write(body)
	w.field("WARC-Block-Digest", digestOf(h.Sum(nil)))
	if payload != "" {
		w.field("WARC-Payload-Digest", payload)
	}
	w.field("Content-Type", contentType)
	w.field("Content-Length", strconv.Itoa(len(head)+len(body)))
	w.b.WriteString("\r\n")
	return compressMember(w.b.Bytes(), head, body, []byte("\r\n\r\n"))
}

// gzipWriters are reused: a writer is costly to make.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// compressMember returns parts, concatenated, as one gzip member.
func compressMember(parts ...[]byte) []byte {
	out := scratches.Get().(*bytes.Buffer)
	out.Reset()
	gz := gzipWriters.Get().(*gzip.Writer)
	gz.Reset(out)
	for _, p := range parts {
		gz.Write(p) // a bytes.Buffer does not fail
	}
	gz.Close()
	gzipWriters.Put(gz)
	member := bytes.Clone(out.Bytes())
	if out.Cap() <= 1<<20 {
		scratches.Put(out)
	}
	return member
}

// scratches are where records are compressed before they are copied out
// at their size.
var scratches = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 16<<10)) }}

// buffers hold bodies as they are read: reused, since a crawl reads
// gigabytes through them.
var buffers sync.Pool

// getBuffer returns an empty buffer of at least size bytes' capacity
// (size < 0: unknown).
func getBuffer(size int64) []byte {
	if b, ok := buffers.Get().(*[]byte); ok && int64(cap(*b)) >= size {
		return (*b)[:0]
	}
	return make([]byte, 0, max(size, 32<<10))
}

// putBuffer gives b back; one past 1 MiB is left to the collector.
func putBuffer(b []byte) {
	if cap(b) <= 1<<20 {
		buffers.Put(&b)
	}
}

// payloadDigest is a body's WARC-Payload-Digest.
func payloadDigest(body []byte) string {
	sum := sha1.Sum(body)
	return digestOf(sum[:])
}

// digestOf is how WARC files write a SHA-1: "sha1:" and base32, which CDX
// indexes and revisit resolution compare.
func digestOf(sum []byte) string { return "sha1:" + base32.StdEncoding.EncodeToString(sum) }

// recordID returns a new WARC-Record-ID: a random (version 4) UUID URN.
func recordID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return "<urn:uuid:" + string(s[:]) + ">"
}

// Info returns the warcinfo record a WARC file named name starts with:
// fields (application/warc-fields) say what wrote it, and how; one gzip
// member.
func Info(name string, fields []byte) []byte {
	head := "WARC/1.1\r\n" +
		"WARC-Type: warcinfo\r\n" +
		"WARC-Record-ID: " + recordID() + "\r\n" +
		"WARC-Date: " + time.Now().UTC().Format("2006-01-02T15:04:05.000000Z") + "\r\n" +
		"WARC-Filename: " + name + "\r\n" +
		"WARC-Block-Digest: " + payloadDigest(fields) + "\r\n" +
		"Content-Type: application/warc-fields\r\n" +
		"Content-Length: " + strconv.Itoa(len(fields)) + "\r\n\r\n"
	return compressMember(append(append([]byte(head), fields...), "\r\n\r\n"...))
}

// mediaType is a Content-Type's type and subtype, as CDX indexes give it.
func mediaType(ct string) string {
	t, _, _ := strings.Cut(ct, ";")
	return strings.TrimSpace(t)
}

// original is where a body was first archived in the run.
type original struct{ uri, date, id string }

// payloads are the digests of the bodies archived, at most max of them,
// the oldest forgotten first.
type payloads struct {
	mu   sync.Mutex
	m    map[[sha1.Size]byte]original
	ring [][sha1.Size]byte
	next int
}

func (p *payloads) init(max int) {
	p.m = make(map[[sha1.Size]byte]original)
	p.ring = make([][sha1.Size]byte, 0, max)
}

// add records o as the first archive of a body of digest sum, unless one
// is known: then it returns that one and true.
func (p *payloads) add(sum [sha1.Size]byte, o original) (original, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.m[sum]; ok {
		return old, true
	}
	if len(p.ring) < cap(p.ring) {
		p.ring = append(p.ring, sum)
	} else {
		delete(p.m, p.ring[p.next])
		p.ring[p.next] = sum
		p.next = (p.next + 1) % len(p.ring)
	}
	p.m[sum] = o
	return o, false
}

// SURT is a URL's key in a CDXJ index, as warcio and pywb write it: the
// URL in lower case without a leading www. label, its host's labels
// reversed and comma-separated, a non-default port after a colon, then
// ")", the path and the query's parameters sorted; no fragment.
func SURT(u string) string {
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return u
	}
	lower := strings.ToLower(u)
	scheme, rest, _ := strings.Cut(lower, "://")
	if label, after, ok := strings.Cut(rest, "."); ok && strings.HasPrefix(label, "www") && strings.Trim(label[3:], "0123456789") == "" && !strings.ContainsAny(label, "/:?#@") {
		rest = after
	}
	rest, _, _ = strings.Cut(rest, "#")
	authority, pathQuery := rest, "/"
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, pathQuery = rest[:i], rest[i:]
	}
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	host, port := authority, ""
	if i := strings.LastIndexByte(authority, ':'); i >= 0 && !strings.HasSuffix(authority, "]") {
		host, port = authority[:i], authority[i+1:]
	}
	if port == "80" && scheme == "http" || port == "443" && scheme == "https" {
		port = ""
	}
	path, query, hasQuery := strings.Cut(pathQuery, "?")
	if path == "" {
		path = "/"
	}
	labels := strings.Split(host, ".")
	slices.Reverse(labels)
	key := strings.Join(labels, ",")
	if port != "" {
		key += ":" + port
	}
	key += ")" + path
	if hasQuery && query != "" {
		params := strings.Split(query, "&")
		slices.Sort(params)
		key += "?" + strings.Join(params, "&")
	}
	return key
}
