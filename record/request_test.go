package record

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name string
		line string
		want *Request
	}{
		{"url only", `{"url":"http://a.test/"}`, nil},
		{"nulls are absent", `{"url":"http://a.test/","method":null,"headers":null,"json":null,"timeout":null}`, nil},
		{"method", `{"url":"http://a.test/","method":"PATCH"}`, &Request{Method: "PATCH"}},
		{"headers", `{"url":"http://a.test/","headers":{"x-a":"1","X-B":["2","3"]}}`,
			&Request{Header: http.Header{"X-A": {"1"}, "X-B": {"2", "3"}}}},
		{"body", `{"url":"http://a.test/","body":"a=1\n"}`, &Request{Body: []byte("a=1\n")}},
		{"json", `{"url":"http://a.test/","json":{"a":[1, 2.50]}}`, &Request{Body: []byte(`{"a":[1, 2.50]}`), JSON: true}},
		{"json false", `{"url":"http://a.test/","json":false}`, &Request{Body: []byte(`false`), JSON: true}},
		{"body_base64", `{"url":"http://a.test/","body_base64":"AP8="}`, &Request{Body: []byte{0, 0xff}}},
		{"empty body", `{"url":"http://a.test/","body":""}`, &Request{Body: []byte{}}},
		{"timeout", `{"url":"http://a.test/","timeout":"1.5s"}`, &Request{Timeout: 1500 * time.Millisecond}},
	}
	for _, tc := range tests {
		r := Parse(1, []byte(tc.line), "url")
		if r.Err != nil {
			t.Errorf("%s: Parse(%s) error %v", tc.name, tc.line, r.Err)
			continue
		}
		if !reflect.DeepEqual(r.Request, tc.want) {
			t.Errorf("%s: Parse(%s).Request = %+v; want %+v", tc.name, tc.line, r.Request, tc.want)
		}
	}
}

// TestParseRequestInvalid: each bad request field is one invalid_input
// record whose message names the field and quotes no header value.
func TestParseRequestInvalid(t *testing.T) {
	tests := []struct{ line, field string }{
		{`{"url":"http://a.test/","method":"GET /x"}`, `"method"`},
		{`{"url":"http://a.test/","method":7}`, `"method"`},
		{`{"url":"http://a.test/","method":""}`, `"method"`},
		{`{"url":"http://a.test/","headers":["X-A: secret1"]}`, `"headers"`},
		{`{"url":"http://a.test/","headers":{"X-A":5}}`, `"headers"`},
		{`{"url":"http://a.test/","headers":{"X-A":["ok",{"v":"secret1"}]}}`, `"headers"`},
		{`{"url":"http://a.test/","headers":{"Bad Name":"secret1"}}`, `"headers"`},
		{`{"url":"http://a.test/","headers":{"X-A":"secret1\r\nX-B: 2"}}`, `"headers"`},
		{`{"url":"http://a.test/","body":"a","json":{}}`, `"body" and "json"`},
		{`{"url":"http://a.test/","json":{},"body_base64":"AA=="}`, `"json" and "body_base64"`},
		{`{"url":"http://a.test/","body":5}`, `"body"`},
		{`{"url":"http://a.test/","body_base64":"not base64!"}`, `"body_base64"`},
		{`{"url":"http://a.test/","timeout":"soon"}`, `"timeout"`},
		{`{"url":"http://a.test/","timeout":"-1s"}`, `"timeout"`},
		{`{"url":"http://a.test/","timeout":2}`, `"timeout"`},
	}
	for _, tc := range tests {
		r := Parse(1, []byte(tc.line), "url")
		if r.Err == nil || r.Err.Kind != KindInvalidInput {
			t.Errorf("Parse(%s) error = %v; want invalid_input", tc.line, r.Err)
			continue
		}
		if !strings.Contains(r.Err.Message, tc.field) {
			t.Errorf("Parse(%s) message %q does not name %s", tc.line, r.Err.Message, tc.field)
		}
		if strings.Contains(r.Err.Message, "secret1") {
			t.Errorf("Parse(%s) message %q quotes a header value", tc.line, r.Err.Message)
		}
		if r.URL != "http://a.test/" || r.Input == nil {
			t.Errorf("Parse(%s): URL %q, input %q; want both kept for the output", tc.line, r.URL, r.Input)
		}
	}
}

func TestParseRedacts(t *testing.T) {
	p := Parser{URLField: "url", Redact: []string{"x-api-key"}}
	line := `{"id":1,"headers":{"authorization":"Bearer s1","X-Api-Key":["s2","s3"],"Accept":"text/html","Cookie":5},"url":"http://a.test/"}`
	r := p.Parse(1, []byte(line))
	want := `{"id":1,"headers":{"authorization":"[redacted]","X-Api-Key":"[redacted]","Accept":"text/html","Cookie":"[redacted]"},"url":"http://a.test/"}`
	if string(r.Input) != want {
		t.Errorf("Input = %s\nwant    %s", r.Input, want)
	}
	if got := r.Request.Header.Get("Authorization"); r.Err == nil || got != "Bearer s1" {
		t.Errorf("the request lost the secret it is to send (%q), or the bad Cookie was taken (%v)", got, r.Err)
	}
	if r := p.Parse(2, []byte(`{"url":"http://a.test/","headers":{"Accept":"*/*"}}`)); string(r.Input) != `{"url":"http://a.test/","headers":{"Accept":"*/*"}}` {
		t.Errorf("an object without secrets changed: %s", r.Input)
	}
}

func TestRequestKey(t *testing.T) {
	key := func(line string) string {
		r := Parse(1, []byte(line), "url")
		return r.Request.Key(r.URL)
	}
	same := []string{`{"url":"http://a.test/"}`, `{"url":"http://a.test/","id":2}`, `{"url":"http://a.test/","method":null}`}
	for _, l := range same[1:] {
		if key(l) != key(same[0]) {
			t.Errorf("%s and %s: different keys; want the same request", l, same[0])
		}
	}
	if key(same[0]) != "http://a.test/" {
		t.Errorf("a record without request fields: key %q; want its URL", key(same[0]))
	}
	differ := []string{
		`{"url":"http://a.test/","method":"POST"}`,
		`{"url":"http://a.test/","method":"POST","body":"a"}`,
		`{"url":"http://a.test/","method":"POST","body":"b"}`,
		`{"url":"http://a.test/","method":"POST","json":"b"}`,
		`{"url":"http://a.test/","headers":{"X":"1"}}`,
		`{"url":"http://a.test/","headers":{"X":"2"}}`,
		`{"url":"http://a.test/","timeout":"2s"}`,
	}
	seen := map[string]string{key(same[0]): same[0]}
	for _, l := range differ {
		if other, dup := seen[key(l)]; dup {
			t.Errorf("%s and %s: the same key; want different requests", l, other)
		}
		seen[key(l)] = l
	}
}
