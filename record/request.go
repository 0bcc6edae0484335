package record

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Request is what an NDJSON input object asks to send, in place of the
// flags' defaults (-X, -H, -d, --json, --timeout). A zero field takes the
// default. Read-only once parsed.
type Request struct {
	Method  string        // "method": an HTTP token
	Header  http.Header   // "headers": canonical names; override flag headers of the same name
	Body    []byte        // "body", "json" or "body_base64"; nil when none of them is given
	JSON    bool          // Body came from "json": sent as application/json unless Header says otherwise
	Timeout time.Duration // "timeout": the attempt's time limit
}

// Key identifies the request q makes of url, for --unique: the URL alone
// when q is nil (a record that asks nothing of its own).
func (q *Request) Key(url string) string {
	if q == nil {
		return url
	}
	var b strings.Builder
	b.WriteString(url)
	fmt.Fprintf(&b, "\x00%s\x00%d\x00%t\x00%d\x00", q.Method, q.Timeout, q.JSON, len(q.Body))
	b.Write(q.Body)
	for _, name := range slices.Sorted(maps.Keys(q.Header)) {
		for _, v := range q.Header[name] {
			b.WriteString("\x00" + name + ":" + v)
		}
	}
	return b.String()
}

// The request fields of an input object. Their names are fixed (docs/input.md
// lists them); only the URL's field can be renamed, with --url-field.
const (
	fieldMethod     = "method"
	fieldHeaders    = "headers"
	fieldBody       = "body"
	fieldJSON       = "json"
	fieldBodyBase64 = "body_base64"
	fieldTimeout    = "timeout"
)

// Redacted replaces the value of a secret header in the input echo.
const Redacted = "[redacted]"

// secretHeaders are always redacted in the input echo; Parser.Redact adds to them.
var secretHeaders = []string{"Authorization", "Cookie", "Proxy-Authorization"}

// Secrets returns the names of the headers whose values are never echoed:
// Authorization, Cookie, Proxy-Authorization and p.Redact's.
func (p *Parser) Secrets() []string { return append(slices.Clone(secretHeaders), p.Redact...) }

// Parser turns input lines into records. The zero value reads the URL from
// "url". A Parser is a value that is not changed once made, safe for
// concurrent use.
type Parser struct {
	URLField string   // the field of an NDJSON object that holds the URL
	Redact   []string // headers whose values the input echo hides, besides secretHeaders
}

// secret reports whether the values of header name are hidden in the echo.
func (p *Parser) secret(name string) bool {
	for _, s := range secretHeaders {
		if strings.EqualFold(s, name) {
			return true
		}
	}
	for _, s := range p.Redact {
		if strings.EqualFold(s, name) {
			return true
		}
	}
	return false
}

// objectFields reads an input object's URL and request fields, as the
// scanner that checks the object meets them: one pass, no decoding but of
// the values it keeps. The first problem found is the record's
// invalid_input error; it names the field and never quotes a header's
// value.
type objectFields struct {
	p        *Parser
	line     []byte
	url      string
	hasURL   bool
	req      Request
	bodyFrom string   // the field the body came from, to refuse a second one
	secrets  [][2]int // where the values of the headers the echo hides are in line
	err      string
}

func (o *objectFields) fail(format string, args ...any) {
	if o.err == "" {
		o.err = fmt.Sprintf(format, args...)
	}
}

// member takes the object's member key, whose value is line[start:end].
func (o *objectFields) member(key []byte, start, end int) {
	raw := o.line[start:end]
	switch {
	case string(key) == o.p.URLField:
		if raw[0] == '"' && !o.hasURL {
			o.url, o.hasURL = StringOf(raw), true
		}
	case raw[0] == 'n': // a null request field is an absent one, as jq writes them
	case string(key) == fieldMethod:
		o.method(raw)
	case string(key) == fieldHeaders:
		o.headers(start, end)
	case string(key) == fieldBody, string(key) == fieldBodyBase64, string(key) == fieldJSON:
		o.body(string(key), raw)
	case string(key) == fieldTimeout:
		o.timeout(raw)
	}
}

