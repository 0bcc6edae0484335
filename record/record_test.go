package record

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		field     string
		wantURL   string
		wantKind  Kind // "" for no error
		wantInput bool
	}{
		{"http", "http://example.com/a?b=c", "url", "http://example.com/a?b=c", "", false},
		{"https upper scheme", "HTTPS://Example.com", "url", "HTTPS://Example.com", "", false},
		{"not a url", "not a url", "url", "not a url", KindInvalidInput, false},
		{"bare host", "example.com", "url", "example.com", KindInvalidInput, false},
		{"ftp", "ftp://example.com/f", "url", "ftp://example.com/f", KindInvalidInput, false},
		{"mailto", "mailto:a@b.c", "url", "mailto:a@b.c", KindInvalidInput, false},
		{"three slashes", "http:///path", "url", "http:///path", "", false},
		{"bad host", "http://exa mple.com/", "url", "http://exa mple.com/", KindInvalidInput, false},
		{"invalid utf8", "http://example.com/\xff", "url", "http://example.com/\xff", KindInvalidInput, false},
		{"object", `{"url":"http://a.test/x","id":1}`, "url", "http://a.test/x", "", true},
		{"object other field", `{"link":"http://a.test/","url":5}`, "link", "http://a.test/", "", true},
		{"object field padded", `{"url":"  http://a.test/  "}`, "url", "http://a.test/", "", true},
		{"object escaped url", `{"url":"http:\/\/a.test\/\u00e9"}`, "url", "http://a.test/é", "", true},
		{"object with line breaks", "{\"url\":\r\n \"http://a.test/\"}", "url", "http://a.test/", "", true},
		{"object no field", `{"href":"http://a.test/"}`, "url", "", KindInvalidInput, true},
		{"object number field", `{"url":5}`, "url", "", KindInvalidInput, true},
		{"object bad url", `{"url":"nope"}`, "url", "nope", KindInvalidInput, true},
		{"invalid json", `{"url":`, "url", "", KindInvalidInput, false},
		{"trailing junk", `{"url":"http://a.test/"} junk`, "url", "", KindInvalidInput, false},
		{"two objects", `{"url":"http://a.test/"}{"url":"http://b.test/"}`, "url", "", KindInvalidInput, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Parse(7, []byte(tc.line), tc.field)
			if r.Seq != 7 {
				t.Errorf("Parse(%q).Seq = %d; want 7", tc.line, r.Seq)
			}
			if r.URL != tc.wantURL {
				t.Errorf("Parse(%q).URL = %q; want %q", tc.line, r.URL, tc.wantURL)
			}
			var kind Kind
			if r.Err != nil {
				kind = r.Err.Kind
			}
			if kind != tc.wantKind {
				t.Errorf("Parse(%q) error = %v; want kind %q", tc.line, r.Err, tc.wantKind)
			}
			if (r.Input != nil) != tc.wantInput {
				t.Errorf("Parse(%q).Input = %q; want present=%v", tc.line, r.Input, tc.wantInput)
			}
			if want := tc.line; tc.wantInput && !strings.ContainsAny(want, "\r\n") && string(r.Input) != want {
				t.Errorf("Parse(%q).Input = %q; want the line verbatim", tc.line, r.Input)
			}
			if bytes.ContainsAny(r.Input, "\r\n") {
				t.Errorf("Parse(%q).Input = %q; want no line breaks", tc.line, r.Input)
			}
		})
	}
}

func TestParseDoesNotKeepLine(t *testing.T) {
	line := []byte(`{"url":"http://a.test/"}`)
	r := Parse(1, line, "url")
	copy(line, strings.Repeat("x", len(line)))
	if string(r.Input) != `{"url":"http://a.test/"}` || r.URL != "http://a.test/" {
		t.Fatalf("record changed with the caller's buffer: Input=%q URL=%q", r.Input, r.URL)
	}
}

func TestAppendLine(t *testing.T) {
	full := &Record{
		Seq: 3, URL: "http://a.test/",
		Elapsed: 1500 * time.Microsecond, Attempts: 1, Input: []byte(`{"url":"http://a.test/","n":1}`), Response: Response{FinalURL: "http://a.test/b", Status: 200, Proto: "HTTP/1.1", ContentType: "text/html", ContentLength: 12, Truncated: true},
	}
	failed := &Record{Seq: 4, URL: "bad\xffurl", Input: []byte("{\"url\":\"bad\xffurl\"}")}
	failed.Fail(KindInvalidInput, "line is not valid UTF-8: %q", "\xff")
	failed.Fail(KindTimeout, "a second error does not replace the first")

	tests := []struct {
		name string
		r    *Record
		want string
	}{
		{"full", full, `{"seq":3,"url":"http://a.test/","final_url":"http://a.test/b","status":200,"proto":"HTTP/1.1",` +
			`"content_type":"text/html","content_length":12,"truncated":true,"elapsed_ms":1.5,"attempts":1,` +
			`"input":{"url":"http://a.test/","n":1}}` + "\n"},
		{"failed", failed, `{"seq":4,"url":"bad` + "\ufffd" + `url","error":{"kind":"invalid_input",` +
			`"message":"line is not valid UTF-8: \"\\xff\""},"input":{"url":"bad` + "\ufffd" + `url"}}` + "\n"},
	}
	enc := NewEncoder()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(enc.AppendLine(tc.r))
			if got != tc.want {
				t.Errorf("AppendLine() =\n%s\nwant\n%s", got, tc.want)
			}
			if !json.Valid([]byte(got)) || !utf8.ValidString(got) {
				t.Errorf("AppendLine() = %q: not valid UTF-8 JSON", got)
			}
		})
	}
}

