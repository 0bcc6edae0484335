// Package hostile is a web server that misbehaves on purpose, for sluice's
// reliability tests and soak script. Each path is one fault:
//
//	/ok                 200 with a small HTML page (the control)
//	/reset              reads the request, then resets the connection (RST)
//	/close              closes the connection without answering
//	/hang               accepts, never answers (until the client goes away)
//	/slow-headers       sends the status line a byte every 200 ms
//	/slow-body          sends headers, then the body a byte every 200 ms (slowloris)
//	/short              Content-Length: 1000 with 10 bytes, then closes
//	/endless            a body that never ends
//	/gzip-bomb          a gzip body of about 260 KB that inflates to 256 MiB of zeros
//	/bad-gzip           Content-Encoding: gzip with a body that is not gzip
//	/br-bomb            a brotli body of 405 bytes that inflates to 256 MiB of zeros
//	/zstd-bomb          256 zstd frames that inflate to 256 MiB of zeros
//	/bad-br             Content-Encoding: br with a body that is not brotli
//	/wrong-encoding     Content-Encoding: zstd with a gzip body
//	/loop               redirects to itself
//	/chain/N            N redirects, then /ok
//	/to-ftp             redirects to ftp://
//	/no-content         204
//	/not-modified       304
//	/early-hints        103 Early Hints, then 200
//	/bad-utf8           HTML whose title is not valid UTF-8
//	/mislabelled        says charset=utf-8, is windows-1251
//	/huge-headers       2 MiB of response headers
//	/garbage            answers with bytes that are not HTTP
//
// Everything it sends is bounded per request except /endless and /hang,
// which last until the client goes away.
package hostile

import (
	_ "embed"

	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Faults lists the paths, for tests that mix them.
var Faults = []string{"/ok", "/reset", "/close", "/hang", "/slow-headers", "/slow-body", "/short", "/endless",
	"/gzip-bomb", "/bad-gzip", "/br-bomb", "/zstd-bomb", "/bad-br", "/wrong-encoding", "/loop", "/chain/3", "/chain/30", "/to-ftp", "/no-content", "/not-modified",
	"/early-hints", "/bad-utf8", "/mislabelled", "/huge-headers", "/garbage"}

// Handler returns the hostile handler. It needs a server that allows
// hijacking (HTTP/1), as httptest.NewServer's does.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<title>fine</title><p>a good page</p>")
	})
	mux.HandleFunc("/reset", hijack(func(c net.Conn) {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // close with RST
		}
	}))
	mux.HandleFunc("/close", hijack(func(c net.Conn) {}))
	mux.HandleFunc("/garbage", hijack(func(c net.Conn) { io.WriteString(c, "SPLAT\x00\xff nonsense\r\n\r\n") }))
	mux.HandleFunc("/slow-headers", hijack(func(c net.Conn) {
		for _, b := range []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}))
	mux.HandleFunc("/short", hijack(func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nonly ten b")
	}))
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("/slow-body", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		for range 100 {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(200 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
	})
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("endless "), 8<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/gzip-bomb", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/plain")
		w.Write(bomb)
	})
	mux.HandleFunc("/bad-gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		io.WriteString(w, "this is not gzip at all")
	})
	mux.HandleFunc("/br-bomb", coded("br", brBomb))
	mux.HandleFunc("/zstd-bomb", coded("zstd", zstdBomb))
	mux.HandleFunc("/bad-br", coded("br", func() []byte { return []byte("this is not brotli at all") }))
	mux.HandleFunc("/wrong-encoding", coded("zstd", func() []byte { return bomb[:1000] }))
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/chain/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 0 {
			http.NotFound(w, r)
			return
		}
		to := "/ok"
		if n > 0 {
			to = "/chain/" + strconv.Itoa(n-1)
		}
		http.Redirect(w, r, to, http.StatusMovedPermanently)
	})
	mux.HandleFunc("/to-ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://files.example.test/x", http.StatusFound)
	})
	mux.HandleFunc("/no-content", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/not-modified", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotModified) })
	mux.HandleFunc("/early-hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "after the hints")
	})
	mux.HandleFunc("/bad-utf8", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<title>bad \xff\xfe utf-8 \xc3</title><p>\xed\xa0\x80</p>")
	})
	mux.HandleFunc("/mislabelled", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<title>\xcf\xf0\xe8\xe2\xe5\xf2</title>") // windows-1251, labelled UTF-8
	})
	mux.HandleFunc("/huge-headers", func(w http.ResponseWriter, r *http.Request) {
		v := strings.Repeat("h", 8<<10)
		for i := range 256 { // 2 MiB
			w.Header().Set(fmt.Sprintf("X-Huge-%d", i), v)
		}
	})
	return mux
}

// hijack answers below HTTP: it reads the request head, runs fn on the raw
// connection and closes it.
func hijack(fn func(net.Conn)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, "cannot hijack", http.StatusInternalServerError)
			return
		}
		defer c.Close()
		fn(c)
	}
}

// bomb is a gzip body that inflates to 256 MiB of zeros: one gzip member
// of 1 MiB of zeros, repeated (a gzip stream may hold many members, and Go's
// reader reads them all), so it costs nothing to build.
var bomb = func() []byte {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		panic(err)
	}
	if _, err := zw.Write(make([]byte, 1<<20)); err != nil {
		panic(err)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return bytes.Repeat(b.Bytes(), 256)
}()

// coded serves body() as text with the Content-Encoding coding.
func coded(coding string, body func() []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", coding)
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body())
	}
}

// brBomb is a brotli body of 405 bytes that inflates to 256 MiB of zeros.
// It is a file, not made at start: brotli's encoder reads all 256 MiB, which
// under the race detector takes longer than the tests' --timeout. It was
// made with andybalholm/brotli at quality 5 from 256 MiB of zeros, and
// TestHostileMixedInput checks that it inflates past --max-body.
//
//go:embed zeros-256MiB.br
var brBombFile []byte

func brBomb() []byte { return brBombFile }

// zstdBomb is 256 zstd frames of 1 MiB of zeros each, made on first use.
var zstdBomb = sync.OnceValue(func() []byte {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		panic(err)
	}
	frame := enc.EncodeAll(make([]byte, 1<<20), nil)
	return bytes.Repeat(frame, 256)
})