// StringOf returns the content of the JSON string raw, which a scanner
// (Members) has checked.
func StringOf(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	v, _ := decodeOne(raw)
	s, _ := v.(string)
	return s
}

func (o *objectFields) method(raw []byte) {
	if raw[0] != '"' {
		o.fail("field %q: want a string", fieldMethod)
		return
	}
	m := StringOf(raw)
	if !IsToken(m) {
		o.fail("field %q: %s is not an HTTP method", fieldMethod, QuoteShort(m))
		return
	}
	o.req.Method = m
}

func (o *objectFields) headers(start, end int) {
	if o.line[start] != '{' {
		o.fail("field %q: want an object of header names to strings", fieldHeaders)
		return
	}
	o.req.Header = http.Header{}
	hs := scanner{b: o.line[:end], i: start}
	hs.object(0, func(key []byte, vs, ve int) {
		name := string(key)
		if o.p.secret(name) {
			o.secrets = append(o.secrets, [2]int{vs, ve})
		}
		if !IsToken(name) {
			o.fail("field %q: %s is not a header name", fieldHeaders, QuoteShort(name))
			return
		}
		switch o.line[vs] {
		case '"':
			o.headerValue(name, StringOf(o.line[vs:ve]))
		case '[':
			as := scanner{b: o.line[:ve], i: vs}
			as.array(0, func(es, ee int) {
				if o.line[es] != '"' {
					o.fail("field %q: header %s: want a string or an array of strings", fieldHeaders, QuoteShort(name))
					return
				}
				o.headerValue(name, StringOf(o.line[es:ee]))
			})
		default:
			o.fail("field %q: header %s: want a string or an array of strings", fieldHeaders, QuoteShort(name))
		}
	}, nil)
}

func (o *objectFields) headerValue(name, value string) {
	if strings.ContainsAny(value, "\r\n\x00") {
		o.fail("field %q: the value of header %s contains a line break or NUL", fieldHeaders, QuoteShort(name))
		return
	}
	o.req.Header.Add(name, value)
}

func (o *objectFields) body(name string, raw []byte) {
	if o.bodyFrom != "" {
		o.fail("fields %q and %q: give at most one body", o.bodyFrom, name)
		return
	}
	o.bodyFrom = name
	switch {
	case name == fieldJSON:
		o.req.Body = bytes.Clone(raw)
		o.req.JSON = true
	case raw[0] != '"':
		o.fail("field %q: want a string", name)
	case name == fieldBody:
		if bytes.IndexByte(raw, '\\') < 0 {
			o.req.Body = bytes.Clone(raw[1 : len(raw)-1])
		} else {
			o.req.Body = []byte(StringOf(raw))
		}
	default:
		b, err := base64.StdEncoding.DecodeString(StringOf(raw))
		if err != nil {
			o.fail("field %q: not valid base64: %v", name, err)
			return
		}
		o.req.Body = b
	}
}

func (o *objectFields) timeout(raw []byte) {
	if raw[0] != '"' {
		o.fail("field %q: want a duration such as \"2s\" or \"500ms\"", fieldTimeout)
		return
	}
	s := StringOf(raw)
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		o.fail("field %q: %s is not a positive duration such as \"2s\" or \"500ms\"", fieldTimeout, QuoteShort(s))
		return
	}
	o.req.Timeout = d
}

// request returns what the object asks to send, nil when it asks nothing
// of its own.
func (o *objectFields) request() *Request {
	q := o.req
	if q.Method == "" && q.Header == nil && q.Body == nil && q.Timeout == 0 {
		return nil
	}
	return &q
}

// input returns the object for the input echo: a copy of line with the
// values of secret headers replaced by Redacted.
func (o *objectFields) input() []byte {
	out := make([]byte, 0, len(o.line)+len(o.secrets)*len(Redacted))
	prev := 0
	for _, r := range o.secrets {
		out = append(out, o.line[prev:r[0]]...)
		out = append(out, `"`+Redacted+`"`...)
		prev = r[1]
	}
	return append(out, o.line[prev:]...)
}

// IsToken reports whether s is an RFC 9110 token, as method and header names
// must be.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