// TestAppendLineStrings: every string the encoder writes decodes back to
// itself, whatever bytes it holds: each ASCII byte alone and amid text,
// multi-byte UTF-8, and names from the input as object keys.
func TestAppendLineStrings(t *testing.T) {
	var cases []string
	for c := range 128 {
		cases = append(cases, string(rune(c)), "a"+string(rune(c))+"b"+string(rune(c)))
	}
	cases = append(cases, "", "héllo wörld ☃ 𝄞", "\u2028\u2029", `"quoted" \back\slash\`, "tab\there\r\n\x00end")
	enc := NewEncoder()
	for _, v := range cases {
		title := v
		r := &Record{Seq: 1, URL: v, Response: Response{FinalURL: v, Status: 200, Proto: v, ContentType: v, Page: &Page{Title: &title, Meta: map[string]string{v: v}, Fields: []Field{{Name: v, One: &title}}}}}
		r.Fail(KindHTTP, "%s", v)
		line := enc.AppendLine(r)
		var got struct {
			URL, FinalURL, Proto, ContentType, Title string
			Error                                    struct{ Message string }
			Meta, Fields                             map[string]string
		}
		dec := json.NewDecoder(strings.NewReader(strings.NewReplacer(`"final_url"`, `"finalurl"`, `"content_type"`, `"contenttype"`).Replace(string(line))))
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("%q: line %q does not decode: %v", v, line, err)
		}
		for name, s := range map[string]string{"url": got.URL, "final_url": got.FinalURL, "proto": got.Proto,
			"content_type": got.ContentType, "title": got.Title, "message": got.Error.Message, "meta": got.Meta[v], "fields": got.Fields[v]} {
			if s != v {
				t.Errorf("%q: %s decodes to %q (line %q)", v, name, s, line)
			}
		}
	}
}

// FuzzParse: any line gives a record that encodes to one valid UTF-8 JSON
// line, and a line CheckURL accepts keeps its URL exactly.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"http://example.com/", "https://a.test/x?y=1#z", "not a url", `{"url":"http://a.test/"}`,
		`{"url":5}`, `{"url":"http://a.test/\u0000"}`, "{\"url\":\"\xff\"}", `{`, "\xff\xfe", "http://[::1]:8080/",
		`{"url":"http://a.test/","method":"POST","headers":{"Authorization":"x","A":["1"]},"json":{"a":1},"timeout":"2s"}`,
		`{"url":"http://a.test/","body_base64":"AP8=","headers":{"Cookie":[1]}}`,
	} {
		f.Add([]byte(s))
	}
	enc := NewEncoder()
	f.Fuzz(func(t *testing.T, line []byte) {
		r := Parse(1, line, "url")
		out := enc.AppendLine(r)
		if !utf8.Valid(out) {
			t.Fatalf("AppendLine(Parse(%q)) = %q: invalid UTF-8", line, out)
		}
		if n := strings.Count(string(out), "\n"); n != 1 || out[len(out)-1] != '\n' {
			t.Fatalf("AppendLine(Parse(%q)) = %q: want exactly one trailing newline", line, out)
		}
		// Numbers as written: an input echoed under "input" may hold a number
		// past float64's range, which is valid JSON (RFC 8259 sets no range).
		var got map[string]any
		d := json.NewDecoder(bytes.NewReader(out))
		d.UseNumber()
		if err := d.Decode(&got); err != nil {
			t.Fatalf("AppendLine(Parse(%q)) = %q: %v", line, out, err)
		}
		if r.Err == nil && (len(line) == 0 || line[0] != '{') && r.URL != string(line) {
			t.Fatalf("Parse(%q).URL = %q; want the line", line, r.URL)
		}
		if r.Err == nil && CheckURL(r.URL) != nil {
			t.Fatalf("Parse(%q) accepted URL %q that CheckURL rejects", line, r.URL)
		}
		if len(line) > 0 && line[0] == '{' {
			refused := r.Err != nil && strings.HasPrefix(r.Err.Message, "line is not a valid JSON object")
			if refused == json.Valid(line) {
				t.Fatalf("Parse(%q): refused as JSON %v (%v), encoding/json.Valid %v", line, refused, r.Err, json.Valid(line))
			}
			if !refused && !json.Valid(r.Input) {
				t.Fatalf("Parse(%q).Input = %q: not JSON", line, r.Input)
			}
		}
	})
}

// An encoder with fields to drop writes the others, in their order, and seq.
func TestAppendLineDrop(t *testing.T) {
	title := "T"
	r := &Record{Seq: 3, URL: "http://a.test/", Attempts: 1, Input: []byte(`{"url":"http://a.test/"}`), Response: Response{FinalURL: "http://a.test/", Status: 200, Proto: "HTTP/1.1", Page: &Page{Title: &title, JSON: []byte(`{"a":1}`)}}}
	for _, tc := range []struct {
		drop []string
		want string
	}{
		{nil, `{"seq":3,"url":"http://a.test/","final_url":"http://a.test/","status":200,"proto":"HTTP/1.1","content_type":"","content_length":0,"elapsed_ms":0,"attempts":1,"title":"T","json":{"a":1},"input":{"url":"http://a.test/"}}`},
		{[]string{"final_url", "proto", "content_type", "content_length", "elapsed_ms", "input"}, `{"seq":3,"url":"http://a.test/","status":200,"attempts":1,"title":"T","json":{"a":1}}`},
		{slices.DeleteFunc(slices.Clone(Fields[1:]), func(f string) bool { return f == "json" }), `{"seq":3,"json":{"a":1}}`},
	} {
		if got := strings.TrimSuffix(string(NewEncoder(tc.drop...).AppendLine(r)), "\n"); got != tc.want {
			t.Errorf("drop %v:\n got %s\nwant %s", tc.drop, got, tc.want)
		}
	}
}
