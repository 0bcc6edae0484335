package record

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"
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

// The request fields of an input object. Their names are fixed (the README
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

// objectFields reads an input object's URL and request fields in one pass.
// The object has been validated, so the iterator meets no syntax error. The
// first problem found is the record's invalid_input error; it names the
// field and never quotes a header's value.
type objectFields struct {
	p        *Parser
	url      string
	hasURL   bool
	req      Request
	bodyFrom string // the field the body came from, to refuse a second one
	secret   bool   // "headers" holds a header the echo must hide
	err      string
}

func (o *objectFields) fail(format string, args ...any) {
	if o.err == "" {
		o.err = fmt.Sprintf(format, args...)
	}
}

func (o *objectFields) member(it *jsoniter.Iterator, name string) bool {
	next := it.WhatIsNext()
	switch {
	case name == o.p.URLField:
		if next == jsoniter.StringValue && !o.hasURL {
			o.url, o.hasURL = it.ReadString(), true
			return true
		}
	case next == jsoniter.NilValue: // a null request field is an absent one, as jq writes them
	case name == fieldMethod:
		o.method(it, next)
		return true
	case name == fieldHeaders:
		o.headers(it, next)
		return true
	case name == fieldBody, name == fieldBodyBase64, name == fieldJSON:
		o.body(it, name, next)
		return true
	case name == fieldTimeout:
		o.timeout(it, next)
		return true
	}
	it.Skip()
	return true
}

func (o *objectFields) method(it *jsoniter.Iterator, next jsoniter.ValueType) {
	if next != jsoniter.StringValue {
		it.Skip()
		o.fail("field %q: want a string", fieldMethod)
		return
	}
	m := it.ReadString()
	if !IsToken(m) {
		o.fail("field %q: %s is not an HTTP method", fieldMethod, quoteShort(m))
		return
	}
	o.req.Method = m
}

func (o *objectFields) headers(it *jsoniter.Iterator, next jsoniter.ValueType) {
	if next != jsoniter.ObjectValue {
		it.Skip()
		o.fail("field %q: want an object of header names to strings", fieldHeaders)
		return
	}
	o.req.Header = http.Header{}
	it.ReadObjectCB(func(it *jsoniter.Iterator, name string) bool {
		if o.p.secret(name) {
			o.secret = true
		}
		if !IsToken(name) {
			it.Skip()
			o.fail("field %q: %s is not a header name", fieldHeaders, quoteShort(name))
			return true
		}
		switch it.WhatIsNext() {
		case jsoniter.StringValue:
			o.headerValue(name, it.ReadString())
		case jsoniter.ArrayValue:
			it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
				if it.WhatIsNext() != jsoniter.StringValue {
					it.Skip()
					o.fail("field %q: header %s: want a string or an array of strings", fieldHeaders, quoteShort(name))
					return true
				}
				o.headerValue(name, it.ReadString())
				return true
			})
		default:
			it.Skip()
			o.fail("field %q: header %s: want a string or an array of strings", fieldHeaders, quoteShort(name))
		}
		return true
	})
}

func (o *objectFields) headerValue(name, value string) {
	if strings.ContainsAny(value, "\r\n\x00") {
		o.fail("field %q: the value of header %s contains a line break or NUL", fieldHeaders, quoteShort(name))
		return
	}
	o.req.Header.Add(name, value)
}

func (o *objectFields) body(it *jsoniter.Iterator, name string, next jsoniter.ValueType) {
	if o.bodyFrom != "" {
		it.Skip()
		o.fail("fields %q and %q: give at most one body", o.bodyFrom, name)
		return
	}
	o.bodyFrom = name
	switch {
	case name == fieldJSON:
		o.req.Body = append([]byte(nil), it.SkipAndReturnBytes()...)
		o.req.JSON = true
	case next != jsoniter.StringValue:
		it.Skip()
		o.fail("field %q: want a string", name)
	case name == fieldBody:
		o.req.Body = []byte(it.ReadString())
	default:
		b, err := base64.StdEncoding.DecodeString(it.ReadString())
		if err != nil {
			o.fail("field %q: not valid base64: %v", name, err)
			return
		}
		o.req.Body = b
	}
}

func (o *objectFields) timeout(it *jsoniter.Iterator, next jsoniter.ValueType) {
	if next != jsoniter.StringValue {
		it.Skip()
		o.fail("field %q: want a duration such as \"2s\" or \"500ms\"", fieldTimeout)
		return
	}
	s := it.ReadString()
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		o.fail("field %q: %s is not a positive duration such as \"2s\" or \"500ms\"", fieldTimeout, quoteShort(s))
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

// redact returns the object with the values of its secret headers replaced
// by Redacted, members in their order.
func (p *Parser) redact(object []byte) []byte {
	s := codec.BorrowStream(nil)
	defer codec.ReturnStream(s)
	it := codec.BorrowIterator(object)
	defer codec.ReturnIterator(it)
	first := true
	s.WriteObjectStart()
	it.ReadObjectCB(func(it *jsoniter.Iterator, name string) bool {
		if !first {
			s.WriteMore()
		}
		first = false
		key(s, name)
		if name != fieldHeaders || name == p.URLField || it.WhatIsNext() != jsoniter.ObjectValue {
			s.WriteRaw(string(it.SkipAndReturnBytes()))
			return true
		}
		firstHeader := true
		s.WriteObjectStart()
		it.ReadObjectCB(func(it *jsoniter.Iterator, header string) bool {
			if !firstHeader {
				s.WriteMore()
			}
			firstHeader = false
			key(s, header)
			if p.secret(header) {
				it.Skip()
				writeString(s, Redacted)
			} else {
				s.WriteRaw(string(it.SkipAndReturnBytes()))
			}
			return true
		})
		s.WriteObjectEnd()
		return true
	})
	s.WriteObjectEnd()
	return append([]byte(nil), s.Buffer()...)
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
