// Package plain is the "plain Go" reference for sluice's benchmarks: a fixed
// pool of workers on one tuned http.Client, reading URL lines and writing
// one small JSON line per URL. It does no input validation, no error
// classification and no accounting: it is the floor that sluice's extra work
// is measured against. With extract it also parses each body with goquery
// for the title and the absolute links, the plain counterpart of sluice
// --extract title,links. bench/plainpool runs it as a command; the Go
// benchmarks in sluice's main package run it beside the stage chain.
package plain

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/PuerkitoBio/goquery"
)

// parse returns the page's title and how many absolute links it has.
func parse(base *url.URL, body []byte) (string, int) {
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		return "", 0
	}
	var links []string
	doc.Find("a[href]").Each(func(_ int, s *goquery.Selection) {
		if u, err := base.Parse(s.AttrOr("href", "")); err == nil {
			links = append(links, u.String())
		}
	})
	return doc.Find("title").First().Text(), len(links)
}

// Run fetches every URL line of in with c workers and writes a JSON line per
// URL to out.
func Run(in io.Reader, out io.Writer, c int, extract bool) error {
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 2 * c, MaxIdleConnsPerHost: c, ForceAttemptHTTP2: true},
	}
	defer client.CloseIdleConnections()
	urls := make(chan string, c)
	lines := make(chan string, c)
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for u := range urls {
				lines <- fetch(client, u, extract)
			}
		})
	}
	done := make(chan error)
	go func() {
		w := bufio.NewWriter(out)
		for l := range lines {
			w.WriteString(l)
		}
		done <- w.Flush()
	}()
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		urls <- sc.Text()
	}
	close(urls)
	wg.Wait()
	close(lines)
	if err := <-done; err != nil {
		return err
	}
	return sc.Err()
}

func fetch(client *http.Client, u string, extract bool) string {
	start := time.Now()
	resp, err := client.Get(u)
	if err != nil {
		return `{"url":` + strconv.Quote(u) + `,"error":` + strconv.Quote(err.Error()) + "}\n"
	}
	defer resp.Body.Close()
	var n int64
	title, links := "", 0
	if extract {
		body, _ := io.ReadAll(resp.Body)
		n = int64(len(body))
		title, links = parse(resp.Request.URL, body)
	} else {
		n, _ = io.Copy(io.Discard, resp.Body)
	}
	return fmt.Sprintf(`{"url":%q,"status":%d,"length":%d,"title":%q,"links":%d,"ms":%.3f}`+"\n",
		u, resp.StatusCode, n, title, links, float64(time.Since(start).Microseconds())/1000)
}
