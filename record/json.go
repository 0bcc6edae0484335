package record

import (
	"bytes"
	"encoding/base64"
	"errors"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	jsoniter "github.com/json-iterator/go"
)

// codec writes strings without HTML escaping: the output is data for jq and
// log processors, not for a web page.
var codec = jsoniter.Config{EscapeHTML: false}.Froze()

// Fields are the output record's top-level fields, in the order they are
// written; a record has those that apply to it. record/schema.json
// describes each, and docs/output.md's field table lists them (tests check
// both).
var Fields = []string{
	"seq", "depth", "parent", "url", "request_url", "final_url", "status", "proto", "content_type", "content_length", "truncated", "location",
	"elapsed_ms", "attempts", "cache", "warc", "render", "timings", "remote_addr", "local_addr", "tls", "redirects", "error", "charset", "extract_error", "title", "links", "meta", "text", "jsonld",
	"headers", "hash", "fields", "json", "body", "body_base64", "input",
}

// Encoder turns records into NDJSON lines. It reuses one buffer, so it is not
// safe for concurrent use; the sink owns one.
type Encoder struct {
	s    *jsoniter.Stream
	drop map[string]bool // fields not written (--fields, --omit); nil for none
}

// NewEncoder returns an Encoder with an empty buffer that writes every
// field but those in drop, which must be names from Fields other than seq.
func NewEncoder(drop ...string) *Encoder {
	e := &Encoder{s: codec.BorrowStream(nil)}
	for _, name := range drop {
		if e.drop == nil {
			e.drop = map[string]bool{}
		}
		e.drop[name] = true
	}
	return e
}

// field starts the next member of the object, which already has one, and
// reports true; for a dropped field it writes nothing and reports false.
// name is one of Fields, which need no escaping.
func (e *Encoder) field(name string) bool {
	if e.drop != nil && e.drop[name] {
		return false
	}
	field(e.s, name)
	return true
}

// AppendLine encodes r as one JSON object followed by '\n'. The returned
// slice is valid until the next call. Every string is made valid UTF-8 on the
// way out (invalid bytes become U+FFFD), so the line is always valid JSON
// whatever the input or the page contained.
func (e *Encoder) AppendLine(r *Record) []byte {
	s := e.s
	s.SetBuffer(s.Buffer()[:0])
	s.WriteObjectStart()
	s.WriteObjectField("seq")
	s.WriteInt64(r.Seq)
	if t := r.Task; t.Crawled() {
		if e.field("depth") {
			s.WriteInt(t.Depth)
		}
		if t.Parent > 0 && e.field("parent") {
			s.WriteInt64(t.Parent)
		}
	}
	if e.field("url") {
		writeString(s, r.URL)
	}
	if r.RequestURL != "" && e.field("request_url") {
		writeString(s, r.RequestURL)
	}
	if r.Status != 0 {
		e.response(r)
	}
	if r.Attempts > 0 {
		if e.field("elapsed_ms") {
			s.WriteFloat64(float64(r.Elapsed.Microseconds()) / 1000)
		}
		if e.field("attempts") {
			s.WriteInt(r.Attempts)
		}
	}
	if r.Cache != "" && e.field("cache") {
		writeString(s, r.Cache)
	}
	if w := r.WARC; w != nil && e.field("warc") {
		s.WriteObjectStart()
		s.WriteObjectField("file")
		writeString(s, w.File)
		field(s, "offset")
		s.WriteInt64(w.Offset)
		field(s, "length")
		s.WriteInt64(w.Length)
		s.WriteObjectEnd()
	}
	if rd := r.Render; rd != nil && e.field("render") {
		s.WriteObjectStart()
		s.WriteObjectField("requests")
		s.WriteInt64(rd.Requests)
		field(s, "blocked")
		s.WriteInt64(rd.Blocked)
		field(s, "ms")
		ms(s, rd.Elapsed)
		if rd.TimedOut {
			field(s, "timed_out")
			s.WriteTrue()
		}
		if rd.Screenshot != "" {
			field(s, "screenshot")
			writeString(s, rd.Screenshot)
		}
		s.WriteObjectEnd()
	}
	e.trace(r)
	if r.Err != nil && e.field("error") {
		s.WriteObjectStart()
		s.WriteObjectField("kind")
		writeString(s, string(r.Err.Kind))
		field(s, "message")
		writeString(s, r.Err.Message)
		s.WriteObjectEnd()
	}
	if r.Page != nil {
		e.page(r.Page)
	}
	if r.Body != nil {
		if utf8.Valid(r.Body) && bytes.IndexByte(r.Body, 0) < 0 {
			if e.field("body") {
				s.SetBuffer(appendQuoted(s.Buffer(), string(r.Body)))
			}
		} else if e.field("body_base64") {
			s.SetBuffer(appendQuoted(s.Buffer(), base64.StdEncoding.EncodeToString(r.Body)))
		}
	}
	if r.Input != nil && e.field("input") {
		writeRawJSON(s, r.Input)
	}
	s.WriteObjectEnd()
	s.WriteRaw("\n")
	return s.Buffer()
}

func (e *Encoder) response(r *Record) {
	s := e.s
	if e.field("final_url") {
		writeString(s, r.FinalURL)
	}
	if e.field("status") {
		s.WriteInt(r.Status)
	}
	if e.field("proto") {
		writeString(s, r.Proto)
	}
	if e.field("content_type") {
		writeString(s, r.ContentType)
	}
	if e.field("content_length") {
		s.WriteInt64(r.ContentLength)
	}
	if r.Truncated && e.field("truncated") {
		s.WriteTrue()
	}
	if r.Location != "" && e.field("location") {
		writeString(s, r.Location)
	}
}

