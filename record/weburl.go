package record

import (
	"strings"

	wurl "github.com/nlnwa/whatwg-url/url"
)

// URLs are read as browsers read them: by the WHATWG URL Standard, with
// nlnwa/whatwg-url (written for web-archive crawlers). Its parser costs
// about 3 µs a URL against 0.3 for net/url, so a URL that is already in
// the form the standard writes skips it (isPlain; FuzzPlainURL checks that
// the standard leaves such a URL as it is).
var webParser = wurl.NewParser()

// WebURL parses s as a browser parses a URL typed or given alone and
// returns its serialization without the fragment, or the standard's error.
func WebURL(s string) (string, error) {
	if end, ok := isPlain(s); ok {
		return withPath(s[:end]), nil
	}
	u, err := webParser.Parse(s)
	if err != nil {
		return "", err
	}
	return u.Href(true), nil
}

// withPath adds the "/" the standard writes for an empty path to an
// http(s) URL without a fragment.
func withPath(s string) string {
	start := strings.Index(s, "//") + 2
	i := strings.IndexAny(s[start:], "/?")
	switch {
	case i < 0:
		return s + "/"
	case s[start+i] == '?':
		return s[:start+i] + "/" + s[start+i:]
	}
	return s
}

// LinkBase resolves the links of one page. A page whose URL (and <base
// href>) is plain (isPlain) is parsed by the standard's parser only when a
// link needs it: most links on most pages take a fast way (an absolute
// plain URL, a plain root-relative or path-relative one, the latter perhaps
// after "../" segments), which
// FuzzPlainURL checks against the parser.
type LinkBase struct {
	base   *wurl.Url // nil until parsed, for a plain one
	href   string    // the base's serialization without its fragment, when plain
	origin string    // scheme://host[:port] of base, for a plain root-relative link
	plain  bool      // href is plain: the fast ways apply
}

// NewLinkBase returns the base for a page at pageURL with <base href> base
// ("" for none), nil when pageURL is not a URL.
func NewLinkBase(pageURL, base string) *LinkBase {
	if b, ok := plainBase(pageURL, strings.TrimSpace(base)); ok {
		return b
	}
	page, err := webParser.Parse(pageURL)
	if err != nil {
		return nil
	}
	if strings.TrimSpace(base) != "" {
		if b, err := page.Parse(base); err == nil {
			page = b
		}
	}
	return &LinkBase{base: page, origin: page.Protocol() + "//" + page.Host()}
}

// plainBase is the base of a plain page URL and a <base href> that is
// absent, plain, or a plain root-relative path; false otherwise.
func plainBase(pageURL, base string) (*LinkBase, bool) {
	end, ok := isPlain(pageURL)
	if !ok {
		return nil, false
	}
	href := withPath(pageURL[:end])
	switch {
	case base == "":
	case strings.HasPrefix(base, "/") && !strings.HasPrefix(base, "//"):
		end, ok := plainRest(base, 0)
		if !ok {
			return nil, false
		}
		href = originOf(href) + base[:end]
	default:
		end, ok := isPlain(base)
		if !ok {
			return nil, false
		}
		href = withPath(base[:end])
	}
	return &LinkBase{href: href, origin: originOf(href), plain: true}, true
}

// originOf is scheme://host[:port] of a plain URL.
func originOf(href string) string {
	start := strings.Index(href, "//") + 2
	if i := strings.IndexAny(href[start:], "/?#"); i >= 0 {
		return href[:start+i]
	}
	return href
}

// parsed is the base parsed by the standard.
func (b *LinkBase) parsed() *wurl.Url {
	if b.base == nil {
		u, err := webParser.Parse(b.href)
		if err != nil { // isPlain said the standard takes it: a bug
			panic("sluice: a plain URL the standard refuses: " + b.href)
		}
		b.base = u
	}
	return b.base
}

// Resolve returns the absolute http(s) URL a browser makes of href on the
// page, without its fragment; false for a link the standard rejects, or
// one that is not http(s).
func (b *LinkBase) Resolve(href string) (string, bool) {
	if end, ok := isPlain(href); ok {
		return withPath(href[:end]), true
	}
	if b.plain {
		if end, ok := plainRoot(href); ok {
			return b.origin + href[:end], true
		}
		if end, ok := plainRelative(href); ok {
			return b.dir() + href[:end], true
		}
		if up, rest, ok := leadingDots(href); ok {
			if rest == len(href) || href[rest] == '#' {
				return b.up(up), true
			}
			if end, ok := plainRelative(href[rest:]); ok {
				return b.up(up) + href[rest:rest+end], true
			}
		}
	}
	base := b.parsed()
	special := base.Scheme() == "http" || base.Scheme() == "https"
	if special && base.Username() == "" && base.Password() == "" {
		if end, ok := plainRoot(href); ok {
			return b.origin + href[:end], true
		}
	}
	u, err := base.Parse(href)
	if err != nil || (u.Scheme() != "http" && u.Scheme() != "https") {
		return "", false
	}
	return u.Href(true), true
}

