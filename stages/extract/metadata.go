package extract

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"

	"sluice/record"
)

// What --extract meta says of a page beyond its meta tags: who wrote it,
// when, where, in what language and what it is. Each is taken from the
// most trusted source that has it: the page's JSON-LD, then its
// OpenGraph and article meta tags, then microdata, then <time> elements
// and bylines.

var (
	selJSONLD        = cascadia.MustCompile(`script[type]`)
	selItemAuthor    = cascadia.MustCompile(`[itemprop~=author]`)
	selItemName      = cascadia.MustCompile(`[itemprop~=name]`)
	selItemPublished = cascadia.MustCompile(`[itemprop~=datePublished]`)
	selItemModified  = cascadia.MustCompile(`[itemprop~=dateModified]`)
	selTime          = cascadia.MustCompile(`time[datetime]`)
	selRelAuthor     = cascadia.MustCompile(`a[rel~=author]`)
	selByline        = cascadia.MustCompile(`[class*=byline], [class*=author-name], [class*=AuthorName], [rel=author]`)
	selDateish       = cascadia.MustCompile(`[class*=date], [class*=Date], [class*=publish], [class*=posted], [id*=date]`)
)

// jsonLD returns the page's JSON-LD blocks, each parsed; a block that is
// not JSON is left out. Parsed once per page.
func (pg *page) jsonLD(doc *goquery.Document) []any {
	if pg.ldRead {
		return pg.ld
	}
	var blocks []any
	doc.FindMatcher(selJSONLD).Each(func(_ int, s *goquery.Selection) {
		typ, _ := s.Attr("type")
		if !strings.EqualFold(strings.TrimSpace(strings.Split(typ, ";")[0]), "application/ld+json") {
			return
		}
		var v any
		d := json.NewDecoder(strings.NewReader(s.Text()))
		d.UseNumber()
		if d.Decode(&v) != nil {
			return
		}
		switch v := v.(type) {
		case []any:
			for _, x := range v {
				if _, ok := x.(map[string]any); ok {
					blocks = append(blocks, x)
				}
			}
		case map[string]any:
			blocks = append(blocks, v)
		}
	})
	pg.ldRead, pg.ld = true, blocks
	return blocks
}

