// Command plaincrawl is bench/crawl.sh's plain reference: the crawler one
// writes with net/http and goquery in an afternoon. Breadth first, level by
// level: a fixed pool of -c workers fetches a level's URLs, parses each HTML
// page for its links (against <base href> when there is one), and keeps
// those of the seed's host not seen before, in a map, for the next level.
// No politeness, no retries, no robots.txt, no accounting: the floor that
// sluice's crawl is measured against. One line per page fetched.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/PuerkitoBio/goquery"
)

func main() {
	c := flag.Int("c", 64, "parallel requests")
	depth := flag.Int("depth", 3, "links followed from the seed at most")
	flag.Parse()
	seed, err := url.Parse(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 2 * *c, MaxIdleConnsPerHost: *c},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != seed.Host || len(via) >= 10 {
				return http.ErrUseLastResponse // out of the crawl: not followed
			}
			return nil
		},
	}
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	defer out.Flush()
	seen := map[string]bool{seed.String(): true}
	level := []string{seed.String()}
	var mu sync.Mutex
	for d := 0; d <= *depth && len(level) > 0; d++ {
		var next []string
		urls := make(chan string)
		var wg sync.WaitGroup
		for range *c {
			wg.Go(func() {
				for u := range urls {
					status, links := fetch(client, u)
					mu.Lock()
					fmt.Fprintf(out, "%d %d %s\n", status, d, u)
					if d < *depth {
						for _, l := range links {
							if lu, err := url.Parse(l); err == nil && lu.Host == seed.Host && !seen[l] {
								seen[l] = true
								next = append(next, l)
							}
						}
					}
					mu.Unlock()
				}
			})
		}
		for _, u := range level {
			urls <- u
		}
		close(urls)
		wg.Wait()
		level = next
	}
}

// fetch gets u and returns its status and, for HTML, its absolute
// http(s) links without fragments.
func fetch(client *http.Client, u string) (int, []string) {
	resp, err := client.Get(u)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	doc, err := goquery.NewDocumentFromReader(io.LimitReader(resp.Body, 10<<20))
	if err != nil {
		return resp.StatusCode, nil
	}
	base := resp.Request.URL
	if href, ok := doc.Find("base[href]").First().Attr("href"); ok {
		if b, err := base.Parse(href); err == nil {
			base = b
		}
	}
	var links []string
	doc.Find("a[href]").Each(func(_ int, s *goquery.Selection) {
		l, err := base.Parse(s.AttrOr("href", ""))
		if err != nil || (l.Scheme != "http" && l.Scheme != "https") {
			return
		}
		l.Fragment = ""
		links = append(links, l.String())
	})
	return resp.StatusCode, links
}
