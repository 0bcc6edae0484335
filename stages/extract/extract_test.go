package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"

	"sluice/internal/site"
	"sluice/record"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func mustSelect(t testing.TB, spec string, all bool) Select {
	t.Helper()
	s, err := ParseSelect(spec, all)
	if err != nil {
		t.Fatalf("ParseSelect(%q): %v", spec, err)
	}
	return s
}

// goldenConfig is what the golden files were made with.
func goldenConfig(t testing.TB) Config {
	return Config{
		Title: true, Links: true, Meta: true, Text: true, Headers: true,
		Selects: []Select{
			mustSelect(t, "h1=h1", false),
			mustSelect(t, "price=.price", false),
			mustSelect(t, "sku=p[data-sku]@data-sku", false),
			mustSelect(t, "images=img@src", true),
			mustSelect(t, "missing=.nothing", false),
		},
	}
}

// extractFile runs the extractor over a fixture as if it had been fetched
// from https://example.test/docs/page.html with the given Content-Type, and
// returns the output line.
func extractFile(t testing.TB, e *Extractor, name, contentType string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Content-Type", contentType)
	r := &record.Record{
		Seq: 1, URL: "https://example.test/docs/page.html",
		Attempts: 1, Response: record.Response{FinalURL: "https://example.test/docs/page.html", Status: 200, Proto: "HTTP/1.1", ContentType: contentType, ContentLength: int64(len(body)), Body: body, Header: h},
	}
	e.Extract(context.Background(), r)
	if r.Body != nil || r.Header != nil {
		t.Errorf("%s: body or headers kept after extraction without --body", name)
	}
	return bytes.Clone(record.NewEncoder().AppendLine(r))
}

func TestExtractGolden(t *testing.T) {
	tests := []struct {
		file        string
		contentType string
	}{
		{"basic.html", "text/html; charset=utf-8"},
		{"missing-title.html", "text/html"},
		{"multiple-titles.html", "text/html"},
		{"base-href.html", "text/html"},
		{"windows-1251.html", "text/html; charset=windows-1251"}, // charset in the header
		{"shift_jis.html", "text/html"},                          // charset in <meta http-equiv>
		{"iso-8859-1.html", "text/html; charset=ISO-8859-1"},
		{"utf8-undeclared.html", "text/html"}, // no charset anywhere, ASCII for the first 1024 bytes
		{"broken.html", "text/html"},
		{"page.xhtml", "application/xhtml+xml"},
		{"data.json", "application/json"}, // not HTML: headers only
		{"empty.html", "text/html"},
		{"missing-title.html", ""}, // no Content-Type: sniffed
	}
	e := NewExtractor(goldenConfig(t))
	for _, tc := range tests {
		name := strings.TrimSuffix(tc.file, filepath.Ext(tc.file))
		if tc.contentType == "" {
			name += "-sniffed"
		}
		t.Run(name, func(t *testing.T) {
			line := extractFile(t, e, tc.file, tc.contentType)
			if !utf8.Valid(line) || !json.Valid(line) {
				t.Fatalf("output is not valid UTF-8 JSON: %q", line)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, line, "", "  "); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./stages -run TestExtractGolden -update to create it)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("extract %s =\n%s\nwant (%s)\n%s", tc.file, pretty.Bytes(), golden, want)
			}
		})
	}
}

func TestParseSelect(t *testing.T) {
	tests := []struct {
		spec     string
		wantName string
		wantAttr string
		wantErr  bool
	}{
		{"title=h1", "title", "", false},
		{"link=a.main@href", "link", "href", false},
		{"both=h1, h2", "both", "", false},
		{"mail=a[href^='mailto:x@y.test']", "mail", "", false}, // '@' inside [...] is not an attribute
		{"mail=a[href^='mailto:x@y.test']@href", "mail", "href", false},
		{"data=p@data-sku", "data", "data-sku", false},
		{"nothing", "", "", true},
		{"=h1", "", "", true},
		{"x=", "", "", true},
		{"bad=h1[", "", "", true},
		{"bad=::nope", "", "", true},
		{"bad=p:nth-child(", "", "", true},
	}
	for _, tc := range tests {
		s, err := ParseSelect(tc.spec, false)
		if (err != nil) != tc.wantErr || s.Name != tc.wantName || s.Attr != tc.wantAttr {
			t.Errorf("ParseSelect(%q) = %q@%q, %v; want %q@%q, error %v", tc.spec, s.Name, s.Attr, err, tc.wantName, tc.wantAttr, tc.wantErr)
		}
	}
}

func TestParseExtractList(t *testing.T) {
	var c Config
	if err := c.ParseExtractList("title, LINKS,meta,text,headers"); err != nil || !(c.Title && c.Links && c.Meta && c.Text && c.Headers) {
		t.Errorf("ParseExtractList = %+v, %v", c, err)
	}
	if err := c.ParseExtractList("title,images"); err == nil || !strings.Contains(err.Error(), `"images"`) {
		t.Errorf("ParseExtractList(images) error = %v; want one naming it", err)
	}
}

func TestExtractLinksSameHost(t *testing.T) {
	cfg := Config{Links: true, LinksSameHost: true}
	line := extractFile(t, NewExtractor(cfg), "basic.html", "text/html")
	var got struct{ Links []string }
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatal(err)
	}
	for _, l := range got.Links {
		if !strings.HasPrefix(l, "https://example.test/") {
			t.Errorf("--links-same-host kept %q", l)
		}
	}
	if len(got.Links) != 5 {
		t.Errorf("links = %q; want the 5 on example.test", got.Links)
	}
}