// ldObjects returns every object of blocks, those of an @graph included,
// main entities first: an object whose @type is a kind of creative work,
// then the rest, in page order.
func ldObjects(blocks []any) []map[string]any {
	var all []map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			all = append(all, v)
			if g, ok := v["@graph"].([]any); ok {
				for _, x := range g {
					walk(x)
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, b := range blocks {
		walk(b)
	}
	var main, rest []map[string]any
	for _, o := range all {
		if isWork(ldTypes(o)) {
			main = append(main, o)
		} else {
			rest = append(rest, o)
		}
	}
	return append(main, rest...)
}

// ldTypes is an object's @type, one or many.
func ldTypes(o map[string]any) []string {
	switch t := o["@type"].(type) {
	case string:
		return []string{t}
	case []any:
		var ts []string
		for _, x := range t {
			if s, ok := x.(string); ok {
				ts = append(ts, s)
			}
		}
		return ts
	}
	return nil
}

// isWork reports whether types name what a page is about: an article, a
// post, a product, a recipe... rather than the site, a breadcrumb or an
// image.
func isWork(types []string) bool {
	for _, t := range types {
		switch t {
		case "WebSite", "Organization", "BreadcrumbList", "ImageObject", "SiteNavigationElement",
			"Person", "WPHeader", "WPFooter", "SearchAction", "ListItem", "EntryPoint", "Brand", "Offer", "AggregateRating":
		default:
			return true
		}
	}
	return false
}

// ldName is the name a JSON-LD value gives: a string, an object's name,
// or the names of a list, joined.
func ldName(v any) string {
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v)
	case map[string]any:
		return ldName(v["name"])
	case []any:
		var names []string
		for _, x := range v {
			if n := ldName(x); n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		return strings.Join(names, ", ")
	}
	return ""
}

// pageMeta gives set what a page says of its author, dates, site,
// language and type; tags are its meta tags' contents by lower-case name
// or property, order their names as the page has them. set keeps the
// first value of a key, so the sources go in order of trust.
func pageMeta(pg *page, doc *goquery.Document, tags map[string]string, order []string, set func(k, v string)) {
	m := metaSet(set)
	m.fromJSONLD(ldObjects(pg.jsonLD(doc)))
	m.fromTags(tags)
	m.fromMarkup(doc, tags, order)
}

// metaSet sets a key of --extract meta, if it has no value yet.
type metaSet func(k, v string)

// date sets k to v as ISO 8601, when v is a date.
func (set metaSet) date(k, v string) {
	if d := isoDate(v); d != "" {
		set(k, d)
	}
}

// fromJSONLD reads the page's JSON-LD objects, the main ones first.
func (set metaSet) fromJSONLD(objs []map[string]any) {
	for _, o := range objs {
		if a := ldName(o["author"]); a != "" && !isURL(a) {
			set("author", a)
		}
		if a := ldName(o["creator"]); a != "" && !isURL(a) && isWork(ldTypes(o)) {
			set("author", a)
		}
		if d, ok := o["datePublished"].(string); ok {
			set.date("published", d)
		}
		if d, ok := o["dateCreated"].(string); ok {
			set.date("published", d)
		}
		if d, ok := o["dateModified"].(string); ok {
			set.date("modified", d)
		}
		if p := ldName(o["publisher"]); p != "" {
			set("site_name", p)
		}
		if l, ok := o["inLanguage"].(string); ok && strings.TrimSpace(l) != "" {
			set("lang", l)
		}
		if ts := ldTypes(o); len(ts) > 0 && isWork(ts) {
			set("type", ts[0])
		}
	}
}

// fromTags reads OpenGraph's, article's and Dublin Core's meta tags.
func (set metaSet) fromTags(tags map[string]string) {
	if v, ok := tags["og:site_name"]; ok {
		set("site_name", v)
	}
	if v, ok := tags["og:type"]; ok {
		set("type", v)
	}
	for _, k := range []string{"article:published_time", "og:published_time", "published_time", "date", "dc.date", "dcterms.created", "pubdate"} {
		if v, ok := tags[k]; ok {
			set.date("published", v)
		}
	}
	for _, k := range []string{"article:modified_time", "og:updated_time", "dcterms.modified"} {
		if v, ok := tags[k]; ok {
			set.date("modified", v)
		}
	}
	for _, k := range []string{"author", "article:author", "dc.creator", "byl"} {
		if v, ok := tags[k]; ok && !isURL(v) {
			set("author", strings.TrimPrefix(strings.TrimPrefix(v, "By "), "by "))
		}
	}
}

// fromMarkup reads microdata, then <time datetime>, the other meta tags
// that name a date, dated elements and bylines.
func (set metaSet) fromMarkup(doc *goquery.Document, tags map[string]string, order []string) {
	if n := doc.FindMatcher(selItemAuthor).First(); n.Length() > 0 {
		name := n.FindMatcher(selItemName).First()
		if name.Length() == 0 {
			name = n
		}
		if a := itemValue(name.Get(0)); a != "" && len(a) < 100 {
			set("author", a)
		}
	}
	if n := doc.FindMatcher(selItemPublished).First(); n.Length() > 0 {
		set.date("published", itemValue(n.Get(0)))
	}
	if n := doc.FindMatcher(selItemModified).First(); n.Length() > 0 {
		set.date("modified", itemValue(n.Get(0)))
	}
	if n := doc.FindMatcher(selTime).First(); n.Length() > 0 {
		set.date("published", n.AttrOr("datetime", ""))
	}
	for _, k := range order { // cludo:date, sailthru.date...
		if strings.Contains(k, "date") && !strings.Contains(k, "modif") && !strings.Contains(k, "updat") && !strings.Contains(k, "expir") {
			set.date("published", tags[k])
		}
	}
	doc.FindMatcher(selDateish).EachWithBreak(func(i int, s *goquery.Selection) bool {
		if d := textDate(textOf(s.Get(0), 200, true)); d != "" {
			set("published", d)
			return false
		}
		return i < 20
	})
	for _, sel := range []cascadia.Selector{selRelAuthor, selByline} {
		if n := doc.FindMatcher(sel).First(); n.Length() > 0 {
			a := strings.TrimSpace(textOf(n.Get(0), 200, true))
			for _, by := range []string{"By ", "by ", "BY "} {
				a = strings.TrimPrefix(a, by)
			}
			if a != "" && len(a) < 100 {
				set("author", a)
			}
		}
	}
}

// itemValue is a microdata property's value: its content, datetime or
// its text.
func itemValue(n *html.Node) string {
	for _, k := range []string{"content", "datetime"} {
		for _, a := range n.Attr {
			if a.Key == k && strings.TrimSpace(a.Val) != "" {
				return strings.TrimSpace(a.Val)
			}
		}
	}
	return strings.TrimSpace(textOf(n, 200, true))
}

func isURL(s string) bool { return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") }

// dateLayouts are the ways pages write dates, tried in order.
var dateLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02T15:04Z07:00", "2006-01-02T15:04",
	"2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02",
	time.RFC1123Z, time.RFC1123, time.RFC850, time.ANSIC, "Mon, 2 Jan 2006 15:04:05 -0700", "Mon, 2 Jan 2006 15:04:05 MST",
	"January 2, 2006", "Jan 2, 2006", "2 January 2006", "2 Jan 2006", "January 2 2006", "Jan. 2, 2006", "2006/01/02", "2006.01.02",
}

// isoDate writes a date as ISO 8601: with its time and zone when it has
// them, the day alone when it is only a day; "" when it is not a date.
func isoDate(v string) string {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 64 {
		return ""
	}
	for _, layout := range dateLayouts {
		t, err := time.Parse(layout, v)
		if err != nil {
			continue
		}
		if t.Year() < 1990 || t.Year() > 2100 {
			return ""
		}
		if !strings.Contains(layout, "15") {
			return t.Format("2006-01-02")
		}
		if strings.Contains(layout, "07") || strings.Contains(layout, "MST") || strings.HasSuffix(layout, "Z") || layout == time.RFC3339Nano {
			return t.Format(time.RFC3339)
		}
		return t.Format("2006-01-02T15:04:05")
	}
	return ""
}

// jsonLDPart is --extract jsonld: the page's JSON-LD blocks, parsed and
// written again as one array, within the text cap (whole objects only).
type jsonLDPart struct{ e *Extractor }

func (j jsonLDPart) extract(pg *page, p *record.Page) {
	r := pg.r
	if !IsHTML(r.ContentType, r.Body) {
		return
	}
	doc, err := pg.html()
	if err != nil {
		return // the HTML part says why
	}
	blocks := pg.jsonLD(doc)
	var b, one bytes.Buffer
	enc := json.NewEncoder(&one)
	enc.SetEscapeHTML(false) // as the rest of the record is written
	b.WriteByte('[')
	for _, o := range blocks {
		one.Reset()
		if enc.Encode(o) != nil {
			continue
		}
		obj := bytes.TrimSuffix(one.Bytes(), []byte("\n"))
		if b.Len()+len(obj)+2 > j.e.cfg.TextMax {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.Write(obj)
	}
	b.WriteByte(']')
	p.JSONLD = b.Bytes()
}

// months by the names and abbreviations pages write them in.
var months = map[string]time.Month{
	"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
	"jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
	"oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}

var (
	isoInText    = regexp.MustCompile(`\b((?:19|20)\d{2})-(\d{2})-(\d{2})\b`)
	monthDayYear = regexp.MustCompile(`(?i)\b([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+((?:19|20)\d{2})\b`)
	dayMonthYear = regexp.MustCompile(`(?i)\b(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]{3,9})\.?,?\s+((?:19|20)\d{2})\b`)
)

// textDate finds the first date written in s, a line of a page ("Updated
// on July 9, 2025", "21 Nov 2018", "2019-08-16"), as ISO 8601; "" for none.
func textDate(s string) string {
	day := func(y, m, d string) string {
		yy, _ := strconv.Atoi(y)
		mm, ok := months[strings.ToLower(m)]
		if !ok {
			n, err := strconv.Atoi(m)
			if err != nil || n < 1 || n > 12 {
				return ""
			}
			mm = time.Month(n)
		}
		dd, _ := strconv.Atoi(d)
		t := time.Date(yy, mm, dd, 0, 0, 0, 0, time.UTC)
		if t.Day() != dd || t.Month() != mm {
			return "" // no such day
		}
		return t.Format("2006-01-02")
	}
	best, at := "", len(s)+1
	if m := isoInText.FindStringSubmatchIndex(s); m != nil && m[0] < at {
		if d := day(s[m[2]:m[3]], s[m[4]:m[5]], s[m[6]:m[7]]); d != "" {
			best, at = d, m[0]
		}
	}
	if m := monthDayYear.FindStringSubmatchIndex(s); m != nil && m[0] < at {
		if d := day(s[m[6]:m[7]], s[m[2]:m[3]], s[m[4]:m[5]]); d != "" {
			best, at = d, m[0]
		}
	}
	if m := dayMonthYear.FindStringSubmatchIndex(s); m != nil && m[0] < at {
		if d := day(s[m[6]:m[7]], s[m[4]:m[5]], s[m[2]:m[3]]); d != "" {
			best = d
		}
	}
	return best
}
