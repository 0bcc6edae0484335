package extract

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"

	"sluice/record"
)

// DefaultTextMax caps --extract text and the text of a selected element.
const DefaultTextMax = 64 << 10

// Config says what the extract stage takes from a page.
type Config struct {
	Title, Links, Meta, Text, Headers bool
	JSONLD                            bool     // --extract jsonld: the page's JSON-LD objects
	TLS                               bool     // --extract tls: the fetch stage's --tls-info
	LinksSameHost                     bool     // keep only links to the page's own host
	Selects                           []Select // --select and --select-all, in order
	TextMax                           int      // bytes of text kept; 0 means DefaultTextMax
	Body                              bool     // --body: keep the body for the output
	Hashes                            []string // --hash: names from HashNames
	JQ                                []JQ     // --jq, in order
	JQAny                             bool     // --jq-any: run --jq on any body, not only JSON ones
	JQTimeout                         time.Duration
	JQResultMax                       int // bytes of one --jq result at most
}

// Extracting reports whether anything is asked of the extract stage.
func (c *Config) Extracting() bool {
	return c.Title || c.Links || c.Meta || c.Text || c.Headers || c.JSONLD || len(c.Selects) > 0 || c.Body || len(c.Hashes) > 0 || len(c.JQ) > 0
}

// NeedsBody reports whether the extract stage reads the body.
func (c *Config) NeedsBody() bool {
	return c.Body || c.parsesHTML() || c.JSONLD || len(c.Hashes) > 0 || len(c.JQ) > 0
}

// linksOnly: of what needs the HTML, only the links (scanLinks reads them).
func (c *Config) linksOnly() bool {
	return c.Links && !c.Title && !c.Meta && !c.Text && len(c.Selects) == 0
}

func (c *Config) parsesHTML() bool {
	return c.Title || c.Links || c.Meta || c.Text || len(c.Selects) > 0
}

// ParseExtractList reads --extract's comma-separated list into c.
func (c *Config) ParseExtractList(list string) error {
	for _, item := range strings.Split(list, ",") {
		switch strings.ToLower(strings.TrimSpace(item)) {
		case "title":
			c.Title = true
		case "links":
			c.Links = true
		case "meta":
			c.Meta = true
		case "text":
			c.Text = true
		case "headers":
			c.Headers = true
		case "tls":
			c.TLS = true
		case "jsonld":
			c.JSONLD = true
		case "":
		default:
			return fmt.Errorf("unknown item %q (want title, links, meta, text, headers, tls, jsonld)", strings.TrimSpace(item))
		}
	}
	return nil
}

// Select is one compiled --select or --select-all.
type Select struct {
	Name string
	All  bool
	Attr string // the attribute to take; "" for the element's text
	sel  cascadia.Selector
}

var attrName = regexp.MustCompile(`^[A-Za-z_:][-A-Za-z0-9_:.]*$`)

// ParseSelect compiles "NAME=SELECTOR" or "NAME=SELECTOR@attr". The
// selector is compiled here, once, so a bad one is an error before any work.
func ParseSelect(spec string, all bool) (Select, error) {
	name, sel, ok := strings.Cut(spec, "=")
	name, sel = strings.TrimSpace(name), strings.TrimSpace(sel)
	if !ok || name == "" || sel == "" {
		return Select{}, fmt.Errorf("%q is not NAME=SELECTOR", spec)
	}
	s := Select{Name: name, All: all}
	// "@attr" at the end, outside any [...], names an attribute; '@' inside
	// an attribute selector's value does not.
	if at := strings.LastIndexByte(sel, '@'); at > 0 && attrName.MatchString(sel[at+1:]) &&
		strings.Count(sel[:at], "[") == strings.Count(sel[:at], "]") {
		s.Attr = strings.ToLower(sel[at+1:])
		sel = strings.TrimSpace(sel[:at])
	}
	compiled, err := cascadia.Compile(sel) // a selector group: "h1, h2" works
	if err != nil {
		return Select{}, fmt.Errorf("selector %q: %v", sel, err)
	}
	s.sel = compiled
	return s, nil
}

// Extractor turns fetched bodies into record.Page: it runs the extractors
// the flags ask for, in order, on every page. It is safe for concurrent
// use: it only reads its configuration.
type Extractor struct {
	cfg   Config
	parts []extractor
}

// An extractor fills its part of record.Page from a page. A new kind of
// extraction is an extractor and the Config field that asks for it; one
// parse of a page's HTML (page.html) serves every extractor that reads it.
type extractor interface {
	extract(pg *page, p *record.Page)
}