func TestExtractBody(t *testing.T) {
	e := NewExtractor(Config{Body: true})
	for _, tc := range []struct {
		body []byte
		want string
	}{
		{[]byte("héllo"), `"body":"héllo"`},
		{[]byte("caf\xe9"), `"body_base64":"Y2Fm6Q=="`},
		{[]byte("a\x00b"), `"body_base64":"YQBi"`},
	} {
		r := &record.Record{Seq: 1, Response: record.Response{Status: 200, ContentType: "text/plain", Body: tc.body}}
		e.Extract(context.Background(), r)
		if line := string(record.NewEncoder().AppendLine(r)); !strings.Contains(line, tc.want) {
			t.Errorf("--body of %q: %s; want %s", tc.body, line, tc.want)
		}
	}
}

// Hostile pages: a record always comes out, and quickly enough to measure.
func TestExtractHostilePages(t *testing.T) {
	e := NewExtractor(Config{Title: true, Links: true, Meta: true, Text: true,
		Selects: []Select{mustSelect(t, "all=*", true)}})
	var manyLinks strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&manyLinks, `<a href="/p/%d">%d</a>`, i, i)
	}
	tests := []struct {
		name      string
		body      string
		wantLinks int
		wantError string // extract_error, when the parser refuses the page
	}{
		{"100k links", manyLinks.String(), 100_000, ""},
		{"10 MiB page", "<title>big</title>" + strings.Repeat("<p>lorem ipsum dolor sit amet</p>", 10<<20/32), 0, ""},
		{"deeply nested divs", strings.Repeat("<div>", 1_000_000) + "deep", 0, "exceeds 512"},
		{"deeply nested anchors", strings.Repeat(`<a href="/x">`, 200_000), 1, ""},
		{"garbage", "\x00\xff<<<>>>&&&;;</</</title<title<", 0, ""},
		{"only text", "plain words", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &record.Record{Response: record.Response{Status: 200, ContentType: "text/html", FinalURL: "http://a.test/", Body: []byte(tc.body)}}
			e.Extract(context.Background(), r)
			if r.Page == nil {
				t.Fatal("no page")
			}
			if tc.wantError != "" {
				if !strings.Contains(r.Page.Error, tc.wantError) {
					t.Errorf("extract_error = %q; want it to say %q", r.Page.Error, tc.wantError)
				}
				return
			}
			if r.Page.Title == nil || !r.Page.HasLinks {
				t.Fatalf("no page extracted: %+v", r.Page)
			}
			if len(r.Page.Links) != tc.wantLinks {
				t.Errorf("%d links; want %d", len(r.Page.Links), tc.wantLinks)
			}
			if len(*r.Page.Text) > DefaultTextMax {
				t.Errorf("text of %d bytes; want at most %d", len(*r.Page.Text), DefaultTextMax)
			}
			if line := record.NewEncoder().AppendLine(r); !json.Valid(line) {
				t.Errorf("output is not valid JSON")
			}
		})
	}
}

// FuzzExtract: arbitrary bytes never panic and always give valid UTF-8 JSON.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{"<title>x</title>", "<a href='//x'>", "<base href=':'><a href='a'>", "\xef\xbb\xbf<meta charset=sjis>\x82\xa0",
		"<html lang=\xff><meta property=og:x content=\xfe>", "<select><option>a<option>b",
		`<script type="application/ld+json">{"@type":"Article","author":{"name":"\xff"},"datePublished":"2024-01-02"}</script><time datetime="x">`} {
		f.Add([]byte(s), "text/html")
	}
	f.Add([]byte("<p>x"), "text/html; charset=shift_jis")
	f.Add([]byte("x"), "")
	e := NewExtractor(Config{Title: true, Links: true, Meta: true, Text: true, Headers: true, Body: true, JSONLD: true,
		Selects: []Select{mustSelect(f, "p=p", false), mustSelect(f, "a=a@href", true)}})
	enc := record.NewEncoder()
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		r := &record.Record{Response: record.Response{Status: 200, ContentType: contentType, FinalURL: "http://a.test/x/", Body: body, Header: http.Header{"X": {string(body)}}}}
		e.Extract(context.Background(), r)
		if line := enc.AppendLine(r); !utf8.Valid(line) || !json.Valid(line) {
			t.Fatalf("Extract(%q, %q): invalid output %q", body, contentType, line)
		}
	})
}

// BenchmarkExtract measures --extract title,links on a 100 KB page, beside a
// plain goquery loop doing the same work (parse, first title, every href
// made absolute) in the same run.
func BenchmarkExtract(b *testing.B) {
	page := site.ArticlePage("bench") // the page bench/core.sh's parse run fetches
	b.Run("sluice", func(b *testing.B) {
		e := NewExtractor(Config{Title: true, Links: true})
		b.ReportAllocs()
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			r := &record.Record{Response: record.Response{Status: 200, ContentType: "text/html; charset=utf-8", FinalURL: "http://a.test/", Body: page}}
			e.Extract(context.Background(), r)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
	})
	b.Run("plain-goquery", func(b *testing.B) {
		base, err := url.Parse("http://a.test/")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			doc, err := goquery.NewDocumentFromReader(bytes.NewReader(page))
			if err != nil {
				b.Fatal(err)
			}
			_ = doc.Find("title").First().Text()
			var links []string
			doc.Find("a[href]").Each(func(_ int, s *goquery.Selection) {
				href, _ := s.Attr("href")
				if u, err := base.Parse(href); err == nil {
					links = append(links, u.String())
				}
			})
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
	})
}
