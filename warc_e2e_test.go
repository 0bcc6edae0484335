package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
			w := recordOf(t, rec, filepath.Base(name))
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

// recordOf is what a test looks at of a record gowarc read.
func recordOf(t *testing.T, rec gowarc.Record, file string) warcRecord {
	t.Helper()
	w := warcRecord{file: file, offset: rec.Offset, typ: rec.WarcRecord.Type().String(), header: map[string]string{}}
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
	return w
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
	parseOutputLoose(t, stdout) // every line valid JSON
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

// needTool returns the path of an outside program a test checks against;
// without it the test skips, unless SLUICE_REQUIRE_TOOLS is set (.ci/run
// installs them and sets it, so that CI never skips).
func needTool(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("SLUICE_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s is not installed, and SLUICE_REQUIRE_TOOLS is set", name)
		}
		t.Skipf("%s is not installed (%s)", name, install)
	}
	return path
}

// The archive as clients nobody here wrote read it: warcio's cdx-index
// gives the lines --warc-cdx wrote, and its index lists every record; and
// wget --warc-file, fetching the same 200 pages, archives the same target
// URIs with the same payload digests and the same response headers, the
// date apart.
func TestWARCOutsideClients(t *testing.T) {
	warcio := needTool(t, "warcio", "npm install -g warcio")
	wget := needTool(t, "wget", "apt-get install wget")
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := fmt.Sprintf("<!doctype html><title>%s</title><p>%s</p>\n", r.URL.Path, strings.Repeat(r.URL.Path+" ", 200))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("ETag", fmt.Sprintf("%q", r.URL.Path))
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Add("X-Twice", "one")
		w.Header().Add("X-Twice", "two")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		io.WriteString(w, body)
	}))
	t.Cleanup(site.Close)
	var in strings.Builder
	for i := 1; i <= 200; i++ {
		fmt.Fprintf(&in, "%s/p/%d\n", site.URL, i)
	}
	dir := t.TempDir()
	if _, stderr, code := runSluice(t, in.String(), "--warc", dir, "--warc-cdx", "--warc-max-size", "64KiB", "-c", "8"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	recs, files := readWARCs(t, dir)
	if len(files) < 2 {
		t.Errorf("%d files; want --warc-max-size 64KiB to have rotated", len(files))
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f)
	}

	indexCmd := exec.Command(warcio, append([]string{"cdx-index"}, names...)...)
	indexCmd.Dir = dir
	theirs, err := indexCmd.Output()
	if err != nil {
		t.Fatalf("warcio cdx-index: %v", err)
	}
	var ours []byte
	cdxj, _ := filepath.Glob(filepath.Join(dir, "*.cdxj"))
	for _, f := range cdxj {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ours = append(ours, b...)
	}
	if got, want := sortedLines(ours), sortedLines(theirs); !slices.Equal(got, want) || len(got) != 200 {
		t.Errorf("--warc-cdx wrote %d lines, warcio cdx-index %d; they differ:\nours   %.400q\ntheirs %.400q", len(got), len(want), got, want)
	}
	listCmd := exec.Command(warcio, append([]string{"index"}, names...)...)
	listCmd.Dir = dir
	listed, err := listCmd.Output()
	if err != nil {
		t.Fatalf("warcio index: %v", err)
	}
	if n := len(sortedLines(listed)); n != len(recs) {
		t.Errorf("warcio index lists %d records; gowarc read %d", n, len(recs))
	}

	wgetDir := t.TempDir()
	urls := filepath.Join(wgetDir, "urls")
	if err := os.WriteFile(urls, []byte(in.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(wget, "--quiet", "--warc-file="+filepath.Join(wgetDir, "wget"), "-O", os.DevNull, "-i", urls)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wget: %v: %s", err, out)
	}
	wgetRecs := readWARCsLenient(t, filepath.Join(wgetDir, "wget.warc.gz"))
	mine := responsesByURI(recs)
	theirsByURI := responsesByURI(wgetRecs)
	if !slices.Equal(slices.Sorted(maps.Keys(mine)), slices.Sorted(maps.Keys(theirsByURI))) || len(mine) != 200 {
		t.Fatalf("target URIs: sluice %d, wget %d; want the same 200:\n%.300q\n%.300q", len(mine), len(theirsByURI), slices.Sorted(maps.Keys(mine)), slices.Sorted(maps.Keys(theirsByURI)))
	}
	for uri, w := range mine {
		o := theirsByURI[uri]
		if w.h("WARC-Payload-Digest") != o.h("WARC-Payload-Digest") {
			t.Errorf("%s: payload digest %s; wget's %s", uri, w.h("WARC-Payload-Digest"), o.h("WARC-Payload-Digest"))
		}
		mh, oh := w.http.Clone(), o.http.Clone()
		mh.Del("Date")
		oh.Del("Date")
		if fmt.Sprint(mh) != fmt.Sprint(oh) || w.status != o.status {
			t.Errorf("%s: response %d %v; wget's %d %v", uri, w.status, mh, o.status, oh)
		}
	}
}

