package site

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// quota is /quota/STYLE/N/W/...: an API that allows N requests per fixed
// window of W seconds (windows counted from the site's start, one counter
// per STYLE/N/W), answers 429 past them, and says so on every answer in the
// rate-limit fields of STYLE:
//
//	ietf    RateLimit: "win";r=R;t=T and RateLimit-Policy: "win";q=N;w=W
//	draft   RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, and
//	        RateLimit-Policy: N;w=W (the earlier drafts)
//	x       X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset
//	        (seconds to the reset)
//
// T and the resets are whole seconds, rounded up, as servers send them.
// /quota/stats/STYLE/N/W says how many requests that counter has answered
// with 200 and with 429.
type quota struct {
	start time.Time
	mu    sync.Mutex
	win   map[string]*quotaWindow
}

type quotaWindow struct {
	index   int64 // the window's number since start
	used    int
	ok, too int
}

func quotaPages(mux *http.ServeMux) {
	q := &quota{start: time.Now(), win: map[string]*quotaWindow{}}
	mux.HandleFunc("GET /quota/stats/{style}/{n}/{w}", q.stats)
	mux.HandleFunc("GET /quota/{style}/{n}/{w}/", q.serve)
}

func (q *quota) params(w http.ResponseWriter, r *http.Request) (style string, n int, window time.Duration, ok bool) {
	style = r.PathValue("style")
	n, err1 := strconv.Atoi(r.PathValue("n"))
	secs, err2 := strconv.Atoi(r.PathValue("w"))
	if err1 != nil || err2 != nil || n < 1 || secs < 1 || (style != "ietf" && style != "draft" && style != "x") {
		http.Error(w, "want /quota/{ietf|draft|x}/N/W/...", http.StatusBadRequest)
		return "", 0, 0, false
	}
	return style, n, time.Duration(secs) * time.Second, true
}

func (q *quota) serve(w http.ResponseWriter, r *http.Request) {
	style, n, window, ok := q.params(w, r)
	if !ok {
		return
	}
	now := time.Since(q.start)
	index := int64(now / window)
	key := style + "/" + strconv.Itoa(n) + "/" + strconv.Itoa(int(window.Seconds()))
	q.mu.Lock()
	c := q.win[key]
	if c == nil {
		c = &quotaWindow{index: index}
		q.win[key] = c
	}
	if c.index != index {
		c.index, c.used = index, 0
	}
	over := c.used >= n
	if over {
		c.too++
	} else {
		c.used++
		c.ok++
	}
	left := n - c.used
	q.mu.Unlock()
	reset := int64(math.Ceil((time.Duration(index+1)*window - now).Seconds()))
	h := w.Header()
	switch style {
	case "ietf":
		h.Set("RateLimit", fmt.Sprintf(`"win";r=%d;t=%d`, left, reset))
		h.Set("RateLimit-Policy", fmt.Sprintf(`"win";q=%d;w=%d`, n, int(window.Seconds())))
	case "draft":
		h.Set("RateLimit-Limit", strconv.Itoa(n))
		h.Set("RateLimit-Remaining", strconv.Itoa(left))
		h.Set("RateLimit-Reset", strconv.FormatInt(reset, 10))
		h.Set("RateLimit-Policy", fmt.Sprintf("%d;w=%d", n, int(window.Seconds())))
	case "x":
		h.Set("X-RateLimit-Limit", strconv.Itoa(n))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(left))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
	}
	if over {
		h.Set("Retry-After", strconv.FormatInt(reset, 10))
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (q *quota) stats(w http.ResponseWriter, r *http.Request) {
	style, n, window, ok := q.params(w, r)
	if !ok {
		return
	}
	key := style + "/" + strconv.Itoa(n) + "/" + strconv.Itoa(int(window.Seconds()))
	q.mu.Lock()
	c := q.win[key]
	var okN, tooN int
	if c != nil {
		okN, tooN = c.ok, c.too
	}
	q.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"ok\":%d,\"too_many\":%d}\n", okN, tooN)
}
