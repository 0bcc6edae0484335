package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sluice/record"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1048576", 1 << 20, false},
		{"0", 0, false},
		{"512KiB", 512 << 10, false},
		{"512kib", 512 << 10, false},
		{"10MiB", 10 << 20, false},
		{"10M", 10 << 20, false},
		{"10MB", 10_000_000, false},
		{"1GiB", 1 << 30, false},
		{"2 KiB", 2 << 10, false},
		{"7B", 7, false},
		{"", 0, true},
		{"MiB", 0, true},
		{"-1", 0, true},
		{"1.5MiB", 0, true},
		{"10XB", 0, true},
		{"99999999999999999999", 0, true},
		{"9000000000GiB", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseSize(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestSizeString(t *testing.T) {
	for n, want := range map[int64]string{10 << 20: "10MiB", 64 << 10: "64KiB", 1 << 30: "1GiB", 1000: "1000", 0: "0", 1536: "1536"} {
		v := sizeValue(n)
		if got := v.String(); got != want {
			t.Errorf("sizeValue(%d).String() = %q; want %q", n, got, want)
		}
		if back, err := ParseSize(v.String()); err != nil || back != n {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", v.String(), back, err, n)
		}
	}
}

// FuzzParseSize: never panics, never negative, and plain numbers round-trip.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"10MiB", "1048576", "1.5k", "9223372036854775807", "8EiB", " 3 gb "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
		if err == nil {
			if back, err := ParseSize(strconv.FormatInt(n, 10)); err != nil || back != n {
				t.Fatalf("ParseSize(%d) = %d, %v; want it back", n, back, err)
			}
		}
	})
}

func TestParseFlags(t *testing.T) {
	var help strings.Builder
	cfg, err := Parse([]string{"-c", "7", "--timeout", "3s", "--max-body", "1KiB", "-H", "X-A: 1",
		"-H", "User-Agent: mine", "-X", "HEAD", "--max-redirects", "0", "a.txt", "-"}, &help)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	f := cfg.Fetch
	if f.Concurrency != 7 || f.Timeout != 3*time.Second || f.MaxBody != 1024 || f.Method != "HEAD" || f.MaxRedirects != 0 {
		t.Errorf("fetch config = %+v", f)
	}
	if got := f.Header.Values("User-Agent"); len(got) != 1 || got[0] != "mine" {
		t.Errorf("User-Agent = %q; want only the one given with -H", got)
	}
	if f.Header.Get("X-A") != "1" {
		t.Errorf("X-A = %q; want 1", f.Header.Get("X-A"))
	}
	if want := []Input{{Path: "a.txt"}, {Path: "-"}}; !slices.Equal(cfg.Inputs, want) {
		t.Errorf("inputs = %+v; want %+v", cfg.Inputs, want)
	}
	if help.Len() != 0 {
		t.Errorf("Parse wrote %q to stdout", help.String())
	}
	cfg, err = Parse(nil, &help)
	if err != nil || cfg.Fetch.Header.Get("User-Agent") != "sluice/"+Version || cfg.Fetch.Concurrency != 50 ||
		cfg.Fetch.MaxBody != 10<<20 || cfg.Grace != 5*time.Second || cfg.Parser.URLField != "url" {
		t.Errorf("defaults = %+v, %v", cfg, err)
	}
}

// Every flag is in exactly one --help group: none falls into "Other", and
// none is listed twice.
func TestHelpGroups(t *testing.T) {
	var help bytes.Buffer
	if _, err := Parse([]string{"--help"}, &help); !errors.Is(err, ErrHelpShown) {
		t.Fatalf("--help: %v", err)
	}
	if strings.Contains(help.String(), "\nOther:\n") {
		t.Errorf("--help has flags in no group:\n%s", help.String()[strings.Index(help.String(), "\nOther:\n"):])
	}
	listed := map[string]int{}
	for _, line := range strings.Split(help.String(), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "-") {
			continue
		}
		name := f[0]
		if len(f) > 1 && strings.HasSuffix(f[0], ",") { // "-c, --concurrency"
			name = f[1]
		}
		listed[strings.SplitN(strings.TrimPrefix(name, "--"), "[", 2)[0]]++
	}
	for _, g := range helpGroups {
		for _, name := range g.flags {
			if listed[name] != 1 {
				t.Errorf("--%s is listed %d times in --help; want once", name, listed[name])
			}
		}
	}
}