// readWARCsLenient reads a WARC file someone else wrote, without judging
// it.
func readWARCsLenient(t *testing.T, name string) []warcRecord {
	t.Helper()
	r, err := gowarc.NewWarcFileReader(name, 0, gowarc.WithSyntaxErrorPolicy(gowarc.ErrIgnore), gowarc.WithSpecViolationPolicy(gowarc.ErrIgnore))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []warcRecord
	for rec, err := range r.Records() {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, recordOf(t, rec, filepath.Base(name)))
		rec.Close()
	}
	return out
}

// responsesByURI are the response records by target URI (wget writes it
// in angle brackets, as WARC/1.0's grammar had it: taken off).
func responsesByURI(recs []warcRecord) map[string]warcRecord {
	m := map[string]warcRecord{}
	for _, w := range recs {
		if w.typ == "response" {
			m[strings.TrimSuffix(strings.TrimPrefix(w.h("WARC-Target-URI"), "<"), ">")] = w
		}
	}
	return m
}

// archivedByURI are the response and revisit records by target URI.
func archivedByURI(recs []warcRecord) map[string]warcRecord {
	m := map[string]warcRecord{}
	for _, w := range recs {
		if w.typ == "response" || w.typ == "revisit" {
			m[w.h("WARC-Target-URI")] = w
		}
	}
	return m
}

func sortedLines(b []byte) []string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	slices.Sort(lines)
	return lines
}

