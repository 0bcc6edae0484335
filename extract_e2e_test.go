package main

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"sluice/internal/site"
)

// extracted is the extraction part of an output line.
type extracted struct {
	Seq        int64             `json:"seq"`
	URL        string            `json:"url"`
	Status     int               `json:"status"`
	Charset    string            `json:"charset"`
	Title      *string           `json:"title"`
	Links      []string          `json:"links"`
	Meta       map[string]string `json:"meta"`
	Text       *string           `json:"text"`
	Headers    map[string]string `json:"headers"`
	Fields     map[string]any    `json:"fields"`
	Body       *string           `json:"body"`
	BodyBase64 *string           `json:"body_base64"`
}

func TestExtractEndToEnd(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/", site.Handler())
	mux.HandleFunc("/cp1251", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=windows-1251")
		// "<title>Привет</title><h1>Мир</h1>" in windows-1251
		w.Write([]byte("<title>\xcf\xf0\xe8\xe2\xe5\xf2</title><h1>\xcc\xe8\xf0</h1><a href='https://elsewhere.test/'>x</a>"))
	})
	mux.HandleFunc("/binary", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write([]byte{0xff, 0x00, 0x01})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	in := srv.URL + "/page/3\n" + srv.URL + "/cp1251\n" + srv.URL + "/hello\n" + srv.URL + "/binary\n"
	stdout, stderr, code := runSluice(t, in, "--extract", "title,links,meta,text,headers",
		"--select", "heading=h1", "--select-all", "hrefs=a@href", "--links-same-host", "--body")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	got := map[string]extracted{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var e extracted
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		got[strings.TrimPrefix(e.URL, srv.URL)] = e
	}

	page := got["/page/3"]
	if page.Title == nil || *page.Title != "Page 3" || page.Charset != "utf-8" {
		t.Errorf("/page/3 title %v charset %q; want Page 3, utf-8", page.Title, page.Charset)
	}
	if strings.Join(page.Links, " ") != srv.URL+"/page/4 "+srv.URL+"/" {
		t.Errorf("/page/3 links %q; want /page/4 and / made absolute", page.Links)
	}
	if page.Text == nil || *page.Text != "Page 3 next home" {
		t.Errorf("/page/3 text %v", page.Text)
	}
	if page.Meta == nil || page.Headers["content-type"] != "text/html; charset=utf-8" {
		t.Errorf("/page/3 meta %v headers %v; want an object and the response headers", page.Meta, page.Headers)
	}
	if page.Fields["heading"] != "Page 3" || len(page.Fields["hrefs"].([]any)) != 2 {
		t.Errorf("/page/3 fields %v", page.Fields)
	}
	if page.Body == nil || !strings.Contains(*page.Body, "<h1>Page 3</h1>") {
		t.Errorf("/page/3 body %v; want the page", page.Body)
	}

	cp := got["/cp1251"]
	if cp.Title == nil || *cp.Title != "Привет" || cp.Fields["heading"] != "Мир" || cp.Charset != "windows-1251" {
		t.Errorf("/cp1251: title %v heading %v charset %q; want Привет, Мир, windows-1251", cp.Title, cp.Fields["heading"], cp.Charset)
	}
	if len(cp.Links) != 0 {
		t.Errorf("/cp1251 links %q; want none with --links-same-host", cp.Links)
	}
	if cp.BodyBase64 == nil || cp.Body != nil {
		t.Errorf("/cp1251 body %v body_base64 %v; want base64 (not UTF-8)", cp.Body, cp.BodyBase64)
	}

	for _, path := range []string{"/hello", "/binary"} {
		e := got[path]
		if e.Title != nil || e.Links != nil || e.Fields != nil || e.Headers["content-type"] == "" {
			t.Errorf("%s (not HTML): %+v; want headers only, no extraction", path, e)
		}
	}
	if got["/binary"].BodyBase64 == nil || *got["/binary"].BodyBase64 != "/wAB" {
		t.Errorf("/binary body_base64 %v; want /wAB", got["/binary"].BodyBase64)
	}
	if got["/hello"].Body == nil {
		t.Errorf("/hello: no body with --body")
	}
}

