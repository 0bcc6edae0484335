package record

import (
	"fmt"

	whatwgerrors "github.com/nlnwa/whatwg-url/errors"

	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Parse turns one input line into a Record with the zero Parser's
// settings but for the URL's field.
func Parse(seq int64, line []byte, urlField string) *Record {
	p := Parser{URLField: urlField}
	return p.Parse(seq, line)
}

// Parse turns one input line into a Record. The line has already been framed
// by the source: no line ending, no BOM, not blank, not a comment. A line
// starting with '{' is an NDJSON object whose string field p.URLField holds
// the URL, and whose request fields (see Request) say what to send; the
// object is kept in Input, verbatim but for secret header values. Any other
// line is the URL itself.
//
// Parse never fails: a line that cannot be fetched yields a record with
// Err.Kind == KindInvalidInput. Parse does not keep a reference to line.
func (p *Parser) Parse(seq int64, line []byte) *Record {
	r := &Record{Seq: seq}
	if len(line) > 0 && line[0] == '{' {
		p.parseObject(r, line)
	} else {
		r.URL = string(line)
		if !utf8.Valid(line) {
			r.Fail(KindInvalidInput, "line is not valid UTF-8")
		}
	}
	if r.Err == nil {
		u, host, requestURL, err := checkURL(r.URL)
		if err != nil {
			r.Fail(KindInvalidInput, "%v", err)
		}
		r.Target, r.Host, r.RequestURL = u, host, requestURL
	}
	return r
}

func (p *Parser) parseObject(r *Record, line []byte) {
	if p.URLField == "" {
		p = &Parser{URLField: "url", Redact: p.Redact}
	}
	o := objectFields{p: p, line: line}
	s := scanner{b: line}
	err := s.object(0, o.member, nil) // line[0] is '{'
	if s.space(); err == nil && s.i < len(line) {
		err = s.errorf("data after the object")
	}
	if err != nil {
		r.Fail(KindInvalidInput, "line is not a valid JSON object: %v", err)
		return
	}
	input := o.input()
	if bytes.ContainsAny(input, "\r\n") {
		// Line breaks between tokens would split the output line: compact.
		var b bytes.Buffer
		if err := json.Compact(&b, input); err == nil {
			input = b.Bytes()
		}
	}
	if !utf8.Valid(input) {
		input = bytes.ToValidUTF8(input, []byte("\uFFFD"))
	}
	r.Input = input
	r.URL = strings.TrimSpace(o.url)
	r.Request = o.request()
	switch {
	case !o.hasURL:
		r.Fail(KindInvalidInput, "JSON object has no string field %q", p.URLField)
	case o.err != "":
		r.Fail(KindInvalidInput, "%s", o.err)
	}
}

// CheckURL reports whether s is a URL sluice can fetch: an http or https
// URL as the WHATWG URL Standard reads it.
func CheckURL(s string) error {
	_, _, _, err := checkURL(s)
	return err
}

// checkURL reads s as a browser does (WebURL) and returns what to request,
// parsed, with its host key, and the URL to report as request_url: the
// standard's serialization when it differs from s other than by the "/"
// of an empty path ("" otherwise). It returns a nil URL with an error.
func checkURL(s string) (*url.URL, string, string, error) {
	if s == "" {
		return nil, "", "", errors.New("empty URL")
	}
	href, err := WebURL(s)
	if err != nil {
		if !strings.Contains(s, ":") {
			return nil, "", "", errors.New("not an absolute URL (want http:// or https://)")
		}
		reason := string(whatwgerrors.Type(err))
		if reason == "" {
			reason = err.Error()
		}
		return nil, "", "", errors.New("not a valid URL: " + reason)
	}
	scheme, _, _ := strings.Cut(href, ":")
	if scheme != "http" && scheme != "https" {
		return nil, "", "", errors.New("unsupported scheme " + QuoteShort(scheme) + " (want http or https)")
	}
	u, err := url.Parse(href)
	if err != nil || u.Host == "" {
		return nil, "", "", fmt.Errorf("not a URL Go can request: %s", QuoteShort(href))
	}
	requestURL := href // href has no fragment: what is requested is s without its own
	if bare := fragmentless(s); href == bare || href == withPath(bare) {
		requestURL = ""
	}
	return u, HostKey(u.Scheme, u.Host), requestURL, nil
}

func fragmentless(s string) string {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		return s[:i]
	}
	return s
}

// HostKey is the key that politeness limits apply to: the host in lower
// case, with its port unless that is the scheme's default, so
// https://A.test:443/ and https://a.test/ share one key.
func HostKey(scheme, hostport string) string {
	h := strings.ToLower(hostport)
	switch {
	case scheme == "http" && strings.HasSuffix(h, ":80"):
		return strings.TrimSuffix(h, ":80")
	case scheme == "https" && strings.HasSuffix(h, ":443"):
		return strings.TrimSuffix(h, ":443")
	}
	return h
}

// QuoteShort quotes s for a message, cut to 64 bytes and made valid UTF-8.
func QuoteShort(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "..."
	}
	return `"` + strings.ToValidUTF8(s, "\uFFFD") + `"`
}