// A bad flag is an error that names it; nothing else is decided.
func TestBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		flag string // the message must name it
	}{
		{[]string{"-c", "0"}, "--concurrency"},
		{[]string{"-c", "many"}, "--concurrency"},
		{[]string{"--max-body", "10XB"}, "--max-body"},
		{[]string{"--timeout", "soon"}, "--timeout"},
		{[]string{"--timeout", "0s"}, "--timeout"},
		{[]string{"-H", "no colon here"}, "--header"},
		{[]string{"-X", "GET /"}, "--method"},
		{[]string{"--max-redirects", "-1"}, "--max-redirects"},
		{[]string{"--bogus"}, "--bogus"},
		{[]string{"--rate", "fast"}, "--rate"},
		{[]string{"--rate", "10/d"}, "--rate"},
		{[]string{"--host-rate", "a.test=x"}, "--host-rate"},
		{[]string{"--host-concurrency", "a.test=0"}, "--host-concurrency"},
		{[]string{"--host-concurrency", "many"}, "--host-concurrency"},
		{[]string{"--retry-on", "429,999"}, "--retry-on"},
		{[]string{"--window", "-1"}, "--window"},
		{[]string{"--burst", "-1"}, "--burst"},
		{[]string{"--retries", "-1"}, "--retries"},
		{[]string{"--retry-max", "1ms"}, "--retry-max"},
		{[]string{"--url-field", ""}, "--url-field"},
		{[]string{"--grace", "-1s"}, "--grace"},
		{[]string{"-u", "ftp://a.test/"}, "--url"},
		{[]string{"-u", "not a url"}, "--url"},
		{[]string{"--select", "x=h1["}, "--select"},
		{[]string{"--select", "no-equals"}, "--select"},
		{[]string{"--select-all", "x=::bogus"}, "--select-all"},
		{[]string{"--extract", "title,images"}, "--extract"},
		{[]string{"--parse-workers", "0"}, "--parse-workers"},
		{[]string{"--text-max", "0"}, "--text-max"},
		{[]string{"--hash", "sha1"}, "--hash"},
		{[]string{"--jq", ".a |"}, "--jq"},
		{[]string{"--jq", "name="}, "--jq"},
		{[]string{"--jq-timeout", "0s"}, "--jq-timeout"},
		{[]string{"-d", "@/nonexistent/body"}, "--data"},
		{[]string{"-d", "@-"}, "--data"},
		{[]string{"--data-binary", "@/nonexistent/body"}, "--data-binary"},
		{[]string{"--json", "@/nonexistent/body"}, "--json"},
		{[]string{"--json", "{}", "-d", "a=1"}, "--json"},
		{[]string{"--redact", "X Bad"}, "--redact"},
		{[]string{"--warc-cdx"}, "--warc-cdx"},
		{[]string{"--warc-max-size", "1MiB"}, "--warc-max-size"},
		{[]string{"--warc", "d", "--warc-max-size", "1KiB"}, "--warc-max-size"},
		{[]string{"--warc", "d", "--warc-prefix", "a/b"}, "--warc-prefix"},
		{[]string{"--warc", "d", "--warc-prefix", ""}, "--warc-prefix"},
		{[]string{"--fields", "url,nope"}, "--fields"},
		{[]string{"--omit", "seq"}, "--omit"},
		{[]string{"--resolve", "a.test:443"}, "--resolve"},
		{[]string{"--resolve", "a.test:99999:127.0.0.1"}, "--resolve"},
		{[]string{"--resolve", "a.test:443:not-an-ip"}, "--resolve"},
		{[]string{"--cacert-only"}, "--cacert-only"},
		{[]string{"--cert", "c.pem"}, "--cert"},
		{[]string{"--key", "k.pem"}, "--key"},
		{[]string{"--in", "nats://127.0.0.1:4222/S"}, "--in"},
		{[]string{"--in", "nats://127.0.0.1:4222/S/s?batch=0"}, "--in"},
		{[]string{"--out", "nats://127.0.0.1:4222/a.*"}, "--out"},
		{[]string{"--in", "nats://127.0.0.1:4222/S/s", "--unique"}, "--unique"},
		{[]string{"--in", "nats://127.0.0.1:4222/S/s", "a.txt"}, "--in"},
		{[]string{"--out", "nats://127.0.0.1:4222/o", "--ordered"}, "--ordered"},
		{[]string{"--out", "nats://127.0.0.1:4222/o", "--resume", "done.ndjson"}, "--resume"},
		{[]string{"--in", "nats://127.0.0.1:4222/S/s", "--out", "nats://127.0.0.1:4223/o"}, "--out"},
		{[]string{"--in", "nats://127.0.0.1:4222/S/crawl", "--out", "nats://127.0.0.1:4222/crawl.out"}, "queued again"},
		{[]string{"--metrics", "9090"}, "--metrics"},
		{[]string{"--metrics", "http://127.0.0.1:9090/"}, "--metrics"},
		{[]string{"--metrics-hosts", "5"}, "--metrics-hosts"},
		{[]string{"--metrics", ":9090", "--metrics-hosts", "-1"}, "--metrics-hosts"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout bytes.Buffer
			_, err := Parse(tc.args, &stdout)
			if err == nil || !strings.Contains(err.Error(), tc.flag) || stdout.Len() != 0 {
				t.Errorf("Parse(%q) = %v, stdout %q; want an error naming %s", tc.args, err, stdout.String(), tc.flag)
			}
		})
	}
}

