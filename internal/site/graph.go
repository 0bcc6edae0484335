package site

import (
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The link graph, for crawls (--follow): /g/SIZE/N for N in 1..SIZE is an
// HTML page whose links are computable from N, so a test can work out the
// breadth-first crawl it should give (GraphLinks says what each page links
// to, and GraphRedirect where each redirect goes). Page N links to
//
//   - /g/SIZE/2N, also once more with a fragment (the same URL to a crawler),
//     and 2N+1 by a relative link; on pages with N%3 == 0 that relative link
//     is "../2N+1" under <base href="/g/SIZE/sub/">, so it resolves right only
//     when <base> is read; children past SIZE are left out;
//   - itself, and (N > 1) its parent N/2: cycles;
//   - N == 4: page 7 too, which is a level nearer through page 3; page 3
//     answers 100 ms late, so a crawl that is not breadth first level by
//     level reaches 7 through 4 first, a level too deep;
//   - N%4 == 0: the same page on www.HOST (another host of the same
//     registrable domain); N%6 == 0: the same page on evil-HOST, a look-alike
//     domain that no scope but any reaches (HOST is the request's host name,
//     the port kept: names a test resolves to loopback with --resolve);
//   - N%5 == 0: /g/SIZE/private/N, which /robots.txt disallows (a leaf);
//   - N%7 == 0: /g/SIZE/moved/N, a 302 to /g/SIZE/leaf/N (into scope);
//   - N%11 == 0: /g/SIZE/away/N, a 302 to the same path on evil-HOST (out);
//   - N%13 == 0: /g/SIZE/flaky/N, which answers 503 twice, then a leaf.
//
// Leaves (/g/SIZE/leaf/N, /private/N, /flaky/N) are HTML pages without links.
//
// /robots.txt names the sitemap index /g/sitemap-index.xml, whose two
// sitemaps list the pages SitemapURLs gives: /g/sitemaps/a.xml.gz, gzipped
// and served as application/octet-stream, and /g/sitemaps/b.xml, which
// lists one URL again and one on evil-HOST (out of scope but for any).
type graph struct {
	mu    sync.Mutex
	tries map[string]int // requests per flaky URL
}

func graphPages(mux *http.ServeMux) {
	g := &graph{tries: map[string]int{}}
	mux.HandleFunc("GET /robots.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "User-agent: *\nDisallow: /g/*/private/\n\nSitemap: http://%s/g/sitemap-index.xml\n", r.Host)
	})
	mux.HandleFunc("GET /g/sitemap-index.xml", sitemapIndex)
	mux.HandleFunc("GET /g/sitemaps/{file}", sitemapFile)
	mux.HandleFunc("GET /g/{size}/{n}", g.page)
	mux.HandleFunc("GET /g/{size}/{kind}/{n}", g.other)
}

// GraphLinks returns what page n of a graph of size pages, served at
// origin ("http://HOST:PORT"), links to, as absolute URLs without
// fragments, each once, in page order.
func GraphLinks(origin string, size, n int) []string {
	scheme, hostport, _ := strings.Cut(origin, "://")
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	other := func(name string) string {
		if port != "" {
			name = net.JoinHostPort(name, port)
		}
		return scheme + "://" + name
	}
	base := func(o string) string { return fmt.Sprintf("%s/g/%d/", o, size) }
	var out []string
	add := func(u string) {
		for _, v := range out {
			if v == u {
				return
			}
		}
		out = append(out, u)
	}
	for _, c := range []int{2 * n, 2*n + 1} {
		if c <= size {
			add(base(origin) + strconv.Itoa(c))
		}
	}
	add(base(origin) + strconv.Itoa(n))
	if n == 4 && size >= 7 {
		add(base(origin) + "7")
	}
	if n > 1 {
		add(base(origin) + strconv.Itoa(n/2))
	}
	if n%4 == 0 && !strings.HasPrefix(host, "www.") {
		add(base(other("www."+host)) + strconv.Itoa(n))
	}
	if n%6 == 0 && !strings.HasPrefix(host, "evil-") {
		add(base(other("evil-"+host)) + strconv.Itoa(n))
	}
	for _, k := range []struct {
		every int
		kind  string
	}{{5, "private"}, {7, "moved"}, {11, "away"}, {13, "flaky"}} {
		if n%k.every == 0 {
			add(fmt.Sprintf("%s%s/%d", base(origin), k.kind, n))
		}
	}
	return out
}

// GraphRedirect is where a graph URL redirects to, "" when it does not.
func GraphRedirect(origin string, size int, kind string, n int) string {
	switch kind {
	case "moved":
		return fmt.Sprintf("%s/g/%d/leaf/%d", origin, size, n)
	case "away":
		scheme, hostport, _ := strings.Cut(origin, "://")
		return fmt.Sprintf("%s://evil-%s/g/%d/leaf/%d", scheme, hostport, size, n)
	}
	return ""
}

func graphArgs(w http.ResponseWriter, r *http.Request) (size, n int, ok bool) {
	size, err1 := strconv.Atoi(r.PathValue("size"))
	n, err2 := strconv.Atoi(r.PathValue("n"))
	if err1 != nil || err2 != nil || size < 1 || n < 1 || n > size {
		http.NotFound(w, r)
		return 0, 0, false
	}
	return size, n, true
}

func (g *graph) page(w http.ResponseWriter, r *http.Request) {
	size, n, ok := graphArgs(w, r)
	if !ok {
		return
	}
	origin := "http://" + r.Host
	if n == 3 {
		select {
		case <-time.After(100 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html><html><head><title>Graph %d</title>", n)
	if n%3 == 0 {
		fmt.Fprintf(&b, `<base href="/g/%d/sub/">`, size)
	}
	b.WriteString("</head><body>\n")
	for i, link := range GraphLinks(origin, size, n) {
		href := link
		switch {
		case i == 0 && 2*n <= size: // the first child: absolute path, and again with a fragment
			href = fmt.Sprintf("/g/%d/%d", size, 2*n)
			fmt.Fprintf(&b, "<a href=\"%s#top\">again</a>\n", href)
		case i == 1 && 2*n+1 <= size && n%3 == 0: // the second child, relative to <base>
			href = fmt.Sprintf("../%d", 2*n+1)
		case i == 1 && 2*n+1 <= size:
			href = strconv.Itoa(2*n + 1)
		}
		fmt.Fprintf(&b, "<a href=\"%s\">link</a>\n", href)
	}
	b.WriteString("</body></html>\n")
	fmt.Fprint(w, b.String())
}

func (g *graph) other(w http.ResponseWriter, r *http.Request) {
	size, n, ok := graphArgs(w, r)
	if !ok {
		return
	}
	kind := r.PathValue("kind")
	switch kind {
	case "moved", "away":
		http.Redirect(w, r, GraphRedirect("http://"+r.Host, size, kind, n), http.StatusFound)
		return
	case "flaky":
		g.mu.Lock()
		g.tries[r.Host+r.URL.Path]++
		tries := g.tries[r.Host+r.URL.Path]
		g.mu.Unlock()
		if tries <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
	case "leaf", "private":
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><html><head><title>%s %d</title></head><body>a leaf</body></html>\n", kind, n)
}

// SitemapURLs returns what the site's two sitemaps list, served at origin
// ("http://HOST:PORT"): leaves of the graph of 60 pages, one on evil-HOST,
// and, the second time, one again.
func SitemapURLs(origin string, file string) []string {
	var out []string
	first, last := 41, 50
	if file == "b.xml" {
		first, last = 51, 60
	}
	for n := first; n <= last; n++ {
		out = append(out, fmt.Sprintf("%s/g/60/leaf/%d", origin, n))
	}
	scheme, hostport, _ := strings.Cut(origin, "://")
	if file == "b.xml" {
		out = append(out, fmt.Sprintf("%s/g/60/leaf/41", origin), fmt.Sprintf("%s://evil-%s/g/60/leaf/59", scheme, hostport))
	}
	return out
}

func sitemapIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/xml")
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n"+
		"<sitemap><loc>http://%[1]s/g/sitemaps/a.xml.gz</loc></sitemap>\n<sitemap><loc>http://%[1]s/g/sitemaps/b.xml</loc></sitemap>\n</sitemapindex>\n", r.Host)
}

func sitemapFile(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	if file != "a.xml.gz" && file != "b.xml" {
		http.NotFound(w, r)
		return
	}
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n")
	for _, u := range SitemapURLs("http://"+r.Host, strings.TrimSuffix(file, ".gz")) {
		fmt.Fprintf(&b, "<url><loc>%s</loc><changefreq>daily</changefreq></url>\n", u)
	}
	b.WriteString("</urlset>\n")
	if file == "b.xml" {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, b.String())
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	gz := gzip.NewWriter(w)
	fmt.Fprint(gz, b.String())
	gz.Close() // a failure is the client's going away
}
