package crawl

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sluice/record"
)

// The seen set answers exactly: every URL new once, then seen, across the
// table's growths (memory only), and across runs on disk and their merges
// (a bound of 1,000), and when the disk refuses (the set stays in memory).
func TestSeenSet(t *testing.T) {
	const n = 200_000
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		set    seenSet
		runs   int // at most
		errors bool
	}{
		{"memory", newSeenSet("", 0), 0, false},
		{"disk", newSeenSet(dir, 1000), 8, false}, // 200 runs of 1,000 merged: log₂(200)+1
		{"no disk", newSeenSet(filepath.Join(t.TempDir(), "missing"), 1000), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &tc.set
			defer s.close()
			url := func(i int) string { return fmt.Sprintf("https://example.com/page/%d", i) }
			for i := range n {
				if !s.add(url(i)) {
					t.Fatalf("page %d: seen before it was added", i)
				}
				if i%7 == 0 && s.add(url(i/2)) { // an older one, from memory or a run
					t.Fatalf("page %d: new again after page %d", i/2, i)
				}
			}
			for i := range n {
				if s.add(url(i)) {
					t.Fatalf("page %d: new the second time", i)
				}
			}
			if s.len() != n {
				t.Errorf("len %d; want %d", s.len(), n)
			}
			if len(s.runs) > tc.runs {
				t.Errorf("%d runs; want at most %d", len(s.runs), tc.runs)
			}
			if (s.err != nil) != tc.errors {
				t.Errorf("err %v; want an error: %v", s.err, tc.errors)
			}
			inRuns := 0
			for _, r := range s.runs {
				inRuns += r.n
				if per := float64(8*len(r.bloom)+16*len(r.first)) / float64(r.n); per > 1.4 {
					t.Errorf("a run keeps %.2f bytes a URL in memory; want at most 1.4", per)
				}
			}
			if inRuns+s.table.n != n {
				t.Errorf("%d in runs and %d in the table; want %d in all", inRuns, s.table.n, n)
			}
			if per := float64(16*len(s.table.slots)) / float64(s.table.n); len(s.runs) == 0 && per > 28 {
				t.Errorf("%.1f bytes a URL; want 18 to 28", per)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("left behind: %s", entries[0].Name()) // runs are unlinked once made
	}
}

// The task queue keeps FIFO order through memory, disk and back, for
// pushes and pops interleaved, and removes its file when closed.
func TestTaskQueueSpills(t *testing.T) {
	dir := t.TempDir()
	q := newTaskQueue(dir, 10, 7)
	next, want := 0, 0
	push := func(k int) {
		for range k {
			p := pending{url: fmt.Sprintf("https://h%d.example/%d", next%3, next), host: "h", origin: 1, depth: 2, parent: int64(next) * 3, hops: next % 4, scope: next % 5}
			if err := q.push(p); err != nil {
				t.Fatal(err)
			}
			next++
		}
	}
	pop := func(k int) {
		for range k {
			p, ok, err := q.pop()
			if err != nil || !ok {
				t.Fatalf("pop %d: %v %v", want, ok, err)
			}
			w := pending{url: fmt.Sprintf("https://h%d.example/%d", want%3, want), host: "h", origin: 1, depth: 2, parent: int64(want) * 3, hops: want % 4, scope: want % 5}
			if p != w {
				t.Fatalf("pop = %+v; want %+v", p, w)
			}
			want++
		}
	}
	push(100)
	if q.spilled == 0 {
		t.Fatal("nothing went to disk past the memory bound")
	}
	if mem := q.head.Len() + q.tail.Len(); mem > 10+7 {
		t.Errorf("%d tasks in memory; want at most 17", mem)
	}
	pop(35)
	push(50)
	pop(115)
	if _, ok, _ := q.pop(); ok || q.len() != 0 {
		t.Errorf("queue not empty after every task was taken: len %d", q.len())
	}
	push(30)
	pop(30)
	if err := q.close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) > 0 {
		t.Errorf("files left after close: %v", left)
	}
}

// A queue that cannot write its file keeps its tasks in memory: none lost.
func TestTaskQueueWithoutDisk(t *testing.T) {
	q := newTaskQueue(filepath.Join(t.TempDir(), "gone"), 2, 2)
	var failed error
	for i := range 10 {
		if err := q.push(pending{url: fmt.Sprint(i)}); err != nil {
			failed = err
		}
	}
	if failed == nil {
		t.Fatal("no error for a spill directory that does not exist")
	}
	for i := range 10 {
		p, ok, err := q.pop()
		if !ok || err != nil || p.url != fmt.Sprint(i) {
			t.Fatalf("pop %d = %q %v %v", i, p.url, ok, err)
		}
	}
}