// A malformed -H is refused without repeating any of it: it may hold a
// secret anywhere.
func TestHeaderValueNeverEchoed(t *testing.T) {
	for _, h := range []string{"Authorization Bearer s3cret", "Bad Name s3cret: x", "X-Token: s3cret\r\nInjected: 1"} {
		_, err := Parse([]string{"-H", "X-Ok: 1", "-H", h}, new(bytes.Buffer))
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "number 2") {
			t.Errorf("-H %q: %v; want an error naming the second -H, without the secret", h, err)
		}
	}
}

// An argument that is no file but an http(s) URL is an input line, as with
// curl; a file of that name wins; -u comes first. Without file arguments
// stdin is read only when no URL was given either.
func TestInputs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	// A file whose path reads as a URL: "http://a.test/list" is the file
	// a.test/list in the folder "http:" ("//" is "/").
	if err := os.MkdirAll(filepath.Join("http:", "a.test"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("http:", "a.test", "list"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want []Input
	}{
		{nil, nil},
		{[]string{"https://example.com/"}, []Input{{URL: "https://example.com/"}}},
		{[]string{"HTTP://example.com/a", "urls.txt", "-"}, []Input{{URL: "HTTP://example.com/a"}, {Path: "urls.txt"}, {Path: "-"}}},
		{[]string{"http://a.test/list"}, []Input{{Path: "http://a.test/list"}}},
		{[]string{"example.com"}, []Input{{Path: "example.com"}}}, // no scheme: a file, which will fail to open
		{[]string{"-u", "http://b.test/", "f.txt", "--url", "https://c.test/"},
			[]Input{{URL: "http://b.test/"}, {URL: "https://c.test/"}, {Path: "f.txt"}}},
	}
	for _, tc := range tests {
		cfg, err := Parse(tc.args, new(bytes.Buffer))
		if err != nil || !slices.Equal(cfg.Inputs, tc.want) {
			t.Errorf("Parse(%q): inputs %+v, %v; want %+v", tc.args, cfg.Inputs, err, tc.want)
		}
	}
}

// --host-concurrency defaults to -c: no cap per host unless asked.
func TestHostConcurrencyDefault(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"-c", "8"}, 8},
		{nil, 50},
		{[]string{"-c", "8", "--host-concurrency", "2"}, 2},
	} {
		cfg, err := Parse(tc.args, new(bytes.Buffer))
		if err != nil || cfg.Limits.HostConcurrency != tc.want {
			t.Errorf("Parse(%q): host concurrency %d, %v; want %d", tc.args, cfg.Limits.HostConcurrency, err, tc.want)
		}
	}
}

