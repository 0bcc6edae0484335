// Command collycrawl is bench/crawl.sh's colly reference: a crawl of one
// seed's host, breadth first to -depth, with colly's asynchronous
// collector at -c parallel requests and its in-memory storage (the
// visited set), tuned as its documentation advises. It writes one line per
// page fetched. A module of its own, so that sluice does not depend on colly.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/gocolly/colly/v2"
)

func main() {
	c := flag.Int("c", 64, "parallel requests")
	depth := flag.Int("depth", 3, "links followed from the seed at most")
	flag.Parse()
	seed := flag.Arg(0)
	u, err := url.Parse(seed)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	defer out.Flush()
	var mu sync.Mutex
	col := colly.NewCollector(
		colly.Async(true),
		colly.MaxDepth(*depth+1), // colly counts the seed as depth 1
		colly.AllowedDomains(u.Hostname()),
		colly.IgnoreRobotsTxt(),
	)
	col.WithTransport(&http.Transport{MaxIdleConns: 2 * *c, MaxIdleConnsPerHost: *c, IdleConnTimeout: 90 * time.Second})
	col.SetRequestTimeout(10 * time.Second)
	if err := col.Limit(&colly.LimitRule{DomainGlob: "*", Parallelism: *c}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	col.OnHTML("a[href]", func(e *colly.HTMLElement) {
		// Resolved by colly (against <base> too); without the fragment,
		// which colly would otherwise fetch as another page.
		link, err := url.Parse(e.Request.AbsoluteURL(e.Attr("href")))
		if err != nil || link.Host == "" {
			return
		}
		link.Fragment = ""
		e.Request.Visit(link.String()) // colly skips what it visited
	})
	col.OnResponse(func(r *colly.Response) {
		mu.Lock()
		fmt.Fprintf(out, "%d %d %s\n", r.StatusCode, r.Request.Depth-1, r.Request.URL)
		mu.Unlock()
	})
	col.OnError(func(r *colly.Response, err error) {
		mu.Lock()
		fmt.Fprintf(out, "%d %d %s error\n", r.StatusCode, r.Request.Depth-1, r.Request.URL)
		mu.Unlock()
	})
	if err := col.Visit(seed); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	col.Wait()
}