// --hash through the binary: the digests of the body read (at most
// --max-body), and the favicon mmh3 as a number.
func TestHashEndToEnd(t *testing.T) {
	srv := newSite(t)
	resp, err := http.Get(srv.URL + "/bytes/5000")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(body) != 5000 {
		t.Fatalf("/bytes/5000: %d bytes, %v", len(body), err)
	}
	stdout, stderr, code := runSluice(t, srv.URL+"/bytes/5000\n", "--hash", "md5,sha256,mmh3", "--max-body", "1KiB")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rec struct {
		Truncated bool
		Hash      map[string]any
	}
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatalf("%q: %v", stdout, err)
	}
	sha, md := sha256.Sum256(body[:1024]), md5.Sum(body[:1024])
	mm, isNumber := rec.Hash["mmh3"].(float64)
	if !rec.Truncated || rec.Hash["sha256"] != hex.EncodeToString(sha[:]) || rec.Hash["md5"] != hex.EncodeToString(md[:]) ||
		!isNumber || mm != float64(int32(mm)) {
		t.Errorf("record = %s; want the sha256 and md5 of the first 1 KiB, mmh3 a signed 32-bit number, truncated", stdout)
	}
	if _, _, code := runSluice(t, "", "--hash", "sha1"); code != 2 {
		t.Errorf("--hash sha1: exit %d; want 2", code)
	}
}

// TestJQEndToEnd: --jq on JSON answers through the binary: nested arrays,
// named results, several outputs, a runtime error, and bodies that are not
// JSON (passed by, or an error with --jq-any).
func TestJQEndToEnd(t *testing.T) {
	base := newSite(t).URL
	in := base + "/api/user?id=4\n" + base + "/page/1\n"
	type rec struct {
		JSON         json.RawMessage            `json:"json"`
		Fields       map[string]json.RawMessage `json:"fields"`
		ExtractError string                     `json:"extract_error"`
	}
	run := func(args ...string) []rec {
		stdout, stderr, code := runSluice(t, in, append([]string{"--ordered"}, args...)...)
		if code != 0 {
			t.Fatalf("%q: exit %d, %s", args, code, stderr)
		}
		var out []rec
		for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
			var r rec
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	got := run("--jq", "[.orders[] | {id, total}]", "--jq", "city=.address.city", "--jq", "ids=.orders[].id", "--jq", "bad=.name.first")
	user, page := got[0], got[1]
	if string(user.JSON) != `[{"id":40,"total":9.5},{"id":41,"total":20}]` || string(user.Fields["city"]) != `"Oslo"` ||
		string(user.Fields["ids"]) != `[40,41]` {
		t.Errorf("user: json %s, fields %s; want the orders, the city and the ids", user.JSON, user.Fields)
	}
	if _, ok := user.Fields["bad"]; ok || !strings.Contains(user.ExtractError, "jq bad: ") {
		t.Errorf("user: runtime error %q, fields %s; want extract_error naming bad and no fields.bad", user.ExtractError, user.Fields)
	}
	if page.JSON != nil || page.Fields != nil || page.ExtractError != "" {
		t.Errorf("HTML page without --jq-any: %+v; want no jq output", page)
	}
	page = run("--jq", ".", "--jq-any")[1]
	if page.JSON != nil || !strings.HasPrefix(page.ExtractError, "jq: the body is not JSON") {
		t.Errorf("HTML page with --jq-any: %+v; want extract_error", page)
	}
	if _, stderr, code := runSluice(t, "", "--jq", ".a |"); code != 2 || !strings.Contains(stderr, "--jq") {
		t.Errorf("a bad expression: exit %d, %q; want 2 naming --jq", code, stderr)
	}
}

// refMMH3 is the favicon hash written apart from stages' code, from the
// algorithm's description: Python's base64.encodebytes (76-character lines,
// each ending in a newline), then MurmurHash3 x86 32 with seed 0, signed.
func refMMH3(data []byte) int32 {
	enc := base64.StdEncoding.EncodeToString(data)
	var lines strings.Builder
	for len(enc) > 0 {
		n := min(76, len(enc))
		lines.WriteString(enc[:n] + "\n")
		enc = enc[n:]
	}
	b := []byte(lines.String())
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	rotl := func(x uint32, r uint) uint32 { return x<<r | x>>(32-r) }
	var h uint32
	blocks := len(b) / 4
	for i := 0; i < blocks; i++ {
		k := uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24
		h ^= rotl(k*c1, 15) * c2
		h = rotl(h, 13)*5 + 0xe6546b64
	}
	var k uint32
	tail := b[4*blocks:]
	for i := len(tail) - 1; i >= 0; i-- {
		k = k<<8 | uint32(tail[i])
	}
	if len(tail) > 0 {
		h ^= rotl(k*c1, 15) * c2
	}
	h ^= uint32(len(b))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return int32(h)
}

// TestFaviconHashEndToEnd: --hash mmh3 of a favicon served over HTTP equals
// the reference computed here, for bodies whose base64 ends on every tail
// length; and the fixed 768-byte favicon gives the value Python computed.
func TestFaviconHashEndToEnd(t *testing.T) {
	fixed := make([]byte, 768)
	for i := range fixed {
		fixed[i] = byte(i)
	}
	if got := refMMH3(fixed); got != 1836528006 {
		t.Fatalf("reference mmh3 of the fixed favicon = %d; Python says 1836528006", got)
	}
	icons := [][]byte{fixed}
	for n := 1; n <= 8; n++ {
		icons = append(icons, bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 20*n)[:57*n])
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var i int
		fmt.Sscanf(r.URL.Path, "/%d.ico", &i)
		w.Header().Set("Content-Type", "image/x-icon")
		w.Write(icons[i])
	}))
	t.Cleanup(srv.Close)
	var in strings.Builder
	for i := range icons {
		fmt.Fprintf(&in, "%s/%d.ico\n", srv.URL, i)
	}
	stdout, stderr, code := runSluice(t, in.String(), "--hash", "mmh3", "--ordered")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for i, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var rec struct {
			Status int
			Hash   struct{ MMH3 int64 }
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if want := int64(refMMH3(icons[i])); rec.Hash.MMH3 != want || rec.Status != 200 {
			t.Errorf("icon %d (%d bytes): mmh3 %d; the reference says %d", i, len(icons[i]), rec.Hash.MMH3, want)
		}
	}
}

