package robots

import (
	"testing"
	"time"
)

// The findings of the RFC 9309 review, one case each: what temoto/robotstxt
// got wrong is what these assert.
func TestRules(t *testing.T) {
	for _, tc := range []struct {
		name, file, token, path string
		want                    bool
	}{
		{"rule before any user-agent is dropped, the rest still counts",
			"Disallow: /x\nUser-agent: *\nDisallow: /\n", "sluice", "/y", false},
		{"a bad Crawl-delay is skipped, the rest still counts",
			"User-agent: *\nCrawl-delay: soon\nDisallow: /\n", "sluice", "/y", false},
		{"a star is anchored at the path's start",
			"User-agent: *\nDisallow: /a/*/b\n", "sluice", "/z/a/y/b", true},
		{"a star matches inside",
			"User-agent: *\nDisallow: /a/*/b\n", "sluice", "/a/y/z/b", false},
		{"a dollar is anchored at the start too",
			"User-agent: *\nDisallow: /private$\n", "sluice", "/x/private", true},
		{"a dollar ends the path",
			"User-agent: *\nDisallow: /private$\n", "sluice", "/private", false},
		{"a dollar ends the path, not a prefix of it",
			"User-agent: *\nDisallow: /private$\n", "sluice", "/private/x", true},
		{"equal length: Allow wins, written second",
			"User-agent: *\nDisallow: /page\nAllow: /page\n", "sluice", "/page", true},
		{"equal length: Allow wins, written first",
			"User-agent: *\nAllow: /page\nDisallow: /page\n", "sluice", "/page", true},
		{"a wildcard rule counts its octets as written: /*.html is 7, /abcdefg wins at 8",
			"User-agent: *\nAllow: /*.html\nDisallow: /abcdefg\n", "sluice", "/abcdefg.html", false},
		{"... and /abcdef at 7 ties, Allow wins",
			"User-agent: *\nAllow: /*.html\nDisallow: /abcdef\n", "sluice", "/abcdef.html", true},
		{"a non-ASCII rule matches the encoded path",
			"User-agent: *\nDisallow: /café\n", "sluice", "/caf%C3%A9", false},
		{"percent-encoding's hex case does not matter",
			"User-agent: *\nDisallow: /caf%c3%a9\n", "sluice", "/caf%C3%A9", false},
		{"a # inside a value starts a comment",
			"User-agent: *\nDisallow: /a#b\n", "sluice", "/a", false},
		{"the product token is matched whole, not as a prefix",
			"User-agent: sluicebot\nDisallow: /\n", "sluice", "/", true},
		{"... without regard to case",
			"User-agent: SLUICE\nDisallow: /\n", "sluice", "/", false},
		{"groups that name the token are combined",
			"User-agent: sluice\nDisallow: /a\n\nUser-agent: other\nDisallow: /\n\nUser-agent: sluice\nDisallow: /b\n", "sluice", "/b", false},
		{"a named group hides the global one",
			"User-agent: *\nDisallow: /\n\nUser-agent: sluice\nDisallow: /private\n", "sluice", "/open", true},
		{"an empty Disallow disallows nothing",
			"User-agent: *\nDisallow:\n", "sluice", "/", true},
		{"CR line ends",
			"User-agent: *\rDisallow: /\r", "sluice", "/x", false},
		{"the query is matched too",
			"User-agent: *\nDisallow: /*?session=\n", "sluice", "/page?session=1", false},
		{"no file allows everything", "", "sluice", "/", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Parse([]byte(tc.file)).For(tc.token).Allowed(tc.path); got != tc.want {
				t.Errorf("Allowed(%q) = %v; want %v, with\n%s", tc.path, got, tc.want, tc.file)
			}
		})
	}
}

func TestCrawlDelayAndSitemaps(t *testing.T) {
	f := Parse([]byte("Sitemap: https://a.test/s1.xml\nUser-agent: *\nCrawl-delay: 1.5\nCrawl-delay: 9\n" +
		"User-agent: sluice\nDisallow: /x\n\nUser-agent: slow\nCrawl-delay: 1e9\nsitemap: https://a.test/s2.xml\n"))
	for token, want := range map[string]time.Duration{"other": 1500 * time.Millisecond, "sluice": 1500 * time.Millisecond, "slow": maxCrawlDelay} {
		if got := f.For(token).CrawlDelay; got != want {
			t.Errorf("For(%q).CrawlDelay = %v; want %v", token, got, want)
		}
	}
	if len(f.Sitemaps) != 2 || f.Sitemaps[1] != "https://a.test/s2.xml" {
		t.Errorf("Sitemaps = %q", f.Sitemaps)
	}
}

// The parser reads anything: it never panics, and a path it is asked
// about gets an answer whatever the file holds.
func FuzzParse(f *testing.F) {
	f.Add([]byte("User-agent: *\nDisallow: /a/*/b$\nAllow: /a\n"), "/a/x/b")
	f.Add([]byte("\xef\xbb\xbfuser-agent FooBot\r\ndisallow /\r\nCrawl-delay: x\n"), "/%e3%83%84?q")
	f.Fuzz(func(t *testing.T, file []byte, path string) {
		rs := Parse(file).For("foobot")
		rs.Allowed(path)
		if Parse(file).For("foobot").Allowed(path) != rs.Allowed(path) {
			t.Fatal("two parses of one file disagree")
		}
	})
}
