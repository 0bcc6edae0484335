package fetch

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// encode applies one coding to b, as a server would.
func encode(t *testing.T, coding string, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&out)
	case "deflate": // zlib-wrapped, as RFC 9110 says
		w = zlib.NewWriter(&out)
	case "raw-deflate":
		w, _ = flate.NewWriter(&out, flate.DefaultCompression)
	case "br":
		w = brotli.NewWriter(&out)
	case "zstd":
		w, _ = zstd.NewWriter(&out)
	default:
		t.Fatalf("no coding %s", coding)
	}
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// Every coding sluice asks for is decoded, alone or stacked, and the
// request says which it takes.
func TestContentCodings(t *testing.T) {
	page := []byte(strings.Repeat("<p>a page in many codings</p>\n", 200))
	var accept string
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		accept = r.Header.Get("Accept-Encoding")
		codings := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "+")
		body := page
		var names []string
		for _, c := range codings {
			body = encode(t, c, body)
			names = append(names, strings.TrimPrefix(c, "raw-"))
		}
		w.Header().Set("Content-Encoding", strings.Join(names, ", "))
		w.Write(body)
	})
	f := newFetcher(t, Config{KeepBody: true})
	for _, path := range []string{"gzip", "deflate", "raw-deflate", "br", "zstd", "gzip+br", "zstd+gzip"} {
		r := fetch(t, f, srv.URL+"/"+path)
		if r.Err != nil || !bytes.Equal(r.Body, page) || r.ContentLength != int64(len(page)) {
			t.Errorf("%s: error %v, %d bytes (content_length %d); want the page, %d bytes", path, r.Err, len(r.Body), r.ContentLength, len(page))
		}
	}
	if accept != "gzip, deflate, br, zstd" {
		t.Errorf("Accept-Encoding %q; want gzip, deflate, br, zstd", accept)
	}
}

// A bomb in any coding inflates to --max-body and no further: truncated.
func TestCodingBombs(t *testing.T) {
	zeros := make([]byte, 8<<20)
	bombs := map[string][]byte{}
	for _, c := range []string{"gzip", "br", "zstd"} {
		bombs[c] = encode(t, c, zeros)
	}
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		c := strings.TrimPrefix(r.URL.Path, "/")
		w.Header().Set("Content-Encoding", c)
		w.Write(bombs[c])
	})
	f := newFetcher(t, Config{MaxBody: 64 << 10, KeepBody: true})
	for c := range bombs {
		r := fetch(t, f, srv.URL+"/"+c)
		if r.Err != nil || !r.Truncated || r.ContentLength != 64<<10 || len(r.Body) != 64<<10 {
			t.Errorf("%s bomb: error %v, truncated %v, content_length %d, %d bytes kept; want 64 KiB, truncated", c, r.Err, r.Truncated, r.ContentLength, len(r.Body))
		}
	}
}

// An empty body with a Content-Encoding (HEAD, 204) is not an error.
func TestCodingEmptyBody(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "br")
		w.WriteHeader(http.StatusNoContent)
	})
	for _, method := range []string{"HEAD", "GET"} {
		r := fetch(t, newFetcher(t, Config{Method: method, KeepBody: true}), srv.URL+"/")
		if r.Err != nil || r.Status != 204 || r.ContentLength != 0 {
			t.Errorf("%s: status %d, error %v, %d bytes; want 204 and nothing", method, r.Status, r.Err, r.ContentLength)
		}
	}
}