// TestWPTLinksEndToEnd serves, for each Web Platform Tests URL case with
// an http(s) base, a page <base href=BASE><a href=INPUT>, and checks what
// sluice --extract links makes of it: the standard's href without its
// fragment, or no link for a failure case or a URL that is not http(s).
// Cases with NUL are left out: the HTML parser turns NUL into U+FFFD before
// any URL parser sees it.
func TestWPTLinksEndToEnd(t *testing.T) {
	data, err := os.ReadFile("record/testdata/urltestdata.json")
	if err != nil {
		t.Skipf("the WPT URL data is not beside the repository: %v", err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	type wpt struct {
		Input, Href string
		Base        *string
		Failure     bool
	}
	var cases []wpt
	for _, r := range raw {
		var c wpt
		if r[0] != '{' || json.Unmarshal(r, &c) != nil || c.Base == nil || strings.ContainsRune(c.Input, 0) ||
			!strings.HasPrefix(*c.Base, "http:") && !strings.HasPrefix(*c.Base, "https:") {
			continue
		}
		cases = append(cases, c)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var i int
		fmt.Sscanf(r.URL.Path, "/case/%d", &i)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><base href=\"%s\"></head><body><a href=\"%s\">x</a></body></html>",
			html.EscapeString(*cases[i].Base), html.EscapeString(cases[i].Input))
	}))
	t.Cleanup(srv.Close)
	var in strings.Builder
	for i := range cases {
		fmt.Fprintf(&in, "%s/case/%d\n", srv.URL, i)
	}
	stdout, stderr, code := runSluice(t, in.String(), "--extract", "links", "--ordered")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	pass := 0
	for i, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var rec struct{ Links []string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		c := cases[i]
		want := []string{}
		if href, _, _ := strings.Cut(c.Href, "#"); !c.Failure && (strings.HasPrefix(href, "http:") || strings.HasPrefix(href, "https:")) {
			want = []string{href}
		}
		switch {
		case c.Failure && len(rec.Links) > 0:
			t.Errorf("input %q on base %q: links %q; the standard rejects it", c.Input, *c.Base, rec.Links)
		case fmt.Sprint(rec.Links) == fmt.Sprint(want):
			pass++
		default:
			t.Logf("differs: input %q on base %q: links %q; want %q", c.Input, *c.Base, rec.Links, want)
		}
	}
	share := float64(pass) / float64(len(cases))
	t.Logf("WPT cases through the binary: %d of %d (%.1f%%) as the standard says", pass, len(cases), 100*share)
	if share < 0.95 {
		t.Errorf("%.1f%% pass; want at least 95%%", 100*share)
	}
}