func TestParseEnqueue(t *testing.T) {
	e, err := ParseEnqueue([]string{"--to", "nats://127.0.0.1:4222/Q/urls?partitions=4", "a.txt"}, new(bytes.Buffer))
	if err != nil || e.Queue.Stream != "Q" || e.Queue.Partitions != 4 || !slices.Equal(e.Inputs, []Input{{Path: "a.txt"}}) {
		t.Errorf("ParseEnqueue = %+v, %v", e, err)
	}
	for _, args := range [][]string{nil, {"--to", "nats://h:1/Q"}, {"--to", "nats://h:1/Q/u", "--url-field", ""}} {
		if _, err := ParseEnqueue(args, new(bytes.Buffer)); err == nil {
			t.Errorf("ParseEnqueue(%q) = nil; want an error", args)
		}
	}
	if e, err := ParseEnqueue([]string{"--to", "nats://h:1/Q/u"}, new(bytes.Buffer)); err != nil || e.Crawl != nil {
		t.Errorf("without --follow: a crawl %+v, %v; want none", e.Crawl, err)
	}
	e, err = ParseEnqueue([]string{"--to", "nats://h:1/Q/u", "--follow", "--depth", "5", "--include", "/docs/", "--scope", "domain"}, new(bytes.Buffer))
	if err != nil || e.Crawl == nil || e.Crawl.Depth != 5 || e.Crawl.Scope != "domain" || len(e.Crawl.Include) != 1 || e.Crawl.MaxRedirects != 10 ||
		!slices.Equal(e.Crawl.Given, []string{"scope", "depth", "include"}) {
		t.Errorf("--follow --depth 5 --include /docs/ --scope domain: %+v, %v", e.Crawl, err)
	}
}

// enqueue's crawl flags are refused without --follow, and a bad one is
// named.
func TestParseEnqueueCrawlErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--depth", "2"}, "--depth needs --follow"},
		{[]string{"--follow", "--depth", "-1"}, "--depth"},
		{[]string{"--follow", "--scope", "planet"}, "--scope"},
		{[]string{"--follow", "--include", "("}, "--include"},
		{[]string{"--follow", "--max-redirects", "-2"}, "--max-redirects"},
		{[]string{"--revisit", "1h"}, "--revisit needs --follow"},
	} {
		_, err := ParseEnqueue(append([]string{"--to", "nats://h:1/Q/u"}, tc.args...), new(bytes.Buffer))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v; want an error naming %s", tc.args, err, tc.want)
		}
	}
}

func TestOutputFields(t *testing.T) {
	for _, tc := range []struct {
		args []string
		kept string // the fields written, seq aside
	}{
		{nil, strings.Join(record.Fields[1:], " ")},
		{[]string{"--fields", "url,status"}, "url status"},
		{[]string{"--fields", "seq,url", "--fields", "error"}, "url error"},
		{[]string{"--omit", "input,elapsed_ms"}, strings.Join(slices.DeleteFunc(slices.Clone(record.Fields[1:]), func(f string) bool { return f == "input" || f == "elapsed_ms" }), " ")},
		{[]string{"--fields", "url,status,input", "--omit", "input"}, "url status"},
	} {
		cfg, err := Parse(tc.args, io.Discard)
		var kept []string
		for _, f := range record.Fields[1:] {
			if !slices.Contains(cfg.Drop, f) {
				kept = append(kept, f)
			}
		}
		if err != nil || strings.Join(kept, " ") != tc.kept {
			t.Errorf("%q: writes %q, %v; want %q", tc.args, kept, err, tc.kept)
		}
	}
	for _, bad := range [][]string{
		{"--fields", "url,nope"}, {"--omit", "Status"}, {"--omit", "seq"}, {"--resume", "x", "--omit", "error"}, {"--resume", "x", "--fields", "url"},
	} {
		if _, err := Parse(bad, io.Discard); err == nil || !strings.Contains(err.Error(), bad[len(bad)-2]) && !strings.Contains(err.Error(), "--resume") {
			t.Errorf("%q: %v; want an error naming the flag", bad, err)
		}
	}
}

