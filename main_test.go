package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
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
		got, err := parseSize(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestSizeString(t *testing.T) {
	for n, want := range map[int64]string{10 << 20: "10MiB", 64 << 10: "64KiB", 1 << 30: "1GiB", 1000: "1000", 0: "0", 1536: "1536"} {
		v := sizeValue(n)
		if got := v.String(); got != want {
			t.Errorf("sizeValue(%d).String() = %q; want %q", n, got, want)
		}
		if back, err := parseSize(v.String()); err != nil || back != n {
			t.Errorf("parseSize(%q) = %d, %v; want %d", v.String(), back, err, n)
		}
	}
}

// FuzzParseSize: never panics, never negative, and plain numbers round-trip.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"10MiB", "1048576", "1.5k", "9223372036854775807", "8EiB", " 3 gb "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("parseSize(%q) = %d", s, n)
		}
		if err == nil {
			if back, err := parseSize(strconv.FormatInt(n, 10)); err != nil || back != n {
				t.Fatalf("parseSize(%d) = %d, %v; want it back", n, back, err)
			}
		}
	})
}

func TestParseFlags(t *testing.T) {
	var help strings.Builder
	cfg, err := parseFlags([]string{"-c", "7", "--timeout", "3s", "--max-body", "1KiB", "-H", "X-A: 1",
		"-H", "User-Agent: mine", "-X", "HEAD", "--max-redirects", "0", "a.txt", "-"}, &help)
	if err != nil {
		t.Fatalf("parseFlags: %v", err)
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
	if strings.Join(cfg.Files, ",") != "a.txt,-" {
		t.Errorf("files = %q", cfg.Files)
	}
	if help.Len() != 0 {
		t.Errorf("parseFlags wrote %q to stdout", help.String())
	}
	cfg, err = parseFlags(nil, &help)
	if err != nil || cfg.Fetch.Header.Get("User-Agent") != "sluice/"+version || cfg.Fetch.Concurrency != 50 ||
		cfg.Fetch.MaxBody != 10<<20 || cfg.Grace != 5*time.Second || cfg.URLField != "url" {
		t.Errorf("defaults = %+v, %v", cfg, err)
	}
}

// run in-process: every record comes out, and no goroutine outlives run,
// whether it ends normally or by cancellation.
func TestRunLeavesNoGoroutines(t *testing.T) {
	var hanging atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			hanging.Add(1)
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	cfg, err := parseFlags([]string{"-c", "4", "--host-concurrency", "4", "--grace", "50ms"}, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("to the end", func(t *testing.T) {
		before := goleak.IgnoreCurrent()
		var in strings.Builder
		for i := range 100 {
			fmt.Fprintf(&in, "%s/ok/%d\nnot a url\n", srv.URL, i)
		}
		var out, errb bytes.Buffer
		if err := run(context.Background(), cfg, strings.NewReader(in.String()), &out, &errb); err != nil {
			t.Fatalf("run = %v", err)
		}
		if n := strings.Count(out.String(), "\n"); n != 200 || errb.Len() != 0 {
			t.Errorf("run wrote %d records and stderr %q; want 200 and nothing", n, errb.String())
		}
		goleak.VerifyNone(t, before)
	})

	t.Run("interrupted", func(t *testing.T) {
		before := goleak.IgnoreCurrent()
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for hanging.Load() < 4 {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		var out, errb bytes.Buffer
		err := run(ctx, cfg, strings.NewReader(strings.Repeat(srv.URL+"/hang\n", 6)), &out, &errb)
		if !errors.Is(err, errInterrupted) {
			t.Errorf("run = %v; want errInterrupted", err)
		}
		n, canceled := strings.Count(out.String(), "\n"), strings.Count(out.String(), `"kind":"canceled"`)
		if n < 4 || n != canceled {
			t.Errorf("run wrote %d records, %d canceled; want at least the 4 in flight, all canceled", n, canceled)
		}
		goleak.VerifyNone(t, before)
	})
}

// Every flag is in exactly one --help group: none falls into "Other", and
// none is listed twice.
func TestHelpGroups(t *testing.T) {
	var help bytes.Buffer
	if _, err := parseFlags([]string{"--help"}, &help); !errors.Is(err, errHelpShown) {
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
