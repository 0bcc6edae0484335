package extract

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"

	"sluice/internal/site"
	"sluice/record"
)

// treeLinks is what the extract stage gives from the tree: the links, or
// false when html.Parse refuses the page.
func treeLinks(body []byte, page string) ([]string, bool) {
	root, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return nil, false
	}
	doc := goquery.NewDocumentFromNode(root)
	baseHref, _ := doc.FindMatcher(selBase).First().Attr("href")
	return links(doc, record.NewLinkBase(page, baseHref), page, false), true
}

var scanSeeds = []string{
	`<!doctype html><html><head><title>Graph 57</title><base href="/g/100/sub/"></head><body>` +
		`<a href="/g/100/114#top">again</a><a href="/g/100/114">link</a><a href="../115">link</a><a href="http://a.test/g/100/57">x</a></body></html>`,
	`<a href=1><a href=2><p><a href=3>x</p>y<a href=4>`,
	`<p><b><a href=x>one<p>two<a href=y>`,
	`<base><base href=/b/><a href=c><base href=/d/>`,
	`<a href="a" href="b"><a HREF='C'>`,
	`<title><a href=t></title><script><a href=s></script><style><a href=s2></style><textarea><a href=ta></textarea>`,
	`<noscript><a href=n></noscript><noframes><a href=nf></noframes><iframe><a href=i></iframe><xmp><a href=x></xmp>`,
	`<!-- <a href=c> --><a href=d><![CDATA[<a href=e>]]><a href=f>`,
	`<template><a href=t></template><a href=u>`,
	`<table><tr><td><a href=1></td></tr><a href=2></table>`,
	`<div><a href=1><table><a href=2></table>`,
	`<a href=1><frameset><frame src=x></frameset>`,
	`<select><a href=1></select><a href=2>`,
	`<svg><a href=1/><title><a href=2></title></svg><a href=3>`,
	`<math><mi><a href=1></mi></math>`,
	`<area href="/map"><a href="mailto:x@y">m</a><a href="javascript:void(0)">j</a><a href="  /sp  ">s</a>`,
	`<a href="&amp;&lt;x&#x41;">e</a><a href="%zz">p</a><a href="http://[::1]/">v6</a>`,
	`</a></div></p><a href=1></x><a href=2>`,
	`<plaintext><a href=1>`,
	strings.Repeat("<div>", 300) + `<a href=deep>`,
	strings.Repeat("<div></span>", 600) + `<a href=deep>`,
	strings.Repeat("<b><div>", 300) + `<a href=deep>` + strings.Repeat("</b>", 300),
	strings.Repeat(`<a href="/x">`, 600),
}

// FuzzScanLinks: where scanLinks reads a page, it gives exactly the links
// the tree gives; where the tree refuses a page, scanLinks has left it.
func FuzzScanLinks(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	const page = "http://a.test/dir/page"
	f.Fuzz(func(t *testing.T, body []byte) {
		got, scanned := scannedLinks(body, page, false)
		want, parsed := treeLinks(body, page)
		switch {
		case scanned && !parsed:
			t.Fatalf("scanLinks(%q) read a page html.Parse refuses", body)
		case scanned && !slices.Equal(got, want):
			t.Fatalf("scanLinks(%q):\n got %q\nwant %q (the tree's)", body, got, want)
		}
	})
}

// The scan reads the pages it should, and leaves those it must; either way
// the extract stage's links are the tree's.
func TestScanLinksLeavesToTheTree(t *testing.T) {
	for _, tc := range []struct {
		body    string
		scanned bool
		want    []string
	}{
		{scanSeeds[0], true, []string{"http://t.test/g/100/114", "http://t.test/g/100/115", "http://a.test/g/100/57"}},
		{`<base><base href=/b/><a href=c><base href=/d/>`, true, []string{"http://t.test/b/c"}},
		{`<title><a href=t></title><a href=u>`, true, []string{"http://t.test/d/u"}},
		{`<table><tr><td><a href=1></td></tr><a href=2></table>`, false, []string{"http://t.test/d/2", "http://t.test/d/1"}}, // foster parented
		{`<a href=1><frameset><frame src=x></frameset>`, false, []string{}},
		{`<svg><title><a href=2></title></svg><a href=3>`, false, []string{"http://t.test/d/2", "http://t.test/d/3"}},
		{strings.Repeat("<div>", 300) + `<a href=deep>`, false, []string{"http://t.test/d/deep"}},
	} {
		_, _, scanned := scanLinks([]byte(tc.body))
		e := NewExtractor(Config{Links: true})
		r := &record.Record{Response: record.Response{Status: 200, ContentType: "text/html", FinalURL: "http://t.test/d/p", Body: []byte(tc.body)}}
		e.Extract(context.Background(), r)
		if scanned != tc.scanned || r.Page == nil || !slices.Equal(r.Page.Links, tc.want) {
			t.Errorf("%.60q: scanned %v, links %q; want scanned %v, %q", tc.body, scanned, r.Page.Links, tc.scanned, tc.want)
		}
	}
}

// The 100 KB article page bench/core.sh fetches reads the same both ways.
func TestScanLinksArticle(t *testing.T) {
	page := site.ArticlePage("bench")
	got, scanned := scannedLinks(page, "http://a.test/dir/page", false)
	want, _ := treeLinks(page, "http://a.test/dir/page")
	if !scanned || len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("scanned %v: %d links; the tree's %d", scanned, len(got), len(want))
	}
}

// BenchmarkLinks: the links of a page as --follow reads them, by scanLinks
// and by the tree, in the same run; a crawl graph's page (small) and the
// 100 KB article page.
func BenchmarkLinks(b *testing.B) {
	for _, p := range []struct {
		name string
		body []byte
	}{{"graph-page", []byte(scanSeeds[0])}, {"article", site.ArticlePage("bench")}} {
		for _, way := range []struct {
			name string
			fn   func([]byte, string) ([]string, bool)
		}{{"scan", func(b []byte, page string) ([]string, bool) { return scannedLinks(b, page, false) }}, {"tree", treeLinks}} {
			b.Run(p.name+"/"+way.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, ok := way.fn(p.body, "http://a.test/dir/page"); !ok {
						b.Fatal("not read")
					}
				}
			})
		}
	}
}
