// Command plainpool is the "plain Go" reference for sluice's benchmarks: a
// fixed pool of workers on one tuned http.Client, reading URL lines from
// stdin and printing one small JSON line per URL. It does no input
// validation, no error classification and no accounting: it is the floor
// that sluice's extra work is measured against.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	c := flag.Int("c", 50, "workers")
	flag.Parse()
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 2 * *c, MaxIdleConnsPerHost: *c, ForceAttemptHTTP2: true},
	}
	urls := make(chan string, *c)
	lines := make(chan string, *c)
	var wg sync.WaitGroup
	for range *c {
		wg.Go(func() {
			for u := range urls {
				start := time.Now()
				resp, err := client.Get(u)
				if err != nil {
					lines <- `{"url":` + strconv.Quote(u) + `,"error":` + strconv.Quote(err.Error()) + "}\n"
					continue
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lines <- fmt.Sprintf(`{"url":%q,"status":%d,"length":%d,"ms":%.3f}`+"\n",
					u, resp.StatusCode, n, float64(time.Since(start).Microseconds())/1000)
			}
		})
	}
	done := make(chan struct{})
	go func() {
		w := bufio.NewWriter(os.Stdout)
		for l := range lines {
			w.WriteString(l)
		}
		w.Flush()
		close(done)
	}()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		urls <- sc.Text()
	}
	close(urls)
	wg.Wait()
	close(lines)
	<-done
}