// dir is a plain base up to the last '/' of its path.
func (b *LinkBase) dir() string {
	path := b.href
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return path[:strings.LastIndexByte(path, '/')+1]
}

// up is dir with n more segments taken off its path, never past the root
// (the standard's ".." on a path of fewer segments stays at "/").
func (b *LinkBase) up(n int) string {
	dir := b.dir()
	root := len(b.origin)
	for ; n > 0 && len(dir) > root+1; n-- {
		dir = dir[:strings.LastIndexByte(dir[:len(dir)-1], '/')+1]
	}
	return dir
}

// leadingDots counts the "../" segments at the start of a path-relative
// link, passing over "./" ones, and says where the rest starts; false
// when there is none of either. Only these exact forms are taken: "..",
// "." at the end, "%2e" and "\\" are left to the parser.
func leadingDots(href string) (up, rest int, ok bool) {
	for {
		switch {
		case strings.HasPrefix(href[rest:], "../"):
			up, rest = up+1, rest+3
		case strings.HasPrefix(href[rest:], "./"):
			rest += 2
		default:
			return up, rest, rest > 0
		}
	}
}

// plainRoot: a root-relative link of plain characters, and where its
// fragment starts.
func plainRoot(href string) (int, bool) {
	if !strings.HasPrefix(href, "/") || strings.HasPrefix(href, "//") {
		return 0, false
	}
	return plainRest(href, 0)
}

// plainRelative: a path-relative link of plain characters ("page2",
// "a/b?q=1"), and where its fragment starts: not empty, not starting with
// '/', '?', '#' or '.', and without ':' (which may start a scheme) or dot
// segments.
func plainRelative(href string) (int, bool) {
	if href == "" || strings.IndexByte("/?#.", href[0]) >= 0 || strings.IndexByte(href, ':') >= 0 {
		return 0, false
	}
	return plainRest(href, 0)
}

// isPlain reports whether s is an http(s) URL already in the form the
// standard writes it, but perhaps for the "/" of an empty path, and where
// its fragment starts (len(s) without one). It is deliberately narrow: a
// lower-case scheme and host (letters, digits, '-' and '.', or a dotted
// IPv4 address), a port that is not the default, and a path and query of
// characters the standard does not encode, with no dot segments.
func isPlain(s string) (int, bool) {
	var rest string
	var defaultPort string
	switch {
	case strings.HasPrefix(s, "http://"):
		rest, defaultPort = s[len("http://"):], "80"
	case strings.HasPrefix(s, "https://"):
		rest, defaultPort = s[len("https://"):], "443"
	default:
		return 0, false
	}
	hostEnd := strings.IndexAny(rest, "/?#")
	if hostEnd < 0 {
		hostEnd = len(rest)
	}
	host, port, hasPort := strings.Cut(rest[:hostEnd], ":")
	if !plainHost(host) || hasPort && !plainPort(port, defaultPort) {
		return 0, false
	}
	end, ok := plainRest(rest, hostEnd)
	return len(s) - len(rest) + end, ok
}

// plainHost: a host name the standard writes as it is.
func plainHost(h string) bool {
	if h == "" || h[0] == '.' || strings.Contains(h, "..") || strings.Contains(h, "xn--") {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	// A host whose last label is a number is an IPv4 address to the
	// standard: plain only in the dotted form it writes.
	label := strings.TrimSuffix(h, ".")
	label = label[strings.LastIndexByte(label, '.')+1:]
	if label != "" && label[0] >= 'a' && label[0] <= 'z' {
		return true
	}
	return plainIPv4(h) // a last label of digits, or starting with '-', may read as a number
}

func plainIPv4(h string) bool {
	for k := range 4 {
		p, rest, found := strings.Cut(h, ".")
		if found == (k == 3) || p == "" || len(p) > 3 || len(p) > 1 && p[0] == '0' {
			return false
		}
		n := 0
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
			n = n*10 + int(p[i]-'0')
		}
		if n > 255 {
			return false
		}
		h = rest
	}
	return true
}

func plainPort(p, defaultPort string) bool {
	if p == "" || p == defaultPort || len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// plainRest checks s[from:], the path and query, up to a '#', and returns
// where the fragment starts.
func plainRest(s string, from int) (int, bool) {
	for i := from; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '#':
			return i, true
		case c <= ' ' || c >= 0x7f:
			return 0, false
		case strings.IndexByte("\"'<>\\^`{|}", c) >= 0:
			return 0, false
		case c == '%':
			if i+2 >= len(s) || !isHexDigit(s[i+1]) || !isHexDigit(s[i+2]) || s[i+1] == '2' && (s[i+2] == 'e' || s[i+2] == 'E') {
				return 0, false
			}
		case c == '.' && i > 0 && s[i-1] == '/':
			return 0, false // a possible dot segment
		}
	}
	return len(s), true
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