// NewExtractor returns an Extractor for cfg.
func NewExtractor(cfg Config) *Extractor {
	if cfg.TextMax <= 0 {
		cfg.TextMax = DefaultTextMax
	}
	if cfg.JQTimeout <= 0 {
		cfg.JQTimeout = DefaultJQTimeout
	}
	if cfg.JQResultMax <= 0 {
		cfg.JQResultMax = 10 << 20
	}
	e := &Extractor{cfg: cfg}
	if cfg.Headers {
		e.parts = append(e.parts, headersPart{})
	}
	if len(cfg.Hashes) > 0 {
		e.parts = append(e.parts, hashPart(cfg.Hashes))
	}
	if cfg.parsesHTML() {
		e.parts = append(e.parts, htmlPart{e})
	}
	if cfg.JSONLD {
		e.parts = append(e.parts, jsonLDPart{e})
	}
	if len(cfg.JQ) > 0 {
		e.parts = append(e.parts, jqPart{e})
	}
	return e
}

// Extract fills r.Page from r's body and headers; flow.Map runs it on the
// records that got a response (an error of kind http is still one). Only
// HTML and XHTML bodies are parsed; other content passes with at most its
// headers. r.Page is set when some extractor found anything. The body is
// dropped afterwards unless --body asked for it. It never blocks; ctx is
// the stage contract's.
func (e *Extractor) Extract(_ context.Context, r *record.Record) {
	defer func() {
		r.Header = nil
		if !e.cfg.Body {
			r.Body = nil
		}
	}()
	if r.Status == 0 {
		return
	}
	pg, p := &page{r: r}, &record.Page{}
	for _, x := range e.parts {
		x.extract(pg, p)
	}
	if !reflect.ValueOf(p).Elem().IsZero() {
		r.Page = p
	}
}

// page is a fetched page as the extractors read it: its record, and its
// HTML decoded and parsed at most once, when the first extractor asks.
type page struct {
	r *record.Record

	decoded bool
	body    []byte // in UTF-8
	charset string // what body was decoded from

	parsed bool
	root   *html.Node
	doc    *goquery.Document
	err    error // why the HTML could not be parsed
	ldRead bool
	ld     []any // its JSON-LD blocks (jsonLD)
}

// text returns the page's body in UTF-8 and the charset it was decoded
// from: a rendered page's DOM is UTF-8 already.
func (pg *page) text() ([]byte, string) {
	if !pg.decoded {
		pg.decoded = true
		if r := pg.r; r.Render != nil {
			pg.body, pg.charset = r.Body, r.Render.Charset
		} else {
			pg.body, pg.charset = decode(r.Body, r.ContentType)
		}
	}
	return pg.body, pg.charset
}

// html returns the page's HTML tree, parsed the first time it is asked for.
func (pg *page) html() (*goquery.Document, error) {
	if !pg.parsed {
		pg.parsed = true
		body, _ := pg.text()
		pg.root, pg.err = html.Parse(bytes.NewReader(body)) // x/net/html refuses elements nested more than 512 deep
		if pg.err == nil {
			pg.doc = goquery.NewDocumentFromNode(pg.root)
		}
	}
	return pg.doc, pg.err
}

// headersPart is --extract headers.
type headersPart struct{}

func (headersPart) extract(pg *page, p *record.Page) { p.Headers = pg.r.Header }

// hashPart is --hash: the digests of the body as read.
type hashPart []string

func (h hashPart) extract(pg *page, p *record.Page) { p.Hashes = hashes(h, pg.r.Body) }

// jqPart is --jq.
type jqPart struct{ e *Extractor }

func (j jqPart) extract(pg *page, p *record.Page) { j.e.runJQ(pg.r, p) }

// IsHTML reports whether a body is HTML or XHTML, by its Content-Type or,
// without one, by sniffing.
func IsHTML(contentType string, body []byte) bool {
	if strings.TrimSpace(contentType) == "" {
		contentType = http.DetectContentType(body)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "text/html" || mt == "application/xhtml+xml")
}

// decode returns body as UTF-8 and the name of the charset it was in: a BOM,
// the Content-Type charset, or a <meta> declaration, in that order (the
// HTML standard's order); with none, UTF-8 when the whole body is valid
// UTF-8, else windows-1252. (x/net/html/charset alone looks at the first
// 1024 bytes only, and calls an undeclared UTF-8 page windows-1252 when
// those happen to be ASCII.)
func decode(body []byte, contentType string) ([]byte, string) {
	enc, name := CharsetOf(body, contentType)
	if enc == nil {
		return body, name
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return body, "utf-8" // undecodable: let the parser and the encoder make do
	}
	return out, name
}

