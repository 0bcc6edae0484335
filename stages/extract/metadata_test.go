package extract

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"sluice/record"
)

// extractPage runs e over an HTML page fetched from https://example.test/a.
func extractPage(e *Extractor, doc string) *record.Record {
	r := &record.Record{Seq: 1, URL: "https://example.test/a", Response: record.Response{
		FinalURL: "https://example.test/a", Status: 200, ContentType: "text/html; charset=utf-8", Body: []byte(doc),
	}}
	e.Extract(context.Background(), r)
	return r
}

// The author, dates, site and type come from the most trusted source a
// page has: JSON-LD, then OpenGraph and article meta, then microdata,
// then <time> and bylines.
func TestMetaAuthorAndDates(t *testing.T) {
	e := NewExtractor(Config{Meta: true})
	for _, tc := range []struct {
		name string
		doc  string
		want map[string]string
	}{
		{"JSON-LD first", `<html lang="en"><head>
<meta property="og:site_name" content="The OG Site"><meta property="article:published_time" content="2020-01-01">
<meta name="author" content="Meta Author">
<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
 {"@type":"WebSite","name":"Site","publisher":{"@type":"Organization","name":"Not The Article's"}},
 {"@type":"NewsArticle","headline":"H","author":[{"@type":"Person","name":"Ann Lee"},{"@type":"Person","name":"Bo Chen"}],
  "datePublished":"2024-03-05T10:00:00+01:00","dateModified":"2024-03-06","publisher":{"@type":"Organization","name":"The Paper"}}]}
</script></head><body><p>x</p></body></html>`,
			map[string]string{"author": "Ann Lee, Bo Chen", "published": "2024-03-05T10:00:00+01:00", "modified": "2024-03-06",
				"site_name": "The Paper", "type": "NewsArticle", "lang": "en"}},
		{"OpenGraph and article meta", `<head><meta property="og:type" content="article"><meta property="og:site_name" content="Site">
<meta property="article:published_time" content="2023-11-02T08:30:00Z"><meta property="article:modified_time" content="2023-11-03T09:00:00Z">
<meta name="author" content="By Jane Roe"></head><body><time datetime="2001-01-01">old</time></body>`,
			map[string]string{"author": "Jane Roe", "published": "2023-11-02T08:30:00Z", "modified": "2023-11-03T09:00:00Z", "site_name": "Site", "type": "article"}},
		{"microdata", `<body><article itemscope itemtype="https://schema.org/BlogPosting">
<span itemprop="author" itemscope><span itemprop="name">Kim Park</span></span>
<meta itemprop="datePublished" content="2022-07-09"><p>text</p></article></body>`,
			map[string]string{"author": "Kim Park", "published": "2022-07-09"}},
		{"time and byline", `<body><div class="post-byline">By Sam Fox</div><time datetime="2021-05-04T12:00">May 4</time><p>t</p></body>`,
			map[string]string{"author": "Sam Fox", "published": "2021-05-04T12:00:00"}},
		{"nothing to say", `<body><time datetime="soon">later</time><p>t</p></body>`, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := extractPage(e, tc.doc)
			var got map[string]string
			if r.Page != nil {
				got = r.Page.Meta
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("meta %s = %q; want %q (meta %v)", k, got[k], v, got)
				}
			}
			for _, k := range []string{"author", "published", "modified", "site_name", "type"} {
				if _, ok := tc.want[k]; !ok && got[k] != "" {
					t.Errorf("meta %s = %q; want none", k, got[k])
				}
			}
		})
	}
}

// --extract jsonld writes the page's JSON-LD objects, parsed: a block's
// array spread, @graph kept as written, a broken block left out, HTML
// characters not escaped, numbers as written.
func TestExtractJSONLD(t *testing.T) {
	e := NewExtractor(Config{JSONLD: true})
	doc := `<head>
<script type="application/ld+json">{"@type":"Product","name":"A <b> & C","offers":{"price":19.990}}</script>
<script type="application/ld+json">{"@type": broken</script>
<script type="application/ld+json; charset=utf-8">[{"@type":"BreadcrumbList"},{"@type":"Organization","name":"O"}, 3]</script>
<script type="text/javascript">{"@type":"NotLD"}</script>
<script type="application/ld+json">{"@graph":[{"@type":"WebPage"}]}</script>
</head><body></body>`
	r := extractPage(e, doc)
	if r.Page == nil || r.Page.JSONLD == nil {
		t.Fatal("no jsonld")
	}
	var got []map[string]any
	if err := json.Unmarshal(r.Page.JSONLD, &got); err != nil {
		t.Fatalf("jsonld %s: %v", r.Page.JSONLD, err)
	}
	types := []string{}
	for _, o := range got {
		typ, _ := o["@type"].(string)
		types = append(types, typ)
	}
	if strings.Join(types, ",") != "Product,BreadcrumbList,Organization," {
		t.Errorf("objects of types %v; want Product, BreadcrumbList, Organization and the @graph", types)
	}
	if !strings.Contains(string(r.Page.JSONLD), `"A <b> & C"`) || !strings.Contains(string(r.Page.JSONLD), `19.990`) {
		t.Errorf("jsonld %s; want the strings unescaped and the numbers as written", r.Page.JSONLD)
	}
	if r := extractPage(e, `<p>no structured data</p>`); r.Page == nil || string(r.Page.JSONLD) != "[]" {
		t.Errorf("a page without JSON-LD: %+v; want an empty array", r.Page)
	}
	small := NewExtractor(Config{JSONLD: true, TextMax: 60})
	if r := extractPage(small, doc); r.Page == nil || !json.Valid(r.Page.JSONLD) || len(r.Page.JSONLD) > 60 {
		t.Errorf("under --text-max 60: %s; want valid JSON of at most 60 bytes", r.Page.JSONLD)
	}
}

func TestISODate(t *testing.T) {
	for in, want := range map[string]string{
		"2024-03-05":                    "2024-03-05",
		"2024-03-05T10:00:00+01:00":     "2024-03-05T10:00:00+01:00",
		"2024-03-05T10:00:00.123Z":      "2024-03-05T10:00:00Z",
		"2024-03-05 10:00:00":           "2024-03-05T10:00:00",
		"March 5, 2024":                 "2024-03-05",
		"5 March 2024":                  "2024-03-05",
		"Tue, 05 Mar 2024 10:00:00 GMT": "2024-03-05T10:00:00Z",
		"yesterday":                     "",
		"0001-01-01":                    "",
		"":                              "",
	} {
		if got := isoDate(in); got != want {
			t.Errorf("isoDate(%q) = %q; want %q", in, got, want)
		}
	}
}