func (e *Encoder) page(p *Page) {
	s := e.s
	if p.Charset != "" && e.field("charset") {
		writeString(s, p.Charset)
	}
	if p.Error != "" && e.field("extract_error") {
		writeString(s, p.Error)
	}
	if p.Title != nil && e.field("title") {
		writeString(s, *p.Title)
	}
	if p.HasLinks && e.field("links") {
		writeStrings(s, p.Links)
	}
	if p.Meta != nil && e.field("meta") {
		writeStringMap(s, p.Meta)
	}
	if p.Text != nil && e.field("text") {
		writeString(s, *p.Text)
	}
	if p.JSONLD != nil && e.field("jsonld") {
		writeRawJSON(s, p.JSONLD)
	}
	if p.Headers != nil && e.field("headers") {
		joined := make(map[string]string, len(p.Headers))
		for k, vs := range p.Headers {
			joined[strings.ToLower(k)] = strings.Join(vs, ", ")
		}
		writeStringMap(s, joined)
	}
	if len(p.Hashes) > 0 && e.field("hash") {
		writeObject(s, len(p.Hashes), func(i int) {
			h := p.Hashes[i]
			key(s, h.Name)
			if h.Int != nil {
				s.WriteInt64(*h.Int)
			} else {
				writeString(s, h.Hex)
			}
		})
	}
	if len(p.Fields) > 0 && e.field("fields") {
		writeObject(s, len(p.Fields), func(i int) {
			f := p.Fields[i]
			key(s, f.Name)
			switch {
			case f.JSON != nil:
				writeRawJSON(s, f.JSON)
			case f.All:
				writeStrings(s, f.Items)
			case f.One == nil:
				s.WriteNil()
			default:
				writeString(s, *f.One)
			}
		})
	}
	if p.JSON != nil && e.field("json") {
		writeRawJSON(s, p.JSON)
	}
}

// writeObject writes an object of n members; member writes the i-th, key
// and value.
func writeObject(s *jsoniter.Stream, n int, member func(i int)) {
	s.WriteObjectStart()
	for i := range n {
		if i > 0 {
			s.WriteMore()
		}
		member(i)
	}
	s.WriteObjectEnd()
}

// writeStringMap writes m as an object, keys sorted.
func writeStringMap(s *jsoniter.Stream, m map[string]string) {
	s.WriteObjectStart()
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			s.WriteMore()
		}
		key(s, k)
		writeString(s, m[k])
	}
	s.WriteObjectEnd()
}

func writeStrings(s *jsoniter.Stream, vs []string) {
	s.WriteArrayStart()
	for i, v := range vs {
		if i > 0 {
			s.WriteMore()
		}
		writeString(s, v)
	}
	s.WriteArrayEnd()
}

func validUTF8(v string) string {
	if !utf8.ValidString(v) {
		return strings.ToValidUTF8(v, "\uFFFD")
	}
	return v
}

// field starts the next member of an object that already has one. name is
// one of the encoder's own names, which need no escaping.
func field(s *jsoniter.Stream, name string) {
	s.WriteRaw(`,"`)
	s.WriteRaw(name)
	s.WriteRaw(`":`)
}

// key writes an object member's name that comes from the input or a page.
func key(s *jsoniter.Stream, name string) {
	writeString(s, name)
	s.WriteRaw(":")
}

func writeString(s *jsoniter.Stream, v string) {
	s.SetBuffer(appendQuoted(s.Buffer(), validUTF8(v)))
}

// appendQuoted appends v, which is valid UTF-8, as a JSON string. It escapes
// what JSON requires (quote, backslash, control characters) and copies the
// runs between in one go (jsoniter's WriteString appends byte by byte).
func appendQuoted(b []byte, v string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, v[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, v[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// writeRawJSON writes a JSON value that Parse, or a --jq, has validated
// and made valid UTF-8; the check here keeps records built elsewhere honest.
func writeRawJSON(s *jsoniter.Stream, raw []byte) {
	if !utf8.Valid(raw) {
		raw = bytes.ToValidUTF8(raw, []byte("\uFFFD"))
	}
	s.SetBuffer(append(s.Buffer(), raw...))
}

// numbers decodes JSON numbers as json.Number, which keeps big integers
// exact (gojq reads them so).
var numbers = jsoniter.Config{UseNumber: true}.Froze()

// jsonError shortens a jsoniter error to its cause and place.
func jsonError(err error) error {
	msg, _, _ := strings.Cut(err.Error(), ", bigger context")
	return errors.New(msg)
}

// DecodeJSON calls each with every JSON value in data, in order: one for a
// JSON document, several for NDJSON or concatenated values. Objects become
// map[string]any, arrays []any, numbers json.Number. It returns the first
// syntax error (before any call: data is checked whole first); data with no
// value but white space calls each no time.
func DecodeJSON(data []byte, each func(v any) error) error {
	s := scanner{b: data}
	var texts [][]byte
	for s.space(); s.i < len(s.b); s.space() {
		start := s.i
		if err := s.value(0); err != nil {
			return err
		}
		texts = append(texts, s.b[start:s.i])
	}
	for _, text := range texts {
		v, err := decodeOne(text)
		if err != nil {
			return err
		}
		if err := each(v); err != nil {
			return err
		}
	}
	return nil
}