func TestConnectionFlags(t *testing.T) {
	cfg, err := Parse([]string{"--resolve", "A.test:443:127.0.0.1", "--resolve", "b.test:8443:[::1]", "--extract", "tls"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a.test:443": "127.0.0.1:443", "b.test:8443": "[::1]:8443"}
	if fmt.Sprint(cfg.Transport.Resolve) != fmt.Sprint(want) || !cfg.Fetch.TLSInfo {
		t.Errorf("resolve %v, tls-info %v; want %v and true (--extract tls)", cfg.Transport.Resolve, cfg.Fetch.TLSInfo, want)
	}
}

// The command line a WARC file's warcinfo record gives leaves out the
// secrets it was given: secret headers' values, inline bodies, URL
// passwords.
func TestWARCCommandLeavesOutSecrets(t *testing.T) {
	args := []string{"--warc", "arc", "-H", "Authorization: Bearer a1", "--header=Cookie: c2", "-HX-Api-Key: k3", "-H", "Accept: text/html",
		"--redact", "X-Api-Key", "-d", "password=p4", "--json={\"p\":\"p5\"}", "--data-binary", "@body.bin",
		"--out", "nats://user:p6@127.0.0.1:4222/results", "https://u:p7@example.test/x"}
	got := strings.Join(echoCommand(args, (&record.Parser{Redact: []string{"X-Api-Key"}}).Secrets()), " ")
	for _, secret := range []string{"a1", "c2", "k3", "p4", "p5", "p6", "p7"} {
		if strings.Contains(got, secret) {
			t.Errorf("the command %q gives away %q", got, secret)
		}
	}
	for _, kept := range []string{"sluice", "--warc arc", "Accept: text/html", "Authorization: [redacted]", "@body.bin", "nats://user:[redacted]@127.0.0.1:4222/results"} {
		if !strings.Contains(got, kept) {
			t.Errorf("the command %q lacks %q", got, kept)
		}
	}
}

// --render's flags: its companions need it, a bad value is named, and it
// keeps the body and headers the browser is given.
func TestParseRender(t *testing.T) {
	cfg, err := Parse([]string{"--render", "--render-wait", "#app .price", "--render-load", "all", "--render-workers", "3"}, io.Discard)
	if err != nil || !cfg.Render.On || cfg.Render.Wait != "#app .price" || !cfg.Render.LoadAll || cfg.Render.Workers != 3 ||
		!cfg.Fetch.KeepBody || !cfg.Fetch.KeepHeader || cfg.Render.Timeout != 15*time.Second {
		t.Errorf("--render …: %+v, keep body %v, header %v, %v", cfg.Render, cfg.Fetch.KeepBody, cfg.Fetch.KeepHeader, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--render-wait", "load"}, "--render-wait needs --render"},
		{[]string{"--render", "--render-wait", "a[["}, "--render-wait"},
		{[]string{"--render", "--render-load", "images"}, "--render-load"},
		{[]string{"--render", "--render-workers", "0"}, "--render-workers"},
		{[]string{"--render", "--render-timeout", "0s"}, "--render-timeout"},
	} {
		_, err := Parse(tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v; want an error naming %s", tc.args, err, tc.want)
		}
	}
}
