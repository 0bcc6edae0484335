package stages

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"io"
	"strings"

	"sluice/internal/robotstxt"
	"sluice/record"
)

// The sitemaps protocol's caps on one file.
const (
	SitemapMaxURLs  = 50_000
	SitemapMaxBytes = 50 << 20 // uncompressed
)

// sitemap reads an internal task's body (--sitemaps): a robots.txt leads to
// the sitemaps its Sitemap lines name, or to /sitemap.xml when it names
// none; a sitemap index to its sitemaps; a sitemap to its URLs, which are
// pages of depth 1 within the seed's scope. Gzip is recognised by its magic
// bytes, whatever the Content-Type says. What a file holds past the
// protocol's caps is not read.
func (d *Discoverer) sitemap(r *record.Record) []Found {
	t := r.Task
	base := record.NewLinkBase(r.FinalURL, "")
	if base == nil {
		return nil
	}
	internal := func(href string) (Found, bool) {
		link, ok := base.Resolve(strings.TrimSpace(href))
		if !ok {
			return Found{}, false
		}
		return Found{URL: link, Host: hostKeyOf(link), Origin: record.OriginSitemapFile, Scope: t.Scope}, true
	}
	var found []Found
	if r.Location != "" { // a sitemap, or robots.txt, that moved
		if fd, ok := internal(r.Location); ok {
			found = append(found, fd)
		}
		return found
	}
	if t.Origin == record.OriginRobots {
		var names []string
		if r.Status == 200 {
			names = robotstxt.Parse(r.Body).Sitemaps
		}
		if len(names) == 0 {
			names = []string{"/sitemap.xml"}
		}
		for _, name := range names {
			if fd, ok := internal(name); ok {
				found = append(found, fd)
			}
		}
		return found
	}
	if r.Status != 200 {
		return nil
	}
	body := io.Reader(bytes.NewReader(r.Body))
	if bytes.HasPrefix(r.Body, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(body)
		if err != nil {
			return nil
		}
		body = gz
	}
	dec := xml.NewDecoder(io.LimitReader(body, SitemapMaxBytes))
	dec.Strict = false
	var in []string // the open elements' local names
	var loc strings.Builder
	n := 0
	for n < SitemapMaxURLs {
		tok, err := dec.Token()
		if err != nil {
			break // the end, a cap, or a file that is not XML: what was read stands
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
				switch in[len(in)-2] {
				case "sitemap":
					if fd, ok := internal(loc.String()); ok {
						found = append(found, fd)
					}
				case "url":
					found = d.listed(found, t, base, loc.String())
				}
			}
			if len(in) > 0 {
				in = in[:len(in)-1]
			}
		}
	}
	return found
}

// listed adds a sitemap's URL, when it is within scope, as a page of depth 1.
func (d *Discoverer) listed(found []Found, t *record.Task, base *record.LinkBase, href string) []Found {
	if d.cfg.Depth < 1 {
		d.f.Count(NotDepth)
		return found
	}
	link, ok := base.Resolve(strings.TrimSpace(href))
	if !ok {
		d.f.Count(NotScope)
		return found
	}
	if fd, ok := d.check(t, link); ok {
		fd.Origin, fd.Depth = record.OriginSitemapURL, 1
		found = append(found, fd)
	}
	return found
}
