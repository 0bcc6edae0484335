package extract

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"sluice/record"
)

func TestParseJQ(t *testing.T) {
	for _, tc := range []struct{ spec, name string }{
		{".a.b", ""}, {"a=.a", "a"}, {"first_name=.name", "first_name"}, {".a==1", ""}, {"n=.a == 1", "n"},
	} {
		q, err := ParseJQ(tc.spec)
		if err != nil || q.Name != tc.name {
			t.Errorf("ParseJQ(%q) = name %q, %v; want name %q", tc.spec, q.Name, err, tc.name)
		}
	}
	for _, bad := range []string{"", "a=", ".[", "a=.a |", "nosuchfunc(1)"} {
		if _, err := ParseJQ(bad); err == nil {
			t.Errorf("ParseJQ(%q): no error", bad)
		}
	}
}

// jqPage runs the extract stage with specs on a body of contentType.
func jqPage(t *testing.T, cfg Config, contentType, body string, specs ...string) *record.Page {
	t.Helper()
	for _, s := range specs {
		q, err := ParseJQ(s)
		if err != nil {
			t.Fatal(err)
		}
		cfg.JQ = append(cfg.JQ, q)
	}
	r := &record.Record{Response: record.Response{Status: 200, ContentType: contentType, Body: []byte(body)}}
	NewExtractor(cfg).Extract(t.Context(), r)
	return r.Page
}

func TestJQ(t *testing.T) {
	const doc = `{"a":{"b":[1,{"c":"x"},[2,3]]},"id":12345678901234567890123,"f":1.5e300,"s":"é<&>"}`
	tests := []struct {
		expr, want string
	}{
		{".a.b", `[1,{"c":"x"},[2,3]]`},
		{".a.b[2][1]", `3`},
		{".a.b[] | numbers", `1`},
		{".a.b[]", `[1,{"c":"x"},[2,3]]`}, // several outputs: an array
		{"empty", `null`},
		{".id", `12345678901234567890123`}, // big integers stay exact
		{".f", `1.5e300`},
		{".s", `"é<&>"`},
		{"[.a.b[1].c, (.a.b[2] | add)]", `["x",5]`},
		{".missing", `null`},
	}
	for _, tc := range tests {
		p := jqPage(t, Config{}, "application/json; charset=utf-8", doc, tc.expr)
		if p == nil || string(p.JSON) != tc.want || p.Error != "" {
			t.Errorf("--jq %q: page %+v; want json %s", tc.expr, p, tc.want)
			continue
		}
	}
}

func TestJQFieldsAndErrors(t *testing.T) {
	p := jqPage(t, Config{}, "application/problem+json", `{"a":1}`+"\n"+`{"a":2}`, "a=.a", "bad=.a.x", ".a")
	if p == nil || len(p.Fields) != 1 || p.Fields[0].Name != "a" || string(p.Fields[0].JSON) != "[1,2]" || string(p.JSON) != "[1,2]" {
		t.Fatalf("NDJSON body: page %+v; want fields.a and json [1,2]", p)
	}
	if !strings.Contains(p.Error, "jq bad: ") || !strings.Contains(p.Error, "expected an object but got: number") {
		t.Errorf("runtime error %q; want it named after bad", p.Error)
	}
	if p := jqPage(t, Config{}, "text/html", `{"a":1}`, ".a"); p != nil {
		t.Errorf("an HTML body without --jq-any: page %+v; want no page", p)
	}
	if p := jqPage(t, Config{JQAny: true}, "text/html", `{"a":1}`, ".a"); p == nil || string(p.JSON) != "1" {
		t.Errorf("--jq-any on a JSON body typed HTML: page %+v; want json 1", p)
	}
	for _, body := range []string{"<html>", `{"a":`, `{"a":1} x`} {
		p := jqPage(t, Config{}, "application/json", body, ".a")
		if p == nil || p.JSON != nil || !strings.HasPrefix(p.Error, "jq: the body is not JSON") {
			t.Errorf("body %q: page %+v; want extract_error and no json", body, p)
		}
	}
}

