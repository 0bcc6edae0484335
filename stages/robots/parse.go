package robots

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxLine is the longest line read, in octets; the rest of a longer line
// is cut off (Google's parser cuts at the same length, eight times the
// 2,083 octets of the longest URL browsers took).
const MaxLine = 2083*8 - 1

// maxCrawlDelay bounds a Crawl-delay: a value past it is read as it.
const maxCrawlDelay = 24 * time.Hour

// File is a parsed robots.txt. It is not changed after Parse and is safe
// for concurrent use.
type File struct {
	groups   []*group
	Sitemaps []string // the Sitemap lines' values, in the order written
}

// A group is one or more user-agent lines and the rules after them.
type group struct {
	agents     []string // product tokens in lower case; "*" for the global group
	rules      []rule
	crawlDelay time.Duration
	hasDelay   bool
}

// A rule is one Allow or Disallow line. Its pattern is kept percent-encoded
// (octets outside ASCII encoded, %xx in upper case) and split at each *.
type rule struct {
	allow    bool
	length   int      // octets of the encoded pattern, * and $ included: the rule's priority
	parts    []string // the literal runs between the *s; parts[0] must start the path
	anchored bool     // the pattern ended in $: the last part must end it
}

// Parse reads a robots.txt line by line, as RFC 9309 says: a line that
// does not parse is skipped and every other line still counts. Lines end
// at LF, CR or CRLF; # starts a comment anywhere on a line; a UTF-8 byte
// order mark at the start is skipped. Keys are matched without regard to
// case, and a line that has no colon but exactly two words is read as
// "key: value" (a common slip that Google reads too). Beyond the RFC it
// reads Sitemap and Crawl-delay, and the frequent misspellings of keys
// that Google accepts (useragent, user agent, dissallow, dissalow,
// disalow, diasllow, disallaw).
//
// Rules before the first user-agent line belong to no group and are
// dropped. Consecutive user-agent lines, with nothing but Sitemap,
// Crawl-delay, unknown or empty lines between them, open one group; a
// user-agent line after a rule opens the next.
func Parse(body []byte) *File {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	f := &File{}
	var cur *group
	ruled := false // cur has had a rule: the next user-agent line opens a new group
	for len(body) > 0 {
		var line []byte
		line, body = nextLine(body)
		key, value, ok := keyValue(line)
		if !ok {
			continue
		}
		switch keyOf(key) {
		case keyUserAgent:
			if cur == nil || ruled {
				cur = &group{}
				f.groups = append(f.groups, cur)
				ruled = false
			}
			cur.agents = append(cur.agents, agentOf(value))
		case keyAllow, keyDisallow:
			if cur == nil {
				continue
			}
			ruled = true
			allow := keyOf(key) == keyAllow
			cur.add(allow, value)
			if allow {
				if dir, ok := indexDirectory(value); ok {
					cur.add(true, dir)
				}
			}
		case keyCrawlDelay:
			if d, ok := parseDelay(value); ok && cur != nil && !cur.hasDelay {
				cur.crawlDelay, cur.hasDelay = d, true
			}
		case keySitemap:
			if value != "" {
				f.Sitemaps = append(f.Sitemaps, value)
			}
		}
	}
	return f
}

// nextLine splits off body's first line, cut at MaxLine.
func nextLine(body []byte) (line, rest []byte) {
	i := bytes.IndexAny(body, "\r\n")
	if i < 0 {
		line, rest = body, nil
	} else {
		line, rest = body[:i], body[i+1:]
		if body[i] == '\r' && len(rest) > 0 && rest[0] == '\n' {
			rest = rest[1:]
		}
	}
	if len(line) > MaxLine {
		line = line[:MaxLine]
	}
	return line, rest
}

// keyValue reads "key: value" from a line, comments and surrounding
// blanks taken off; a line without a colon is read as key and value only
// when it is exactly two words.
func keyValue(line []byte) (key, value string, ok bool) {
	if i := bytes.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	s := strings.Trim(string(line), " \t")
	k, v, found := strings.Cut(s, ":")
	if !found {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return "", "", false
		}
		k, v = s[:i], strings.TrimLeft(s[i:], " \t")
		if strings.ContainsAny(v, " \t") {
			return "", "", false
		}
	}
	k = strings.Trim(k, " \t")
	return k, strings.Trim(v, " \t"), k != ""
}

type key int

const (
	keyUnknown key = iota
	keyUserAgent
	keyAllow
	keyDisallow
	keyCrawlDelay
	keySitemap
)

var keys = map[string]key{
	"user-agent": keyUserAgent, "useragent": keyUserAgent, "user agent": keyUserAgent,
	"allow":    keyAllow,
	"disallow": keyDisallow, "dissallow": keyDisallow, "dissalow": keyDisallow,
	"disalow": keyDisallow, "diasllow": keyDisallow, "disallaw": keyDisallow,
	"crawl-delay": keyCrawlDelay,
	"sitemap":     keySitemap, "site-map": keySitemap,
}

func keyOf(k string) key { return keys[strings.ToLower(k)] }

