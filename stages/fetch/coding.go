package fetch

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// AcceptEncoding is what sluice asks for: every coding it decodes.
const AcceptEncoding = "gzip, deflate, br, zstd"

// maxZstdWindow bounds the memory a zstd stream may ask for (its frame
// header names a window); the standard's recommended decoder limit.
const maxZstdWindow = 8 << 20

// zstdDecoders are reused: a decoder is costly to make.
var zstdDecoders = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(maxZstdWindow*4))
	if err != nil {
		panic(err) // only for bad options
	}
	return d
}}

// decodedBody returns resp's body with its Content-Encoding undone (gzip,
// x-gzip, deflate, br, zstd, or a list of them, undone last first) and a
// func that releases what decoding held. The caller caps what it reads, so
// a compression bomb inflates no further than --max-body. A coding sluice
// does not know leaves the body as it came. An empty body (HEAD, 204) is
// not decoded.
func decodedBody(resp *http.Response) (io.Reader, func(), error) {
	var body io.Reader = resp.Body
	release := func() {}
	ce := resp.Header["Content-Encoding"] // canonical: no Get, which canonicalizes
	if len(ce) == 0 || strings.TrimSpace(ce[0]) == "" {
		return body, release, nil
	}
	codings := strings.Split(ce[0], ",")
	peek := bufio.NewReader(resp.Body)
	if _, err := peek.Peek(1); err == io.EOF {
		return peek, release, nil
	}
	body = peek
	for i := len(codings) - 1; i >= 0; i-- {
		var err error
		switch c := strings.ToLower(strings.TrimSpace(codings[i])); c {
		case "gzip", "x-gzip":
			body, err = gzip.NewReader(body)
		case "deflate":
			body, err = inflate(body)
		case "br":
			body = brotli.NewReader(body)
		case "zstd":
			d := zstdDecoders.Get().(*zstd.Decoder)
			if err = d.Reset(body); err != nil {
				zstdDecoders.Put(d)
				break
			}
			body = d.IOReadCloser()
			prev := release
			release = func() { prev(); d.Reset(nil); zstdDecoders.Put(d) }
		case "identity", "":
		default:
			return body, release, nil // unknown: as it came
		}
		if err != nil {
			release()
			return nil, func() {}, fmt.Errorf("Content-Encoding %s: %w", codings[i], err)
		}
	}
	return body, release, nil
}

// inflate undoes "deflate": zlib-wrapped as RFC 9110 says, or raw deflate
// as some servers send it (browsers take both).
func inflate(r io.Reader) (io.Reader, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	head, err := br.Peek(2)
	if err == nil && head[0]&0x0f == 8 && (uint16(head[0])<<8|uint16(head[1]))%31 == 0 {
		return zlib.NewReader(br)
	}
	return flate.NewReader(br), nil
}
