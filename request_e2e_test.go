package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// echoed is what the site's /api/echo says it received.
type echoed struct {
	Method     string              `json:"method"`
	Headers    map[string][]string `json:"headers"`
	Host       string              `json:"host"`
	BodyBase64 string              `json:"body_base64"`
}

func (e echoed) body() string {
	b, _ := base64.StdEncoding.DecodeString(e.BodyBase64)
	return string(b)
}

// echoes runs sluice --body --ordered over stdin and returns, for each
// record, what the echo endpoint received (zero for a record that failed)
// and the record itself.
func echoes(t *testing.T, stdin string, args ...string) ([]echoed, []map[string]any) {
	t.Helper()
	stdout, stderr, code := runSluice(t, stdin, append([]string{"--body", "--ordered"}, args...)...)
	if code != 0 {
		t.Fatalf("sluice %v: exit %d, stderr %q", args, code, stderr)
	}
	parseOutput(t, stdout)
	var got []echoed
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		var e echoed
		if body, ok := rec["body"].(string); ok {
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("echo body %q: %v", body, err)
			}
		}
		got, recs = append(got, e), append(recs, rec)
	}
	return got, recs
}

// TestRequestFields: every request field of an input object reaches the
// server as given, over the flags' defaults.
func TestRequestFields(t *testing.T) {
	echo := newSite(t).URL + "/api/echo"
	lines := []string{
		fmt.Sprintf(`{"url":%q,"method":"PUT","headers":{"X-A":"rec","X-Multi":["a","b"]},"body":"exact \u0000 bytes\n\t\""}`, echo),
		fmt.Sprintf(`{"url":%q,"json":{"a":[1, 2.50],"s":"é"}}`, echo),
		fmt.Sprintf(`{"url":%q,"json":{},"headers":{"content-type":"application/vnd.x+json"}}`, echo),
		fmt.Sprintf(`{"url":%q,"body_base64":"AP8K"}`, echo),
		echo,
		fmt.Sprintf(`{"url":%q,"headers":{"Host":"other.test"}}`, echo),
	}
	got, _ := echoes(t, strings.Join(lines, "\n")+"\n", "-H", "X-A: flag", "-H", "X-Flag: f")
	checks := []struct {
		method, body, contentType string
		xa                        []string
	}{
		{"PUT", "exact \x00 bytes\n\t\"", "", []string{"rec"}},
		{"POST", `{"a":[1, 2.50],"s":"é"}`, "application/json", []string{"flag"}},
		{"POST", `{}`, "application/vnd.x+json", []string{"flag"}},
		{"POST", "\x00\xff\n", "", []string{"flag"}},
		{"GET", "", "", []string{"flag"}},
		{"GET", "", "", []string{"flag"}},
	}
	for i, want := range checks {
		e := got[i]
		if e.Method != want.method || e.body() != want.body || strings.Join(e.Headers["Content-Type"], ",") != want.contentType ||
			strings.Join(e.Headers["X-A"], ",") != strings.Join(want.xa, ",") || strings.Join(e.Headers["X-Flag"], ",") != "f" {
			t.Errorf("record %d: server got %s %q, Content-Type %q, X-A %q, X-Flag %q; want %s %q, %q, %q, \"f\"",
				i+1, e.Method, e.body(), e.Headers["Content-Type"], e.Headers["X-A"], e.Headers["X-Flag"], want.method, want.body, want.contentType, want.xa)
		}
	}
	if m := got[0].Headers["X-Multi"]; strings.Join(m, ",") != "a,b" {
		t.Errorf("X-Multi = %q; want both values", m)
	}
	if got[5].Host != "other.test" {
		t.Errorf("Host = %q; want the record's other.test", got[5].Host)
	}
}

