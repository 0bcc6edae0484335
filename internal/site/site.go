// Package site is a small local web site for sluice's examples, end-to-end
// tests and benchmarks, so they run offline against loopback only.
//
//	/                 an HTML index linking to /page/1 ... /page/20
//	/page/N           an HTML page titled "Page N" linking to its neighbours
//	/status/CODE      an empty response with that status
//	/slow/MS          waits MS milliseconds (or until the client goes away), then 200
//	/bytes/N          N bytes of text
//	/redirect/N       a chain of N redirects ending at /page/1
//	/hello            a ~100-byte text body, for throughput runs
//	/article/N        a ~100 KB HTML page with ~500 links, for parsing runs
//	/broken-links     a page with good links, missing pages and a server error
//	/limited/N/...    200, or 429 once the site has answered N requests under
//	                  /limited/N/ within the last second (a rate-limited API)
//	/api/...          a JSON API: see api.go
//	/cache/KIND/N     pages with and without validators, for --cache: see cache.go
//	/quota/STYLE/N/W/ an API allowing N requests per W seconds that says so in
//	                  rate-limit fields of STYLE (ietf, draft, x): see quota.go
//	/g/SIZE/N         a link graph of SIZE pages for crawls, with cycles, relative
//	                  and <base> links, other hosts, redirects, a part that
//	                  /robots.txt disallows, pages that fail twice: see graph.go
//	/app/...          a single-page app whose content only its scripts build,
//	                  for --render: see app.go
package site

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Pages is how many pages the index links to.
const Pages = 20

// Handler returns the site's handler. It is safe for concurrent use.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", index)
	mux.HandleFunc("GET /page/{n}", page)
	mux.HandleFunc("GET /status/{code}", status)
	mux.HandleFunc("GET /slow/{ms}", slow)
	mux.HandleFunc("GET /bytes/{n}", byteCount)
	mux.HandleFunc("GET /redirect/{n}", redirect)
	mux.HandleFunc("GET /hello", hello)
	mux.HandleFunc("GET /article/{n}", article)
	mux.HandleFunc("GET /broken-links", brokenLinks)
	lim := &limited{recent: map[int][]time.Time{}}
	mux.HandleFunc("GET /limited/{n}/", lim.serve)
	mux.HandleFunc("GET /limited/{n}", lim.serve)
	api(mux)
	cachePages(mux)
	quotaPages(mux)
	graphPages(mux)
	appPages(mux)
	return mux
}

// limited answers 429 past N requests per second, counted per N.
type limited struct {
	mu     sync.Mutex
	recent map[int][]time.Time
}

func (l *limited) serve(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		http.Error(w, "bad limit", http.StatusBadRequest)
		return
	}
	now := time.Now()
	l.mu.Lock()
	times := l.recent[n]
	for len(times) > 0 && now.Sub(times[0]) >= time.Second {
		times = times[1:]
	}
	over := len(times) >= n
	if !over {
		times = append(times, now)
	}
	l.recent[n] = times
	l.mu.Unlock()
	if over {
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	fmt.Fprintln(w, "ok")
}

func index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><title>sluice test site</title></head><body><ul>\n")
	for i := 1; i <= Pages; i++ {
		fmt.Fprintf(&b, "<li><a href=\"/page/%d\">Page %d</a></li>\n", i, i)
	}
	b.WriteString("</ul></body></html>\n")
	fmt.Fprint(w, b.String())
}

func page(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || n > Pages {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><html><head><title>Page %d</title></head><body>\n"+
		"<h1>Page %d</h1><a href=\"/page/%d\">next</a> <a href=\"/\">home</a>\n</body></html>\n", n, n, n%Pages+1)
}

func status(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.PathValue("code"))
	if err != nil || code < 200 || code > 599 {
		http.Error(w, "bad status", http.StatusBadRequest)
		return
	}
	w.WriteHeader(code)
}

func slow(w http.ResponseWriter, r *http.Request) {
	ms, err := strconv.Atoi(r.PathValue("ms"))
	if err != nil || ms < 0 {
		http.Error(w, "bad delay", http.StatusBadRequest)
		return
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		fmt.Fprintln(w, "slow")
	case <-r.Context().Done():
	}
}

func byteCount(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n > 1<<30 {
		http.Error(w, "bad size", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(n))
	chunk := []byte(strings.Repeat("sluice\n", 1024))
	for n > 0 {
		k := min(n, len(chunk))
		if _, err := w.Write(chunk[:k]); err != nil {
			return
		}
		n -= k
	}
}

func redirect(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		http.Error(w, "bad count", http.StatusBadRequest)
		return
	}
	to := "/page/1" // the n-th redirect
	if n > 1 {
		to = "/redirect/" + strconv.Itoa(n-1)
	}
	w.Header().Set("Location", to)
	w.WriteHeader(http.StatusFound)
}

var helloBody = []byte(strings.Repeat("hello from the sluice test site ", 3) + "\n")

func hello(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.Write(helloBody)
}

// articleBody is the ~100 KB page /article/N serves (N only changes its title).
var articleBody = func() string {
	var b strings.Builder
	b.WriteString(`<nav>`)
	for i := range 50 {
		fmt.Fprintf(&b, `<a href="/section/%d">Section %d</a> `, i, i)
	}
	b.WriteString("</nav><main>")
	for i := 0; b.Len() < 100_000; i++ {
		fmt.Fprintf(&b, `<p>Paragraph %d with some ordinary text, a <a href="/article/%d#top">link</a>, `+
			`<em>emphasis</em> and <a href="https://other.example.test/%d">another</a>.</p>`, i, i, i)
	}
	b.WriteString("</main></body></html>\n")
	return b.String()
}()

// ArticlePage is the page /article/NAME serves: about 100 KB of HTML with a
// title, metadata and some 500 links. Benchmarks parse it too.
func ArticlePage(name string) []byte {
	return []byte(fmt.Sprintf(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Article %s</title>`+
		`<meta name="description" content="a page for parsing runs"></head><body>`, name) + articleBody)
}

func article(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(ArticlePage(r.PathValue("n")))
}

func brokenLinks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, `<!doctype html><title>Links, some broken</title><ul>`+
		`<li><a href="/page/1">fine</a><li><a href="/page/2">fine too</a>`+
		`<li><a href="/page/99">missing page</a><li><a href="/status/500">server error</a>`+
		`<li><a href="/no/such/path">missing path</a><li><a href="/redirect/2">redirected, fine</a></ul>`)
}
