package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/nlnwa/gowarc/v3"
)

// warcRecord is one record of a WARC file as gowarc's validating reader
// read it.
type warcRecord struct {
	file    string
	offset  int64
	typ     string
	header  map[string]string // the WARC fields (one value each)
	status  int
	http    http.Header // the HTTP header fields of a request or response block
	line    string      // the HTTP request or status line
	payload []byte
	block   []byte
}

// readWARCs reads every file in dir with gowarc's reader, strictly: any
// syntax error, any departure from the WARC specification, any digest
// that does not match, fails the test. It returns the records by file,
// in order, and the names of the files.
func readWARCs(t *testing.T, dir string) ([]warcRecord, []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.warc.gz"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no WARC files in %s (%v)", dir, err)
	}
	if open, _ := filepath.Glob(filepath.Join(dir, "*.open")); len(open) > 0 {
		t.Errorf("files still open after the run: %v", open)
	}
	var out []warcRecord
	for _, name := range files {
		r, err := gowarc.NewWarcFileReader(name, 0,
			gowarc.WithSyntaxErrorPolicy(gowarc.ErrWarn), gowarc.WithSpecViolationPolicy(gowarc.ErrWarn),
			gowarc.WithUnknownRecordTypePolicy(gowarc.ErrWarn), gowarc.WithAddMissingDigest(false))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rec, err := range r.Records() {
			if err != nil {
				t.Fatalf("%s, record %d: %v", filepath.Base(name), n+1, err)
			}
			if len(rec.Validation) > 0 {
				t.Errorf("%s at %d: gowarc's reader warns: %v", filepath.Base(name), rec.Offset, rec.Validation)
			}
			w := warcRecord{file: filepath.Base(name), offset: rec.Offset, typ: rec.WarcRecord.Type().String(), header: map[string]string{}}
			for _, f := range *rec.WarcRecord.WarcHeader() {
				w.header[strings.ToLower(f.Name)] = f.Value
			}
			switch b := rec.WarcRecord.Block().(type) {
			case gowarc.HttpResponseBlock:
				w.status, w.http, w.line = b.HttpStatusCode(), *b.HttpHeader(), b.HttpStatusLine()
				w.payload = readAll(t, b.PayloadBytes)
			case gowarc.HttpRequestBlock:
				w.http, w.line = *b.HttpHeader(), b.HttpRequestLine()
				w.payload = readAll(t, b.PayloadBytes)
			default:
				w.block = readAll(t, rec.WarcRecord.Block().RawBytes)
			}
			if v, err := rec.WarcRecord.ValidateDigest(); err != nil || len(v) > 0 {
				t.Errorf("%s at %d (%s): digests: %v %v", w.file, w.offset, w.typ, err, v)
			}
			if n == 0 && w.typ != "warcinfo" {
				t.Errorf("%s starts with a %s record; want warcinfo", w.file, w.typ)
			}
			rec.Close()
			out = append(out, w)
			n++
		}
		r.Close()
	}
	return out, files
}

// h is the WARC field name's value (gowarc changes the case of fields it
// does not know: Warc-Protocol).
func (w warcRecord) h(name string) string { return w.header[strings.ToLower(name)] }