// TestRequestFlagDefaults: -d, --data-binary and --json give every record
// a body, as curl does, and a record's own fields override them.
func TestRequestFlagDefaults(t *testing.T) {
	echo := newSite(t).URL + "/api/echo"
	file := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(file, []byte("x=1\r\ny=2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := echo + "\n" + fmt.Sprintf(`{"url":%q,"method":"PATCH","body":"own"}`, echo) + "\n"
	tests := []struct {
		args                      []string
		method, body, contentType string
		accept                    string
	}{
		{[]string{"-d", "a=1", "-d", "b=2"}, "POST", "a=1&b=2", "application/x-www-form-urlencoded", ""},
		{[]string{"-d", "@" + file}, "POST", "x=1y=2", "application/x-www-form-urlencoded", ""},
		{[]string{"--data-binary", "@" + file}, "POST", "x=1\r\ny=2\n", "application/x-www-form-urlencoded", ""},
		{[]string{"--json", `{"q":1}`}, "POST", `{"q":1}`, "application/json", "application/json"},
		{[]string{"--json", `{"q":1}`, "-H", "Content-Type: text/x-json", "-H", "Accept: */*"}, "POST", `{"q":1}`, "text/x-json", "*/*"},
		{[]string{"-X", "PUT", "-d", "a=1"}, "PUT", "a=1", "application/x-www-form-urlencoded", ""},
	}
	for _, tc := range tests {
		got, _ := echoes(t, in, tc.args...)
		e := got[0]
		if e.Method != tc.method || e.body() != tc.body || strings.Join(e.Headers["Content-Type"], ",") != tc.contentType ||
			strings.Join(e.Headers["Accept"], ",") != tc.accept {
			t.Errorf("%q: server got %s %q, Content-Type %q, Accept %q; want %s %q, %q, %q",
				tc.args, e.Method, e.body(), e.Headers["Content-Type"], e.Headers["Accept"], tc.method, tc.body, tc.contentType, tc.accept)
		}
		if own := got[1]; own.Method != "PATCH" || own.body() != "own" {
			t.Errorf("%q: the record's own method and body came as %s %q; want PATCH \"own\"", tc.args, own.Method, own.body())
		}
	}
	for _, bad := range [][]string{
		{"--json", "{}", "-d", "a"}, {"-d", "@" + filepath.Join(t.TempDir(), "missing")}, {"-d", "@-"}, {"--redact", "Bad Name"},
	} {
		if _, stderr, code := runSluice(t, "", bad...); code != 2 || !strings.Contains(stderr, bad[len(bad)-2]) && !strings.Contains(stderr, bad[0]) {
			t.Errorf("%q: exit %d, %q; want 2 and a message naming the flag", bad, code, stderr)
		}
	}
}

// TestRequestTimeout: a record's timeout replaces --timeout for its attempt.
func TestRequestTimeout(t *testing.T) {
	base := newSite(t).URL
	// The server cannot answer before 400 ms: 150 ms must time out, 30 s not.
	in := fmt.Sprintf("%s/api/slow?ms=400\n{\"url\":\"%s/api/slow?ms=400\",\"timeout\":\"30s\"}\n", base, base)
	recs, _ := runOK(t, in, "--timeout", "150ms", "--retries", "0", "--ordered")
	if recs[0].kind() != "timeout" || recs[1].Status != 200 {
		t.Errorf("plain line: %+v; record with its own timeout: %+v; want a timeout, then 200", recs[0], recs[1])
	}
}

// TestRequestInvalid: each bad request field makes one invalid_input record
// naming it, and the rest of the run goes on.
func TestRequestInvalid(t *testing.T) {
	echo := newSite(t).URL + "/api/echo"
	bad := []struct{ fields, name string }{
		{`"method":"GE T"`, `"method"`},
		{`"headers":["X-A: 1"]`, `"headers"`},
		{`"headers":{"X-A":{"v":1}}`, `"headers"`},
		{`"body":"a","json":1`, `"json"`},
		{`"body_base64":"%%%"`, `"body_base64"`},
		{`"timeout":"later"`, `"timeout"`},
	}
	var in strings.Builder
	for _, b := range bad {
		fmt.Fprintf(&in, "{\"url\":%q,%s}\n", echo, b.fields)
		fmt.Fprintln(&in, echo)
	}
	recs, _ := runOK(t, in.String(), "--ordered")
	if len(recs) != 2*len(bad) {
		t.Fatalf("%d records for %d lines", len(recs), 2*len(bad))
	}
	for i, b := range bad {
		r, next := recs[2*i], recs[2*i+1]
		if r.kind() != "invalid_input" || !strings.Contains(r.Error.Message, b.name) || r.Attempts != 0 {
			t.Errorf("{%s}: %+v; want invalid_input naming %s, not fetched", b.fields, r, b.name)
		}
		if next.Status != 200 {
			t.Errorf("the good line after {%s}: %+v; want 200", b.fields, next)
		}
	}
}

// TestRequestRedaction: the input echo hides secret header values, the
// server still gets them, and -v never writes them.
func TestRequestRedaction(t *testing.T) {
	echo := newSite(t).URL + "/api/echo"
	in := fmt.Sprintf(`{"url":%q,"headers":{"Authorization":"Bearer sekrit1","cookie":"c=sekrit2","X-Api-Key":["sekrit3"],"X-Plain":"shown"}}`, echo) + "\n"
	stdout, stderr, code := runSluice(t, in, "--redact", "x-api-key", "-v", "--body")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rec struct {
		Body  string
		Input struct{ Headers map[string]any }
	}
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"Authorization": "[redacted]", "cookie": "[redacted]", "X-Api-Key": "[redacted]", "X-Plain": "shown"}
	if fmt.Sprint(rec.Input.Headers) != fmt.Sprint(want) {
		t.Errorf("input headers = %v; want %v", rec.Input.Headers, want)
	}
	for _, s := range []string{"sekrit1", "sekrit2", "sekrit3"} {
		if !strings.Contains(rec.Body, s) {
			t.Errorf("the server did not get %s: %s", s, rec.Body)
		}
		if strings.Contains(stderr, s) {
			t.Errorf("stderr shows %s: %s", s, stderr)
		}
	}
}

// TestRequestRetryRules: a POST is retried only with an Idempotency-Key or
// --retry-unsafe, a PUT always; every attempt sends the whole body.
func TestRequestRetryRules(t *testing.T) {
	var mu sync.Mutex
	bodies := map[string][]string{}
	h := newHost(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies[r.URL.Path] = append(bodies[r.URL.Path], string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	in := fmt.Sprintf(`{"url":"%[1]s/post","method":"POST","body":"p"}
{"url":"%[1]s/keyed","method":"POST","body":"k","headers":{"Idempotency-Key":"abc"}}
{"url":"%[1]s/put","method":"PUT","body":"u"}
`, h.URL)
	for _, tc := range []struct {
		args  []string
		tries map[string]int
	}{
		{nil, map[string]int{"/post": 1, "/keyed": 3, "/put": 3}},
		{[]string{"--retry-unsafe"}, map[string]int{"/post": 3, "/keyed": 3, "/put": 3}},
	} {
		clear(bodies)
		runOK(t, in, append([]string{"--retries", "2", "--retry-base", "1ms"}, tc.args...)...)
		for path, n := range tc.tries {
			b := bodies[path]
			if len(b) != n {
				t.Errorf("%q: %s sent %d times; want %d", tc.args, path, len(b), n)
			}
			for _, body := range b {
				if body != b[0] || body == "" {
					t.Errorf("%q: %s bodies %q; want the whole body every time", tc.args, path, b)
				}
			}
		}
	}
}