// CharsetOf is the charset decode finds for body, by name, and its
// encoding; nil when the body is UTF-8 as it is.
func CharsetOf(body []byte, contentType string) (encoding.Encoding, string) {
	enc, name, certain := charset.DetermineEncoding(body, contentType)
	if name == "utf-8" || (!certain && name == "windows-1252" && utf8.Valid(body)) {
		return nil, "utf-8"
	}
	return enc, name
}

// The selectors the extract stage uses on every page, compiled once
// (goquery's Find compiles its argument on each call).
var (
	selBase    = cascadia.MustCompile("base[href]")
	selTitle   = cascadia.MustCompile("title")
	selBody    = cascadia.MustCompile("body")
	selLinks   = cascadia.MustCompile("a[href], area[href]")
	selMeta    = cascadia.MustCompile("meta[content]")
	selLinkRel = cascadia.MustCompile("link[rel][href]")
	selLang    = cascadia.MustCompile("html[lang]")
)

// htmlPart is --extract title, links, meta and text, and --select: the
// parts of an HTML or XHTML page.
type htmlPart struct{ e *Extractor }

func (h htmlPart) extract(pg *page, p *record.Page) {
	e, r := h.e, pg.r
	if !IsHTML(r.ContentType, r.Body) {
		return
	}
	body, name := pg.text()
	p.Charset = name
	if e.cfg.linksOnly() {
		if links, ok := scannedLinks(body, r.FinalURL, e.cfg.LinksSameHost); ok { // as --follow wants them: no tree
			p.Links, p.HasLinks = links, true
			return
		}
	}
	doc, err := pg.html()
	if err != nil {
		p.Error = err.Error()
		return
	}
	baseHref, _ := doc.FindMatcher(selBase).First().Attr("href")
	base := record.NewLinkBase(r.FinalURL, baseHref)
	if e.cfg.Title {
		t := ""
		if n := doc.FindMatcher(selTitle).First(); n.Length() > 0 {
			t = textOf(n.Get(0), e.cfg.TextMax, false)
		}
		p.Title = &t
	}
	if e.cfg.Links {
		p.Links, p.HasLinks = links(doc, base, r.FinalURL, e.cfg.LinksSameHost), true
	}
	if e.cfg.Meta {
		p.Meta = meta(pg, doc, base)
	}
	if e.cfg.Text {
		n := pg.root
		if b := doc.FindMatcher(selBody).First(); b.Length() > 0 {
			n = b.Get(0)
		}
		t := textOf(n, e.cfg.TextMax, true)
		p.Text = &t
	}
	for _, s := range e.cfg.Selects {
		p.Fields = append(p.Fields, e.selectField(doc, s))
	}
}

func (e *Extractor) selectField(doc *goquery.Document, s Select) record.Field {
	f := record.Field{Name: s.Name, All: s.All}
	nodes := doc.FindMatcher(s.sel).Nodes
	value := func(n *html.Node) (string, bool) {
		if s.Attr == "" {
			return textOf(n, e.cfg.TextMax, false), true
		}
		for _, a := range n.Attr {
			if a.Key == s.Attr && a.Namespace == "" {
				return strings.TrimSpace(a.Val), true
			}
		}
		return "", false
	}
	if s.All {
		f.Items = []string{}
		for _, n := range nodes {
			if v, ok := value(n); ok {
				f.Items = append(f.Items, v)
			}
		}
		return f
	}
	for _, n := range nodes {
		if v, ok := value(n); ok {
			f.One = &v
			break
		}
	}
	return f
}

// links returns the page's http(s) links as a browser resolves them (the
// WHATWG URL Standard: record.LinkBase), without fragments, once each as
// written, in page order. A link the standard rejects is left out.
func links(doc *goquery.Document, base *record.LinkBase, page string, sameHost bool) []string {
	l := newLinkList(base, page, sameHost)
	doc.FindMatcher(selLinks).Each(func(_ int, s *goquery.Selection) {
		href, _ := s.Attr("href")
		l.add(href)
	})
	return l.out
}

// linkList gathers a page's links for links and for scanLinks' hrefs.
type linkList struct {
	base     *record.LinkBase
	sameHost bool
	pageHost string
	seen     map[string]bool
	out      []string
}

func newLinkList(base *record.LinkBase, page string, sameHost bool) *linkList {
	l := &linkList{base: base, sameHost: sameHost, out: []string{}}
	if sameHost {
		l.pageHost = HostKeyOf(page)
	}
	return l
}

func (l *linkList) add(href string) {
	if l.base == nil {
		return
	}
	link, ok := l.base.Resolve(href)
	if !ok || l.seen[link] {
		return // mailto:, javascript:, tel:, data:, what the standard rejects, and repeats
	}
	if l.sameHost && HostKeyOf(link) != l.pageHost {
		return
	}
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	l.seen[link] = true
	l.out = append(l.out, link)
}

