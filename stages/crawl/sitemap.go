package crawl

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"io"
	"strings"

	"sluice/record"
	"sluice/stages/extract"
	"sluice/stages/robots"
)

// The sitemaps protocol's caps on one file.
const (
	SitemapMaxURLs  = 50_000
	SitemapMaxBytes = 50 << 20 // uncompressed
)

// sitemap reads an internal task's body (--sitemaps): a robots.txt (with
// --robots, the copy the schedule fetched for the host) leads to
// the sitemaps its Sitemap lines name, or to /sitemap.xml when it names
// none; a sitemap index to its sitemaps; a sitemap to its URLs, which are
// pages of depth 1 within the seed's scope. Gzip is recognised by its magic
// bytes, whatever the Content-Type says. What a file holds past the
// protocol's caps is not read.
func (d *Discoverer) sitemap(r *record.Record) []record.Found {
	t := r.Task
	page := r.FinalURL
	if page == "" { // robots.txt read from --robots' cache, not fetched
		page = r.URL
	}
	base := record.NewLinkBase(page, "")
	if base == nil {
		return nil
	}
	var found []record.Found
	file := func(href string) {
		if link, ok := base.Resolve(strings.TrimSpace(href)); ok {
			found = append(found, record.Found{URL: link, Host: extract.HostKeyOf(link), Origin: record.OriginSitemapFile, Scope: t.Scope})
		}
	}
	switch {
	case r.Location != "": // a sitemap, or robots.txt, that moved
		file(r.Location)
	case t.Origin == record.OriginRobots:
		var names []string
		switch {
		case d.robots != nil: // not fetched: the schedule's copy (FetchFlow)
			names, _ = d.robots.Sitemaps(r.Host)
		case r.Status == 200:
			names = robots.Parse(r.Body).Sitemaps
		}
		if len(names) == 0 {
			names = []string{"/sitemap.xml"}
		}
		for _, name := range names {
			file(name)
		}
	case r.Status == 200:
		readSitemap(r.Body, func(parent, loc string) {
			switch parent {
			case "sitemap":
				file(loc)
			case "url":
				found = d.listed(found, t, base, loc)
			}
		})
	}
	return found
}

// readSitemap calls fn with each <loc> of a sitemap or sitemap index
// (gzipped or not) and the element it is in ("url", "sitemap"), up to the
// protocol's caps. What a file that is not XML held before the point it
// broke stands.
func readSitemap(body []byte, fn func(parent, loc string)) {
	r := io.Reader(bytes.NewReader(body))
	if bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return
		}
		r = gz
	}
	dec := xml.NewDecoder(io.LimitReader(r, SitemapMaxBytes))
	dec.Strict = false
	var in []string // the open elements' local names
	var loc strings.Builder
	for n := 0; n < SitemapMaxURLs; {
		tok, err := dec.Token()
		if err != nil {
			return // the end, a cap, or a file that is not XML
		}
		switch e := tok.(type) {
		case xml.StartElement:
			in = append(in, e.Name.Local)
			loc.Reset()
		case xml.CharData:
			if len(in) > 0 && in[len(in)-1] == "loc" {
				loc.Write(e)
			}
		case xml.EndElement:
			if len(in) >= 2 && in[len(in)-1] == "loc" {
				n++
				fn(in[len(in)-2], loc.String())
			}
			if len(in) > 0 {
				in = in[:len(in)-1]
			}
		}
	}
}

// listed adds a sitemap's URL, when it is within scope, as a page of depth 1.
func (d *Discoverer) listed(found []record.Found, t *record.Task, base *record.LinkBase, href string) []record.Found {
	if d.cfg.Depth < 1 {
		d.f.Count(record.NotDepth)
		return found
	}
	link, ok := base.Resolve(strings.TrimSpace(href))
	if !ok {
		d.f.Count(record.NotScope)
		return found
	}
	if fd, ok := d.check(t, link); ok {
		fd.Origin, fd.Depth = record.OriginSitemapURL, 1
		found = append(found, fd)
	}
	return found
}