func TestScope(t *testing.T) {
	for _, tc := range []struct {
		kind, seed string
		in, out    []string
	}{
		{ScopeHost, "http://Example.com/a/b",
			[]string{"https://example.com/x", "http://example.com:80/y"},
			[]string{"http://www.example.com/", "http://example.com:8080/", "http://example.org/"}},
		{ScopeHost, "http://127.0.0.1:8080/",
			[]string{"https://127.0.0.1:8080/z", "http://user:pw@127.0.0.1:8080/", "http://127.0.0.1:8080?q", "http://127.0.0.1:8080#f"},
			[]string{"http://127.0.0.1/", "http://127.0.0.2:8080/"}},
		{ScopeDomain, "https://www.example.co.uk/",
			[]string{"http://example.co.uk/", "https://a.b.example.co.uk:8443/"},
			[]string{"https://evilexample.co.uk/", "https://co.uk/", "https://example.com/"}},
		{ScopeHost, "http://[::1]:8080/",
			[]string{"http://[::1]:8080/a", "http://u@[::1]:8080/"},
			[]string{"http://[::1]/", "http://[::2]:8080/", "http://127.0.0.1:8080/"}},
		{ScopeDomain, "http://[::1]:8080/",
			[]string{"http://[::1]/a", "https://[::1]:9/"},
			[]string{"http://[::2]/"}},
		{ScopeDomain, "http://blog.example.com/",
			[]string{"http://example.com/", "http://shop.example.com/"},
			[]string{"http://evilexample.com/", "http://example.com.evil.net/"}},
		{ScopePrefix, "https://example.com/docs/intro?x=1",
			[]string{"https://example.com/docs/", "https://example.com/docs/a/b"},
			[]string{"https://example.com/doc", "http://example.com/docs/", "https://example.com/other/docs/"}},
		{ScopePrefix, "https://example.com",
			[]string{"https://example.com/", "https://example.com/anything"},
			[]string{"https://example.com.evil.net/"}},
		{ScopeAny, "https://example.com/", []string{"http://anything.example.org/"}, nil},
	} {
		seed, _ := url.Parse(tc.seed)
		href, _ := record.NewLinkBase(tc.seed, "").Resolve(tc.seed)
		s := ScopeOf(tc.kind, href, seed)
		for _, link := range tc.in {
			if scheme, host, _ := linkHost(link); !inScope(&s, link, scheme, host) {
				t.Errorf("%s scope of %s (%+v): %s is out; want in", tc.kind, tc.seed, s, link)
			}
		}
		for _, link := range tc.out {
			if scheme, host, _ := linkHost(link); inScope(&s, link, scheme, host) {
				t.Errorf("%s scope of %s (%+v): %s is in; want out", tc.kind, tc.seed, s, link)
			}
		}
	}
}

// Levels go in order: none of depth 1 while one of depth 0 is pending or
// out, but a task gone into a retry no longer holds its level; the run is
// outstanding until every task is done.
func TestLevels(t *testing.T) {
	l := levels{dir: t.TempDir(), mem: 10}
	for _, p := range []pending{{url: "a", depth: 0}, {url: "b", depth: 0}, {url: "c", depth: 1}} {
		if err := l.push(p); err != nil {
			t.Fatal(err)
		}
	}
	pop := func() string {
		p, ok, err := l.pop()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return ""
		}
		return p.url
	}
	if a, b := pop(), pop(); a != "a" || b != "b" {
		t.Fatalf("popped %q, %q; want a, b", a, b)
	}
	if got := pop(); got != "" {
		t.Fatalf("popped %q while level 0 is out; want nothing", got)
	}
	l.done(0, false)
	l.retry(0) // b waits out a backoff
	if got := pop(); got != "c" {
		t.Fatalf("popped %q; want c once level 0 has only a retry out", got)
	}
	l.done(1, false)
	if n := l.outstanding(); n != 1 {
		t.Errorf("outstanding %d; want 1 (the retry)", n)
	}
	pop() // levels 0 and 1 are done with, a retry or not: their buffers go
	for d, q := range l.queues {
		if c := q.head.Cap() + q.tail.Cap(); c > 0 {
			t.Errorf("level %d keeps room for %d tasks while a retry is out; want none", d, c)
		}
	}
	l.done(0, true)
	if n := l.outstanding(); n != 0 || l.pending() != 0 {
		t.Errorf("outstanding %d, pending %d; want none", n, l.pending())
	}
}

// readSitemap reads a sitemap's <loc>s with their element, gzipped or
// not, and never panics on what a server sends.
func TestReadSitemap(t *testing.T) {
	doc := `<?xml version="1.0"?><urlset><url><loc> https://a.test/1 </loc></url><url><lastmod>x</lastmod><loc>https://a.test/2</loc></url></urlset>`
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	gz.Write([]byte(`<sitemapindex><sitemap><loc>https://a.test/s.xml</loc></sitemap></sitemapindex>`))
	gz.Close()
	for _, tc := range []struct {
		body []byte
		want string
	}{
		{[]byte(doc), "url= https://a.test/1 ;url=https://a.test/2;"},
		{buf.Bytes(), "sitemap=https://a.test/s.xml;"},
		{[]byte("<urlset><url><loc>https://a.test/1</loc></url><url><loc>https://a"), "url=https://a.test/1;"},
		{[]byte("not xml"), ""},
	} {
		var got strings.Builder
		readSitemap(tc.body, func(parent, loc string) { fmt.Fprintf(&got, "%s=%s;", parent, loc) })
		if got.String() != tc.want {
			t.Errorf("readSitemap(%.40q) = %q; want %q", tc.body, got.String(), tc.want)
		}
	}
}

func FuzzReadSitemap(f *testing.F) {
	f.Add([]byte(`<urlset><url><loc>https://a.test/</loc></url></urlset>`))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		n := 0
		readSitemap(body, func(string, string) { n++ })
		if n > SitemapMaxURLs {
			t.Fatalf("%d locs; the cap is %d", n, SitemapMaxURLs)
		}
	})
}