// HostKeyOf is the politeness key of an absolute URL, "" when it has none.
func HostKeyOf(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return ""
	}
	return record.HostKey(u.Scheme, u.Host)
}

// meta returns description, robots, og:* (from <meta>), canonical (absolute)
// and lang; the first of each wins.
func meta(pg *page, doc *goquery.Document, base *record.LinkBase) map[string]string {
	m := map[string]string{}
	set := func(k, v string) {
		if _, ok := m[k]; !ok {
			m[k] = fold(v)
		}
	}
	tags := map[string]string{} // every meta tag, for pageMeta
	var order []string
	doc.FindMatcher(selMeta).Each(func(_ int, s *goquery.Selection) {
		content, _ := s.Attr("content")
		name := strings.ToLower(strings.TrimSpace(s.AttrOr("name", "")))
		prop := strings.ToLower(strings.TrimSpace(s.AttrOr("property", "")))
		switch {
		case name == "description" || name == "robots":
			set(name, content)
		case strings.HasPrefix(prop, "og:"):
			set(prop, content)
		}
		for _, k := range []string{name, prop, strings.ToLower(strings.TrimSpace(s.AttrOr("itemprop", "")))} {
			if _, ok := tags[k]; k != "" && !ok {
				tags[k] = content
				order = append(order, k)
			}
		}
	})
	doc.FindMatcher(selLinkRel).EachWithBreak(func(_ int, s *goquery.Selection) bool {
		for _, rel := range strings.Fields(strings.ToLower(s.AttrOr("rel", ""))) {
			if rel == "canonical" {
				if base == nil {
					return false
				}
				if link, ok := base.Resolve(s.AttrOr("href", "")); ok {
					set("canonical", link)
					return false
				}
			}
		}
		return true
	})
	if lang, ok := doc.FindMatcher(selLang).First().Attr("lang"); ok && strings.TrimSpace(lang) != "" {
		set("lang", lang)
	}
	pageMeta(pg, doc, tags, order, func(k, v string) {
		if strings.TrimSpace(v) != "" {
			set(k, v)
		}
	})
	return m
}

// inline are elements that do not break the flow of text; entering or
// leaving any other element separates words ("<h1>A</h1><p>B</p>" reads
// "A B").
var inline = map[string]bool{
	"a": true, "abbr": true, "b": true, "bdi": true, "bdo": true, "cite": true, "code": true, "data": true,
	"dfn": true, "em": true, "font": true, "i": true, "kbd": true, "mark": true, "q": true, "s": true,
	"samp": true, "small": true, "span": true, "strong": true, "sub": true, "sup": true, "time": true,
	"u": true, "var": true, "wbr": true,
}

func breaksText(n *html.Node) bool { return n.Type == html.ElementNode && !inline[n.Data] }

// invisible are elements whose text a reader does not see.
var invisible = map[string]bool{"script": true, "style": true, "noscript": true, "template": true, "head": true, "title": true}

// textOf gathers the text under n with white space folded, up to max bytes
// (cut at a rune boundary). It walks the tree by its pointers, not by
// recursion, so any depth of nesting costs no stack. With visibleOnly,
// scripts, styles and the like are skipped.
func textOf(n *html.Node, max int, visibleOnly bool) string {
	var b strings.Builder
	space := false // a space is owed before the next word
	for c := n; c != nil; {
		switch {
		case c.Type == html.TextNode:
			for _, r := range c.Data {
				if unicode.IsSpace(r) {
					space = b.Len() > 0
					continue
				}
				if b.Len()+utf8.RuneLen(r)+1 > max {
					return b.String()
				}
				if space {
					b.WriteByte(' ')
					space = false
				}
				b.WriteRune(r)
			}
		case c.Type == html.ElementNode && c != n && visibleOnly && invisible[c.Data]:
			var crossed bool
			c, crossed = next(c, n, false)
			space = space || (crossed && b.Len() > 0)
			continue
		case breaksText(c):
			space = b.Len() > 0
		}
		var crossed bool
		c, crossed = next(c, n, true)
		space = space || (crossed && b.Len() > 0)
	}
	return b.String()
}

// next is the node after c in document order within root, descending into
// c's children when down is true; nil at the end. crossed reports that the
// step left an element that separates words.
func next(c, root *html.Node, down bool) (n *html.Node, crossed bool) {
	if down && c.FirstChild != nil {
		return c.FirstChild, false
	}
	for c != root {
		crossed = crossed || breaksText(c)
		if c.NextSibling != nil {
			return c.NextSibling, crossed
		}
		c = c.Parent
	}
	return nil, crossed
}

// fold collapses runs of white space to one space and trims the ends.
func fold(s string) string { return strings.Join(strings.Fields(s), " ") }