// agentOf is the product token a user-agent line names, in lower case:
// "*" for the global group ("*" alone or followed by blanks), otherwise
// the value up to its first character that a product token cannot hold
// (RFC 9309 2.2.1: letters, "_" and "-"), so "Foo Bar" and "Foo/1.2"
// both name Foo.
func agentOf(v string) string {
	if v == "*" || strings.HasPrefix(v, "* ") || strings.HasPrefix(v, "*\t") {
		return "*"
	}
	end := strings.IndexFunc(v, func(c rune) bool { return !isTokenChar(c) })
	if end < 0 {
		end = len(v)
	}
	return strings.ToLower(v[:end])
}

func isTokenChar(c rune) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-'
}

// indexDirectory is Google's reading of an Allow for a directory's index
// page: "Allow: /d/index.html" (or index.htm, index.html5...) also allows
// "/d/" itself, as "/d/$". RFC 9309 is silent; sluice follows Google, as
// site owners check their files with Google's tools.
func indexDirectory(pattern string) (string, bool) {
	i := strings.LastIndexByte(pattern, '/')
	if i < 0 || !strings.HasPrefix(pattern[i:], "/index.htm") {
		return "", false
	}
	return pattern[:i+1] + "$", true
}

func parseDelay(v string) (time.Duration, bool) {
	s, err := strconv.ParseFloat(v, 64)
	if err != nil || s < 0 || math.IsNaN(s) {
		return 0, false
	}
	if s >= maxCrawlDelay.Seconds() {
		return maxCrawlDelay, true
	}
	return time.Duration(s * float64(time.Second)), true
}

// add appends an Allow or Disallow rule; an empty pattern matches nothing
// (RFC 9309: "Disallow:" with no path disallows nothing) and is left out.
func (g *group) add(allow bool, pattern string) {
	if pattern == "" {
		return
	}
	p := Encode(pattern)
	r := rule{allow: allow, length: len(p)}
	if strings.HasSuffix(p, "$") {
		r.anchored, p = true, p[:len(p)-1]
	}
	r.parts = strings.Split(p, "*")
	g.rules = append(g.rules, r)
}

// Encode percent-encodes what RFC 9309 2.2.2 compares encoded: each octet
// outside ASCII becomes %XX, and the hex digits of a %xx already there are
// upper-cased, so a rule and a path that differ only in those match. Both
// patterns and paths go through it.
func Encode(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || c == '%' && i+2 < len(s) && (isLowerHex(s[i+1]) || isLowerHex(s[i+2])) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte('%')
			b.WriteByte(upper(s[i+1]))
			b.WriteByte(upper(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool      { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
func isLowerHex(c byte) bool { return 'a' <= c && c <= 'f' }
func upper(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// Rules are the rules that hold for one product token: those of every
// group that names it, or, where none does, those of every "*" group
// (RFC 9309 2.2.1: matching groups are combined). A zero Rules allows
// everything.
type Rules struct {
	rules      []rule
	CrawlDelay time.Duration // the first Crawl-delay of those groups; 0 for none
}

// For returns the rules for product token (matched without regard to
// case, the whole token: "FooBot" is not "Foo").
func (f *File) For(token string) Rules {
	token = strings.ToLower(token)
	pick := func(name string) (rs Rules, found bool) {
		delaySet := false
		for _, g := range f.groups {
			for _, a := range g.agents {
				if a != name {
					continue
				}
				found = true
				rs.rules = append(rs.rules, g.rules...)
				if g.hasDelay && !delaySet {
					rs.CrawlDelay, delaySet = g.crawlDelay, true
				}
				break
			}
		}
		return rs, found
	}
	if token != "" && token != "*" {
		if rs, ok := pick(token); ok {
			return rs
		}
	}
	rs, _ := pick("*")
	return rs
}

// Allowed reports whether path (the path and query of a URL as it is
// requested, "/" for none) may be fetched: the longest matching pattern
// wins, by its octets as written after encoding; of an Allow and a
// Disallow equally long, Allow (RFC 9309 2.2.2). No match allows.
func (rs Rules) Allowed(path string) bool {
	if path == "" {
		path = "/"
	}
	path = Encode(path)
	allow, disallow := -1, -1
	for i := range rs.rules {
		r := &rs.rules[i]
		best := &disallow
		if r.allow {
			best = &allow
		}
		if r.length > *best && r.matches(path) {
			*best = r.length
		}
	}
	return disallow <= allow
}

// matches reports whether the rule's pattern matches path from its first
// octet: * stands for any run of octets, a final $ for the path's end. The
// literal runs between stars are found leftmost first, which leaves the
// most room for the runs after them, so no backtracking is needed.
func (r *rule) matches(path string) bool {
	first := r.parts[0]
	if !strings.HasPrefix(path, first) {
		return false
	}
	rest := path[len(first):]
	if len(r.parts) == 1 {
		return !r.anchored || rest == ""
	}
	last := len(r.parts) - 1
	for _, p := range r.parts[1:last] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	if r.anchored {
		return strings.HasSuffix(rest, r.parts[last])
	}
	return strings.Contains(rest, r.parts[last])
}
