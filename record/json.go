package record

import (
	"bytes"
	"strings"
	"unicode/utf8"

	jsoniter "github.com/json-iterator/go"
)

// codec writes strings without HTML escaping: the output is data for jq and
// log processors, not for a web page.
var codec = jsoniter.Config{EscapeHTML: false}.Froze()

// Encoder turns records into NDJSON lines. It reuses one buffer, so it is not
// safe for concurrent use; the sink owns one.
type Encoder struct {
	s *jsoniter.Stream
}

// NewEncoder returns an Encoder with an empty buffer.
func NewEncoder() *Encoder {
	return &Encoder{s: codec.BorrowStream(nil)}
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
	field(s, "url")
	writeString(s, r.URL)
	if r.Status != 0 {
		field(s, "final_url")
		writeString(s, r.FinalURL)
		field(s, "status")
		s.WriteInt(r.Status)
		field(s, "proto")
		writeString(s, r.Proto)
		field(s, "content_type")
		writeString(s, r.ContentType)
		field(s, "content_length")
		s.WriteInt64(r.ContentLength)
		if r.Truncated {
			field(s, "truncated")
			s.WriteTrue()
		}
	}
	if r.Attempts > 0 {
		field(s, "elapsed_ms")
		s.WriteFloat64(float64(r.Elapsed.Microseconds()) / 1000)
		field(s, "attempts")
		s.WriteInt(r.Attempts)
	}
	if r.Err != nil {
		field(s, "error")
		s.WriteObjectStart()
		s.WriteObjectField("kind")
		writeString(s, string(r.Err.Kind))
		field(s, "message")
		writeString(s, r.Err.Message)
		s.WriteObjectEnd()
	}
	if r.Input != nil {
		field(s, "input")
		writeRawObject(s, r.Input)
	}
	s.WriteObjectEnd()
	s.WriteRaw("\n")
	return s.Buffer()
}

// field starts the next member of an object that already has one.
func field(s *jsoniter.Stream, name string) {
	s.WriteMore()
	s.WriteObjectField(name)
}

func writeString(s *jsoniter.Stream, v string) {
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
	}
	s.WriteString(v)
}

// writeRawObject writes a JSON object that Parse has validated. Parse also
// made it valid UTF-8; the check here keeps records built elsewhere honest.
func writeRawObject(s *jsoniter.Stream, raw []byte) {
	if !utf8.Valid(raw) {
		raw = bytes.ToValidUTF8(raw, []byte("\uFFFD"))
	}
	s.SetBuffer(append(s.Buffer(), raw...))
}
