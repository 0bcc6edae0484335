// Command chromedploop is bench/render.sh's reference: a plain chromedp
// loop that renders each URL of stdin in one of -tabs tabs of one headless
// Chromium, waits for the page's load event, reads its DOM, and writes one
// line per page. No interception: the browser fetches everything itself.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

// passThrough intercepts every request of the tab and continues it.
func passThrough(tctx context.Context) {
	var target *chromedp.Target
	if err := chromedp.Do(tctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		target = t
		_, err := cdp.Call(ctx, t, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*"}}})
		return err
	})); err != nil {
		log.Fatal(err)
	}
	paused := chromedp.Events(tctx, fetch.RequestPaused)
	go func() {
		for e, err := range paused {
			if err != nil {
				return
			}
			go cdp.Call(tctx, target, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
		}
	}()
}

func main() {
	tabs := flag.Int("tabs", 2, "pages rendered at a time")
	intercept := flag.Bool("intercept", false, "intercept every request (the DevTools Fetch domain) and let it go on at once, as the browser would have sent it: what interception alone costs")
	browser := flag.String("browser", "chromium", "the browser")
	flag.Parse()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(*browser), chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("mute-audio", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if err := chromedp.Do(bctx); err != nil {
		log.Fatal(err)
	}
	urls := make(chan string)
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for range *tabs {
		tctx, _ := chromedp.NewContext(bctx)
		if *intercept {
			passThrough(tctx)
		}
		wg.Go(func() {
			for u := range urls {
				html := ""
				err := chromedp.Do(tctx, chromedp.Navigate(u))
				if err == nil {
					html, err = chromedp.Run(tctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
				}
				mu.Lock()
				fmt.Fprintf(out, "%s %d %v\n", u, len(html), err)
				mu.Unlock()
			}
		})
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		urls <- sc.Text()
	}
	close(urls)
	wg.Wait()
	out.Flush()
}
