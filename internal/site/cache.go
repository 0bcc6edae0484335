package site

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Pages for HTTP caches (sluice --cache), each an HTML page titled
// "Cached KIND N" of about ?kb= KiB (default 1), answering conditional
// requests (If-None-Match, If-Modified-Since) with 304 where it has
// validators:
//
//	/cache/etag/N      an ETag
//	/cache/modified/N  a Last-Modified (2026-01-01)
//	/cache/both/N      both
//	/cache/neither/N   no validator: always answered in full
//	/cache/no-store/N  an ETag, and Cache-Control: no-store
//	/cache/max-age/N   an ETag, and Cache-Control: max-age=3600
//	/cache/changing/N  an ETag, and content that changes with every request
//	                   to it (a counter in the page)
func cachePages(mux *http.ServeMux) {
	c := &changing{n: map[string]int{}}
	mux.HandleFunc("GET /cache/{kind}/{n}", c.serve)
}

// lastModified is the Last-Modified of the pages that have one.
var lastModified = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type changing struct {
	mu sync.Mutex
	n  map[string]int // requests so far, by path
}

func (c *changing) serve(w http.ResponseWriter, r *http.Request) {
	kind, n := r.PathValue("kind"), r.PathValue("n")
	kb, err := strconv.Atoi(r.URL.Query().Get("kb"))
	if err != nil || kb < 0 || kb > 10<<10 {
		kb = 1
	}
	version := 0
	if kind == "changing" {
		c.mu.Lock()
		c.n[r.URL.Path]++
		version = c.n[r.URL.Path]
		c.mu.Unlock()
	}
	body := cachedPage(kind, n, kb, version)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	modified := time.Time{}
	switch kind {
	case "etag", "max-age", "no-store", "changing":
	case "both":
		modified = lastModified
	case "modified":
		modified = lastModified
	case "neither":
	default:
		http.NotFound(w, r)
		return
	}
	if kind != "modified" && kind != "neither" {
		sum := sha256.Sum256(body)
		h.Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
	}
	switch kind {
	case "no-store":
		h.Set("Cache-Control", "no-store")
	case "max-age":
		h.Set("Cache-Control", "max-age=3600")
	}
	http.ServeContent(w, r, "", modified, bytes.NewReader(body))
}

// cachedPage is the page of kind n, about kb KiB, at version.
func cachedPage(kind, n string, kb, version int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!doctype html><title>Cached %s %s</title><h1>%s %s</h1><p>version %d</p>\n", kind, n, kind, n, version)
	line := strings.Repeat("lorem ipsum ", 8) + "\n" // 97 bytes
	for b.Len() < kb<<10 {
		b.WriteString(line)
	}
	return b.Bytes()
}
