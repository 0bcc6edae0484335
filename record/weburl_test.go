package record

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// wptCase is one Web Platform Tests URL case.
type wptCase struct {
	Input   string `json:"input"`
	Base    *string
	Href    string `json:"href"`
	Failure bool   `json:"failure"`
}

func wptCases(t testing.TB) []wptCase {
	t.Helper()
	data, err := os.ReadFile("testdata/urltestdata.json")
	if err != nil {
		t.Skipf("the WPT URL data is not beside the repository: %v", err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	var cases []wptCase
	for _, r := range raw {
		if r[0] != '{' {
			continue // a comment
		}
		var c wptCase
		if err := json.Unmarshal(r, &c); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	return cases
}

func httpBase(c wptCase) bool {
	return c.Base != nil && (strings.HasPrefix(*c.Base, "http:") || strings.HasPrefix(*c.Base, "https:"))
}

// withoutFragment is href as a link: its fragment dropped.
func withoutFragment(href string) string {
	if i := strings.IndexByte(href, '#'); i >= 0 {
		return href[:i]
	}
	return href
}

// TestWPTLinks resolves every WPT case with an http(s) base as a link on a
// page at that base, and prints the share that come out as the standard
// says. A failure case must give no link; a case whose result is not
// http(s) gives none either (sluice keeps http(s) links only).
func TestWPTLinks(t *testing.T) {
	var n, pass int
	for _, c := range wptCases(t) {
		if !httpBase(c) {
			continue
		}
		n++
		b := NewLinkBase(*c.Base, "")
		got, ok := b.Resolve(c.Input)
		want := withoutFragment(c.Href)
		isHTTP := strings.HasPrefix(want, "http:") || strings.HasPrefix(want, "https:")
		switch {
		case c.Failure && ok:
			t.Errorf("input %q on base %q: link %q; the standard rejects it", c.Input, *c.Base, got)
		case c.Failure, !isHTTP && !ok:
			pass++
		case got == want && ok:
			pass++
		default:
			t.Logf("differs: input %q on base %q: %q, %v; want %q", c.Input, *c.Base, got, ok, want)
		}
	}
	share := float64(pass) / float64(n)
	t.Logf("WPT URL cases with an http(s) base: %d of %d (%.1f%%) as the standard says", pass, n, 100*share)
	if share < 0.95 {
		t.Errorf("%.1f%% of the WPT cases pass; want at least 95%%", 100*share)
	}
}

// TestWPTInputs parses every WPT case without a base as an input line.
func TestWPTInputs(t *testing.T) {
	var n, pass int
	for _, c := range wptCases(t) {
		if c.Base != nil || !(strings.HasPrefix(strings.ToLower(strings.TrimSpace(c.Input)), "http")) {
			continue
		}
		n++
		got, err := WebURL(c.Input)
		switch {
		case c.Failure && err == nil:
			t.Errorf("input %q: %q; the standard rejects it", c.Input, got)
		case c.Failure, err == nil && got == withoutFragment(c.Href):
			pass++
		default:
			t.Logf("differs: input %q: %q, %v; want %q", c.Input, got, err, withoutFragment(c.Href))
		}
	}
	t.Logf("WPT URL cases without a base, http(s) inputs: %d of %d (%.1f%%) as the standard says", pass, n, 100*float64(pass)/float64(n))
}

// FuzzPlainURL: a URL the fast way takes as it is, the standard writes as
// it is too; so do plain root-relative and path-relative links, on plain
// bases with and without <base href>.
func FuzzPlainURL(f *testing.F) {
	for _, s := range []string{"http://a.test/x?y=1#z", "https://127.0.0.1:8080/", "http://a.test", "http://a.test?q",
		"http://a.b.c.d.e/%41", "/root/path?q=1", "http://1.2.3.4/", "http://0x7f.1/", "http://a.test:80/", "http://a.test/./x"} {
		f.Add(s)
	}
	for _, s := range []string{"page2", "a/b?q=1#f", "a/../b", ".x", "x:y", "?q", "a b", "a%2e", "x/./y",
		"../x", "../../../../y?q#f", "./a", "../", "..", "./../a/b", "../#f", ".././x", "..%2fx", "../.x", ".../x"} {
		f.Add(s)
	}
	base := NewLinkBase("https://base.test:8443/dir/page", "")
	withBase := NewLinkBase("http://a.test/x/y?z", "/other/dir/")
	withQuery := NewLinkBase("http://a.test/x/y?z=/w/", "http://b.test:81/p/q?r")
	for _, b := range []*LinkBase{base, withBase, withQuery} {
		if !b.plain {
			f.Fatalf("base %s is not plain: the fuzz would not reach the fast ways", b.href)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		if end, ok := isPlain(s); ok {
			u, err := webParser.Parse(s)
			if err != nil || u.Href(true) != withPath(s[:end]) {
				t.Fatalf("isPlain(%q) but the standard gives %v, %v; the fast way %q", s, u, err, withPath(s[:end]))
			}
		}
		_, root := plainRoot(s)
		_, relative := plainRelative(s)
		_, _, dotted := leadingDots(s)
		if root || relative || dotted {
			for _, b := range []*LinkBase{base, withBase, withQuery} {
				got, _ := b.Resolve(s)
				u, err := b.parsed().Parse(s)
				if err != nil || u.Href(true) != got {
					t.Fatalf("Resolve(%q) on %s = %q; the standard gives %v, %v", s, b.href, got, u, err)
				}
			}
		}
	})
}

// Input lines are read as browsers read URLs; request_url says what was
// requested when it is not the line.
func TestParseWebURL(t *testing.T) {
	for _, tc := range []struct{ line, requestURL, target string }{
		{"http://example.com/a b", "http://example.com/a%20b", "http://example.com/a%20b"},
		{"HTTPS://Example.COM", "https://example.com/", "https://example.com/"},
		{"http://example.com", "", "http://example.com/"},
		{"http://example.com?q=1", "", "http://example.com/?q=1"},
		{"http://example.com/x#frag", "", "http://example.com/x"},
		{"http://0x7f.1/", "http://127.0.0.1/", "http://127.0.0.1/"},
		{"http://h.test:80/", "http://h.test/", "http://h.test/"},
		{"http:///path", "http://path/", "http://path/"},
		{"http://bücher.example/", "http://xn--bcher-kva.example/", "http://xn--bcher-kva.example/"},
		{"http://example.com/a\\b/../c", "http://example.com/a/c", "http://example.com/a/c"},
		{"http://example.com/q?a='x y'", "http://example.com/q?a=%27x%20y%27", "http://example.com/q?a=%27x%20y%27"},
	} {
		r := Parse(1, []byte(tc.line), "url")
		if r.Err != nil || r.RequestURL != tc.requestURL || r.Target == nil || r.Target.String() != tc.target || r.URL != tc.line {
			t.Errorf("Parse(%q): error %v, request_url %q, target %v; want %q, %q", tc.line, r.Err, r.RequestURL, r.Target, tc.requestURL, tc.target)
		}
	}
	for _, bad := range []string{"http://256.256.256.256/", "http://h.test:65536/", "http://exa mple.com/", "http://[::1/", "https://"} {
		if r := Parse(1, []byte(bad), "url"); r.Err == nil || r.Err.Kind != KindInvalidInput {
			t.Errorf("Parse(%q): %v; want invalid_input", bad, r.Err)
		}
	}
}