// TestJQBounded: an expression that never ends, or yields too much, stops
// with an error on its record.
func TestJQBounded(t *testing.T) {
	p := jqPage(t, Config{JQTimeout: 20 * time.Millisecond}, "application/json", `{}`, "def f: f; f")
	if p == nil || !strings.Contains(p.Error, "stopped after 20ms") {
		t.Errorf("endless expression: page %+v; want stopped after 20ms", p)
	}
	p = jqPage(t, Config{JQResultMax: 1000}, "application/json", `{}`, "range(100000)")
	if p == nil || p.JSON != nil || !strings.Contains(p.Error, "over the limit of 1000") {
		t.Errorf("large result: page %+v; want an error and no json", p)
	}
}

// jsonDoc is a JSON object of about n bytes: {"a":{"b":...},"items":[...]}.
func jsonDoc(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"a":{"b":"found"},"items":[`)
	for i := 0; b.Len() < n-64; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"item %d","price":%d.25,"tags":["x","y"],"ok":true}`, i, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkJQ: --jq on a 10 KB JSON body, decode included, on one
// goroutine: '.a.b', a plain path, takes the fast way; '.a.b | ascii' the
// general one (the body decoded whole for gojq). The issue asks for 20,000
// bodies/s on one core for '.a.b'.
func BenchmarkJQ(b *testing.B) {
	body := jsonDoc(10 << 10)
	for _, bc := range []struct{ name, expr, want string }{
		{"path", ".a.b", `"found"`},
		{"general", ".a.b | ascii_upcase", `"FOUND"`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			q, err := ParseJQ(bc.expr)
			if err != nil {
				b.Fatal(err)
			}
			e := NewExtractor(Config{JQ: []JQ{q}})
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				r := &record.Record{Response: record.Response{Status: 200, ContentType: "application/json", Body: body}}
				e.Extract(b.Context(), r)
				if r.Page == nil || string(r.Page.JSON) != bc.want {
					b.Fatalf("page %+v", r.Page)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bodies/s")
		})
	}
}

// FuzzJQPath: the fast way for a plain path (record.DecodeJSONPath) gives
// what gojq gives on the body decoded whole, or an error where it does.
func FuzzJQPath(f *testing.F) {
	for _, seed := range []struct{ body, expr string }{
		{`{"a":{"b":[1,{"c":"x"}]}}`, ".a.b[1].c"},
		{`{"a":1,"a":2}`, ".a"},
		{`{"a\u0062":3}`, ".ab"},
		{"{\"a\":1}\n{\"a\":[2]}\n7", ".a"},
		{`[0,1,2]`, ".[2]"},
		{`[0,1,2]`, ".[5]"},
		{`{"a":null}`, ".a.b.c"},
		{`{"a":"s"}`, ".a.b"},
		{`{"a":[1]}`, ".a.b"},
		{`{"a":01}`, ".a"},
		{`{"a":1,}`, ".a"},
		{`{"x":{"y":1.50e2}}`, `.["x"]."y"`},
		{`"str"`, "."},
		{``, ".a"},
	} {
		f.Add(seed.body, seed.expr)
	}
	f.Fuzz(func(t *testing.T, body, expr string) {
		q, err := ParseJQ(expr)
		if err != nil || !q.isPath {
			return
		}
		var fast []any
		fastErr := record.DecodeJSONPath([]byte(body), q.path, func(v any) error { fast = append(fast, v); return nil })
		var inputs []any
		decodeErr := record.DecodeJSON([]byte(body), func(v any) error { inputs = append(inputs, v); return nil })
		e := NewExtractor(Config{})
		switch {
		case fastErr == nil:
			full, err := e.evalJQ(q, inputs)
			if decodeErr != nil || err != nil || string(full) != string(encodeJQ(fast)) {
				t.Fatalf("%s on %q: fast %s; in full %s, %v, %v", expr, body, encodeJQ(fast), full, decodeErr, err)
			}
		case errors.Is(fastErr, record.ErrNotPath):
			if decodeErr == nil {
				if full, err := e.evalJQ(q, inputs); err == nil {
					t.Fatalf("%s on %q: the fast way found no path; in full %s", expr, body, full)
				}
			}
		default:
			if decodeErr == nil {
				t.Fatalf("%s on %q: fast error %v; decoded whole without one", expr, body, fastErr)
			}
		}
	})
}
