// Command site serves the local test site (package site) on loopback. It
// prints its base URL as the first line on stdout, then serves until SIGINT
// or SIGTERM.
//
//	go run ./internal/cmd/site -addr 127.0.0.1:0
//
// -pace BYTES sends each response's body at most that many bytes a second,
// as a link of that speed would: loopback moves bodies at memory speed,
// which hides what a client saves by not downloading them (bench/cache.sh).
//
// -delay D answers each page of the link graph (/g/...) after D, as a
// distant server would (bench/queue-crawl.sh).
package main

import (
	"flag"
	"net/http"
	"strings"
	"time"

	"sluice/internal/serve"
	"sluice/internal/site"
)

func main() {
	pace := flag.Int("pace", 0, "send bodies at most this many bytes a second per response (0: no limit)")
	delay := flag.Duration("delay", 0, "answer each page of the link graph (/g/...) after this long")
	flag.Parse()
	h := site.Handler()
	if *pace > 0 {
		h = paced(h, *pace)
	}
	if *delay > 0 {
		h = delayed(h, *delay)
	}
	serve.Main("site", h)
}

// delayed answers the link graph's pages after d.
func delayed(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/g/") {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// paced writes each response in pieces of a 100th of rate, a 100th of a
// second apart.
func paced(next http.Handler, rate int) http.Handler {
	piece := max(rate/100, 1)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&pacer{ResponseWriter: w, piece: piece}, r)
	})
}

type pacer struct {
	http.ResponseWriter
	piece int
}

func (p *pacer) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		k := min(len(b), p.piece)
		m, err := p.ResponseWriter.Write(b[:k])
		n += m
		if err != nil {
			return n, err
		}
		b = b[k:]
		if len(b) > 0 {
			http.NewResponseController(p.ResponseWriter).Flush()
			time.Sleep(10 * time.Millisecond)
		}
	}
	return n, nil
}
