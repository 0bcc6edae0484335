package extract

import (
	"bytes"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"sluice/record"
)

// scanLinks reads a page's links and first <base href> from its tokens,
// without building the tree: the hrefs of <a> and <area> start tags and of
// the first <base>, in the order written. It is what html.Parse and the
// selectors give, at half the cost, for a page where the tree keeps every
// start tag where it was written; ok is false, and the caller parses, when
// the page has a tag after which that may not hold:
//   - a table or its parts: the tree builder moves misplaced content out
//     of a table (foster parenting), so tree order is not page order;
//   - <frameset>, which takes the body away, and <select>, whose content
//     model the tree builder enforces;
//   - <svg> and <math>: foreign content, where CDATA sections and raw-text
//     tag names read differently;
//   - elements open more than maxScanDepth deep, where the tree builder may
//     refuse the page (it stops at 512).
//
// Raw text (<script>, <style>, <title>, <textarea>, <noscript>, ...) and
// duplicate attributes are the tokenizer's, which html.Parse uses too.
// FuzzScanLinks checks the scan against the tree.
func scanLinks(body []byte) (hrefs []string, base string, ok bool) {
	z := html.NewTokenizer(bytes.NewReader(body))
	var open []atom.Atom // the start tags not yet closed, by a rough reading
	haveBase := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			return hrefs, base, true // io.EOF: the tokenizer reads from memory
		case html.EndTagToken:
			name, _ := z.TagName()
			// Only an end tag that closes the innermost open one: the count
			// stays at or above the tree builder's.
			if n := len(open); n > 0 && open[n-1] != 0 && open[n-1] == atom.Lookup(name) {
				open = open[:n-1]
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := atom.Lookup(name)
			switch tag {
			case atom.Table, atom.Caption, atom.Colgroup, atom.Col, atom.Tbody, atom.Thead, atom.Tfoot, atom.Tr, atom.Td, atom.Th,
				atom.Frameset, atom.Select, atom.Svg, atom.Math:
				return nil, "", false
			case atom.A, atom.Area, atom.Base:
				if href, found := hrefOf(z, hasAttr); found {
					switch {
					case tag != atom.Base:
						hrefs = append(hrefs, href)
					case !haveBase:
						base, haveBase = href, true
					}
				}
			}
			if !voidElements[tag] {
				if open = append(open, tag); len(open) > maxScanDepth {
					return nil, "", false
				}
			}
		}
	}
}

// scannedLinks is links' result for a page scanLinks can read: its links
// resolved against page and its <base>; false when the page is the tree's.
func scannedLinks(body []byte, page string, sameHost bool) ([]string, bool) {
	hrefs, base, ok := scanLinks(body)
	if !ok {
		return nil, false
	}
	l := newLinkList(record.NewLinkBase(page, base), page, sameHost)
	for _, h := range hrefs {
		l.add(h)
	}
	return l.out, true
}

// maxScanDepth is how deep scanLinks follows open elements before it
// leaves the page to html.Parse, well short of the parser's limit of 512.
const maxScanDepth = 256

// hrefOf is the current tag's href attribute.
func hrefOf(z *html.Tokenizer, more bool) (string, bool) {
	for more {
		var key, val []byte
		key, val, more = z.TagAttr()
		if string(key) == "href" {
			return string(val), true
		}
	}
	return "", false
}

// voidElements have no end tag: the HTML standard's list.
var voidElements = map[atom.Atom]bool{
	atom.Area: true, atom.Base: true, atom.Br: true, atom.Col: true, atom.Embed: true, atom.Hr: true, atom.Img: true,
	atom.Input: true, atom.Link: true, atom.Meta: true, atom.Source: true, atom.Track: true, atom.Wbr: true,
	atom.Param: true, atom.Keygen: true, atom.Basefont: true, atom.Bgsound: true, atom.Frame: true,
}