func readAll(t *testing.T, open func() (io.Reader, error)) []byte {
	t.Helper()
	r, err := open()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// codedSite serves a body in each content coding sluice asks for, as is
// and chunked, and a page longer than --max-body, each different (an
// identical one would be archived as a revisit), and different over
// HTTP/2. raw is what it sends for each protocol and path ("h2/gzip"):
// the bytes on the wire, still encoded.
func codedSite(t *testing.T) (http.Handler, []string, map[string][]byte) {
	paths := []string{"/identity", "/gzip", "/br", "/zstd", "/chunked-gzip", "/big"}
	coding := map[string]string{"/gzip": "gzip", "/br": "br", "/zstd": "zstd", "/chunked-gzip": "gzip"}
	raw := map[string][]byte{}
	for _, proto := range []string{"h1", "h2"} {
		for _, p := range paths {
			var plain bytes.Buffer
			for i := range 400 {
				fmt.Fprintf(&plain, "<p>line %d of %s over %s, archived as it was sent: %x</p>\n", i, p, proto, i*i*7919)
			}
			var enc bytes.Buffer
			switch coding[p] {
			case "gzip":
				g := gzip.NewWriter(&enc)
				g.Write(plain.Bytes())
				g.Close()
			case "br":
				b := brotli.NewWriter(&enc)
				b.Write(plain.Bytes())
				b.Close()
			case "zstd":
				z, _ := zstd.NewWriter(&enc)
				z.Write(plain.Bytes())
				z.Close()
			default:
				enc = plain
			}
			if p == "/big" {
				enc.Write(bytes.Repeat([]byte("0123456789abcdef"), 16<<10))
			}
			raw[proto+p] = enc.Bytes()
		}
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := raw[map[bool]string{false: "h1", true: "h2"}[r.ProtoMajor == 2]+r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Served", r.URL.Path)
		if c := coding[r.URL.Path]; c != "" {
			w.Header().Set("Content-Encoding", c)
		}
		if strings.HasPrefix(r.URL.Path, "/chunked") {
			half := len(body) / 2
			w.Write(body[:half])
			w.(http.Flusher).Flush() // no Content-Length now: chunked on HTTP/1.1
			w.Write(body[half:])
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
	return h, paths, raw
}

// warcOut is what an output record says of the archive.
type warcOut struct {
	Seq      int64  `json:"seq"`
	URL      string `json:"url"`
	FinalURL string `json:"final_url"`
	Status   int    `json:"status"`
	WARC     *struct {
		File   string `json:"file"`
		Offset int64  `json:"offset"`
		Length int64  `json:"length"`
	} `json:"warc"`
}

func parseWARCOut(t *testing.T, stdout string) []warcOut {
	t.Helper()
	parseOutput(t, stdout) // every line valid, every seq once
	var out []warcOut
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var o warcOut
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

// memberAt reads the gzip member a record's warc field points at: it must
// be exactly one WARC record, whole.
func memberAt(t *testing.T, dir string, o warcOut) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, o.WARC.File))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(io.NewSectionReader(f, o.WARC.Offset, o.WARC.Length))
	if err != nil {
		t.Fatalf("#%d: no gzip member at %s:%d: %v", o.Seq, o.WARC.File, o.WARC.Offset, err)
	}
	z.Multistream(false)
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatalf("#%d: the member at %s:%d+%d: %v", o.Seq, o.WARC.File, o.WARC.Offset, o.WARC.Length, err)
	}
	return b
}

// Every exchange of a run, in every content coding, over HTTP/1.1 and
// HTTP/2, is archived as the server sent it: gowarc's validating reader
// reads every record without a warning, each response's payload is the
// bytes served, byte for byte, and each output record points at its own.
func TestWARCArchivesWhatWasSent(t *testing.T) {
	h, paths, raw := codedSite(t)
	h1 := httptest.NewServer(h)
	t.Cleanup(h1.Close)
	h2 := httptest.NewUnstartedServer(h)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	t.Cleanup(h2.Close)
	cacert := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(cacert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h2.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	site := newSite(t)
	var in strings.Builder
	for _, base := range []string{h1.URL, h2.URL} {
		for _, p := range paths {
			in.WriteString(base + p + "\n")
		}
	}
	in.WriteString(site.URL + "/redirect/2\n")
	in.WriteString(site.URL + "/status/404\n")
	dir := t.TempDir()
	stdout, stderr, code := runSluice(t, in.String(), "--warc", dir, "--warc-cdx", "--cacert", cacert, "-c", "4",
		"--max-body", "64KiB", "-H", "Authorization: Bearer s3cret", "-H", "X-Token: t0ken", "--redact", "X-Token")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	recs, _ := readWARCs(t, dir)
	if strings.Contains(fmt.Sprint(recs), "s3cret") || strings.Contains(fmt.Sprint(recs), "t0ken") {
		t.Error("a secret header's value is in the archive")
	}

	byID := map[string]warcRecord{}
	responses := map[string]warcRecord{} // by target URI
	for _, w := range recs {
		byID[w.h("WARC-Record-ID")] = w
		if w.typ == "response" {
			responses[w.h("WARC-Target-URI")] = w
		}
	}
	for _, w := range recs {
		switch w.typ {
		case "warcinfo":
			if !strings.Contains(string(w.block), "software: sluice/") || !strings.Contains(string(w.block), "Authorization: [redacted]") {
				t.Errorf("warcinfo block %q: want the software and the command with secrets left out", w.block)
			}
		case "request", "response", "revisit":
			peer, ok := byID[w.h("WARC-Concurrent-To")]
			if !ok || peer.h("WARC-Concurrent-To") != w.h("WARC-Record-ID") || peer.h("WARC-Target-URI") != w.h("WARC-Target-URI") {
				t.Errorf("%s %s: WARC-Concurrent-To does not link it with its pair", w.typ, w.h("WARC-Target-URI"))
			}
			for _, f := range []string{"WARC-Date", "WARC-IP-Address", "WARC-Block-Digest"} {
				if w.h(f) == "" {
					t.Errorf("%s %s has no %s", w.typ, w.h("WARC-Target-URI"), f)
				}
			}
			if w.typ == "request" && w.http.Get("Authorization") != "[redacted]" {
				t.Errorf("request %s: Authorization %q; want [redacted]", w.h("WARC-Target-URI"), w.http.Get("Authorization"))
			}
		}
	}
	for _, base := range []string{h1.URL, h2.URL} {
		for _, p := range paths {
			w, ok := responses[base+p]
			if !ok {
				t.Errorf("no response record for %s", base+p)
				continue
			}
			want := raw[map[bool]string{false: "h1", true: "h2"}[base == h2.URL]+p]
			if p == "/big" {
				want = want[:64<<10]
				if w.h("WARC-Truncated") != "length" {
					t.Errorf("%s: WARC-Truncated %q; want length", base+p, w.h("WARC-Truncated"))
				}
			} else if w.h("WARC-Truncated") != "" {
				t.Errorf("%s: WARC-Truncated %q; want none", base+p, w.h("WARC-Truncated"))
			}
			if !bytes.Equal(w.payload, want) {
				t.Errorf("%s: payload of %d bytes is not the %d bytes served", base+p, len(w.payload), len(want))
			}
			if got, want := w.h("WARC-Protocol"), map[bool]string{true: "h2"}[base == h2.URL]; got != want {
				t.Errorf("%s: WARC-Protocol %q; want %q", base+p, got, want)
			}
			if !strings.HasPrefix(w.line, "HTTP/1.1 200") && !strings.HasPrefix(w.line, "200") {
				t.Errorf("%s: status line %q; want HTTP/1.1's form", base+p, w.line)
			}
			if base == h1.URL && strings.HasPrefix(p, "/chunked") && w.http.Get("X-Orig-Transfer-Encoding") != "chunked" {
				t.Errorf("%s: header %v; want Transfer-Encoding renamed X-Orig-Transfer-Encoding", base+p, w.http)
			}
		}
	}
	for _, hop := range []string{"/redirect/2", "/redirect/1", "/page/1", "/status/404"} {
		if _, ok := responses[site.URL+hop]; !ok {
			t.Errorf("no response record for %s: each redirect of a chain is archived", hop)
		}
	}

	for _, o := range parseWARCOut(t, stdout) {
		if o.WARC == nil {
			t.Errorf("#%d %s: no warc field", o.Seq, o.URL)
			continue
		}
		m := string(memberAt(t, dir, o))
		if !strings.HasPrefix(m, "WARC/1.1\r\n") || !strings.Contains(m, "WARC-Target-URI: "+o.FinalURL+"\r\n") ||
			!strings.Contains(m, "WARC-Type: response\r\n") && !strings.Contains(m, "WARC-Type: revisit\r\n") {
			t.Errorf("#%d %s: the member at its warc field is not its response:\n%.300s", o.Seq, o.URL, m)
		}
	}
}