// Revisits: a body the run archived already is a revisit record
// (identical-payload-digest) that refers to the first; with --cache, a 304
// to a revalidation is a revisit (server-not-modified) of the response the
// cache kept. Both carry WARC-Refers-To-Target-URI and -Date, which pywb
// needs, and gowarc's reader reads them without a warning.
func TestWARCRevisits(t *testing.T) {
	base := newSite(t).URL
	page := base + "/cache/etag/1"
	dir := t.TempDir()
	stdout, stderr, code := runSluice(t, page+"\n"+page+"\n", "--warc", dir, "-c", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	recs, _ := readWARCs(t, dir)
	byID := map[string]warcRecord{}
	var revisits []warcRecord
	for _, w := range recs {
		byID[w.h("WARC-Record-ID")] = w
		if w.typ == "revisit" {
			revisits = append(revisits, w)
		}
	}
	if len(revisits) != 1 {
		t.Fatalf("%d revisit records; want 1, for the second fetch of the same body", len(revisits))
	}
	rv := revisits[0]
	orig, ok := byID[rv.h("WARC-Refers-To")]
	switch {
	case rv.h("WARC-Profile") != "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest":
		t.Errorf("profile %q", rv.h("WARC-Profile"))
	case !ok || orig.typ != "response":
		t.Errorf("WARC-Refers-To %q is no response record of the run", rv.h("WARC-Refers-To"))
	case rv.h("WARC-Payload-Digest") != orig.h("WARC-Payload-Digest") || rv.h("WARC-Refers-To-Target-URI") != page ||
		rv.h("WARC-Refers-To-Date") != orig.h("WARC-Date"):
		t.Errorf("revisit %v does not name its original %v", rv.header, orig.header)
	}
	refs := map[int64]bool{}
	for _, o := range parseWARCOut(t, stdout) {
		if o.WARC == nil {
			t.Fatalf("#%d: no warc field", o.Seq)
		}
		refs[o.WARC.Offset] = true
	}
	if len(refs) != 2 {
		t.Errorf("the two records point at %d places; want their own response and revisit", len(refs))
	}

	cache := t.TempDir()
	runOK(t, page+"\n", "--cache", cache)
	again := t.TempDir()
	stdout, stderr, code = runSluice(t, page+"\n", "--cache", cache, "--warc", again)
	if code != 0 || !strings.Contains(stdout, `"cache":"revalidated"`) {
		t.Fatalf("exit %d: %s %s; want the page revalidated", code, stdout, stderr)
	}
	recs, _ = readWARCs(t, again)
	var nm []warcRecord
	for _, w := range recs {
		if w.typ == "revisit" {
			nm = append(nm, w)
		}
	}
	if len(nm) != 1 || nm[0].h("WARC-Profile") != "http://netpreserve.org/warc/1.1/revisit/server-not-modified" ||
		!strings.HasPrefix(string(nm[0].block), "HTTP/1.1 304 ") || nm[0].h("WARC-Refers-To-Target-URI") != page || nm[0].h("WARC-Refers-To-Date") == "" {
		t.Errorf("revalidation archived as %+v; want one server-not-modified revisit of the 304", nm)
	}
}

// A crawl archives every exchange it makes: robots.txt (once, for --robots
// and --sitemaps), each sitemap file, each page; and every record points at
// its own response.
func TestWARCCrawl(t *testing.T) {
	g := newGraphSite(t)
	seed := g.origin("a.test") + "/g/60/1"
	dir := t.TempDir()
	stdout, stderr, code := runSluice(t, seed+"\n", append([]string{"--follow", "--depth", "1", "--sitemaps", "--robots", "--warc", dir, "--warc-cdx"}, g.resolve...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	recs, _ := readWARCs(t, dir)
	responses := responsesByURI(recs)
	if _, ok := responses[g.origin("a.test")+"/robots.txt"]; !ok {
		t.Error("robots.txt is not archived")
	}
	sitemaps := 0
	for u := range responses {
		if strings.HasSuffix(u, ".xml") || strings.HasSuffix(u, ".xml.gz") {
			sitemaps++
		}
	}
	if sitemaps != 3 {
		t.Errorf("%d sitemap files archived; want 3 (the index and its two sitemaps)", sitemaps)
	}
	out := parseWARCOut(t, stdout)
	for _, o := range out {
		if o.WARC == nil {
			t.Errorf("#%d %s: no warc field", o.Seq, o.URL)
			continue
		}
		if m := string(memberAt(t, dir, o)); !strings.Contains(m, "WARC-Target-URI: "+o.FinalURL+"\r\n") {
			t.Errorf("#%d %s: its warc field points at another record", o.Seq, o.URL)
		}
	}
	if n := g.robots.Load(); n != 1 {
		t.Errorf("robots.txt asked for %d times; want once", n)
	}
}

// An archive that cannot be written stops the run (exit 1, a message
// naming --warc): what was written stays readable, every record written
// points into it, and no record whose exchange is not in it is written, so
// that --resume fetches exactly those again and the two runs' archives
// hold every page.
func TestWARCWriteFailureThenResume(t *testing.T) {
	base := newSite(t).URL
	var in strings.Builder
	for i := range 300 {
		fmt.Fprintf(&in, "%s/bytes/30000?%d\n", base, i)
	}
	dir := t.TempDir()
	out := filepath.Join(t.TempDir(), "out.ndjson")
	input := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(input, []byte(in.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// ulimit -f is in blocks of 1024 bytes: the archive fails at 100 KiB.
	cmd := exec.Command("bash", "-c", `ulimit -f 100 && exec "$0" --warc "$1" --warc-cdx -c 8 "$2" > "$3"`, sluiceBin(t), dir, input, out)
	stderr, err := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(stderr), "--warc: ") || !strings.Contains(string(stderr), "file too large") {
		t.Fatalf("exit %d (%v), stderr %q; want 1 and the archive's error", cmd.ProcessState.ExitCode(), err, stderr)
	}
	first, _ := os.ReadFile(out)
	written := parseWARCOut(t, string(first))
	if len(written) == 0 || len(written) >= 300 {
		t.Fatalf("%d records written before the archive failed; want some, not all", len(written))
	}
	recs, _ := readWARCs(t, dir)
	archived := archivedByURI(recs)
	for _, o := range written {
		if o.WARC == nil {
			t.Fatalf("#%d: written without a warc field", o.Seq)
		}
		memberAt(t, dir, o)
		if _, ok := archived[o.FinalURL]; !ok {
			t.Errorf("#%d %s: written, not archived", o.Seq, o.URL)
		}
	}

	f, err := os.OpenFile(out, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(sluiceBin(t), "--warc", dir, "--warc-cdx", "-c", "8", "--resume", out, input)
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = f, &msg
	if err := cmd.Run(); err != nil {
		t.Fatalf("the --resume run: %v %s", err, msg.String())
	}
	f.Close()
	all, _ := os.ReadFile(out)
	recsAll := parseOutputLoose(t, string(all))
	if len(recsAll) != 300 {
		t.Errorf("%d records after --resume; want 300", len(recsAll))
	}
	recs, _ = readWARCs(t, dir)
	archived = archivedByURI(recs)
	for i := range 300 {
		if _, ok := archived[fmt.Sprintf("%s/bytes/30000?%d", base, i)]; !ok {
			t.Errorf("page %d is in neither run's archive", i)
		}
	}
}

// A queue worker (--in, --out) archives what it fetches: every record it
// publishes points at its response in the archive, and every message is
// acked once both hold it.
func TestWARCQueue(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	ns := natsServer(t, t.TempDir(), -1)
	const n = 200
	queue := ns.ClientURL() + "/WORK/urls"
	bases := hosts(t, 4, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page "+r.URL.RawQuery) })
	enqueueURLs(t, queue, bases, n)
	dir := t.TempDir()
	w := startWorker(t, "--in", queue+"?idle=1s", "--out", ns.ClientURL()+"/results", "--warc", dir, "-c", "8")
	w.wait(t)
	js := jsConn(t, ns.ClientURL())
	checkEveryOnce(t, outputSeqs(t, js, "RESULTS"), n)
	if left := streamMsgs(js, "WORK"); left != 0 {
		t.Errorf("%d messages left in the queue", left)
	}
	recs, _ := readWARCs(t, dir)
	archived := archivedByURI(recs)
	for _, o := range streamRecords[warcOut](t, js, "RESULTS") {
		if o.WARC == nil {
			t.Fatalf("#%d %s: published without a warc field", o.Seq, o.URL)
		}
		if m := string(memberAt(t, dir, o)); !strings.Contains(m, "WARC-Target-URI: "+o.FinalURL+"\r\n") {
			t.Errorf("#%d: its warc field points at another record", o.Seq)
		}
		if _, ok := archived[o.FinalURL]; !ok {
			t.Errorf("#%d %s: published, not archived", o.Seq, o.URL)
		}
	}
}
