package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"sluice/internal/config"
)

func TestMain(m *testing.M) {
	if os.Getenv(helloServerEnv) != "" {
		serveHello() // BenchmarkRequests' server, a process of its own
	}
	goleak.VerifyTestMain(m)
}

func parse(t testing.TB, args ...string) config.Config {
	t.Helper()
	cfg, err := config.Parse(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Run in-process: every record comes out, and no goroutine outlives Run,
// whether it ends normally or by cancellation.
func TestRunLeavesNoGoroutines(t *testing.T) {
	var hanging atomic.Int64
	fourHang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			if hanging.Add(1) == 4 {
				close(fourHang)
			}
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	cfg := parse(t, "-c", "4", "--grace", "50ms")

	t.Run("to the end", func(t *testing.T) {
		before := goleak.IgnoreCurrent()
		var in strings.Builder
		for i := range 100 {
			fmt.Fprintf(&in, "%s/ok/%d\nnot a url\n", srv.URL, i)
		}
		var out, errb bytes.Buffer
		if err := Run(context.Background(), cfg, strings.NewReader(in.String()), &out, &errb); err != nil {
			t.Fatalf("Run = %v", err)
		}
		if n := strings.Count(out.String(), "\n"); n != 200 || errb.Len() != 0 {
			t.Errorf("Run wrote %d records and stderr %q; want 200 and nothing", n, errb.String())
		}
		goleak.VerifyNone(t, before)
	})

	t.Run("interrupted", func(t *testing.T) {
		before := goleak.IgnoreCurrent()
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-fourHang // every worker holds a request
			cancel()
		}()
		var out, errb bytes.Buffer
		err := Run(ctx, cfg, strings.NewReader(strings.Repeat(srv.URL+"/hang\n", 6)), &out, &errb)
		if !errors.Is(err, ErrInterrupted) {
			t.Errorf("Run = %v; want ErrInterrupted", err)
		}
		n, canceled := strings.Count(out.String(), "\n"), strings.Count(out.String(), `"kind":"canceled"`)
		if n < 4 || n != canceled {
			t.Errorf("Run wrote %d records, %d canceled; want at least the 4 in flight, all canceled", n, canceled)
		}
		goleak.VerifyNone(t, before)
	})
}

// A URL given as an argument is fetched like an input line, and stdin is
// not read at all.
func TestRunURLArguments(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	cfg := parse(t, srv.URL+"/a", "-u", srv.URL+"/b")
	var out bytes.Buffer
	if err := Run(context.Background(), cfg, failReader{t}, &out, io.Discard); err != nil {
		t.Fatalf("Run = %v", err)
	}
	got := map[string]bool{} // records come out as they finish: looked up by seq
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		got[line[:strings.Index(line, `","final_url"`)]] = strings.Contains(line, `"status":200`)
	}
	want := map[string]bool{`{"seq":1,"url":"` + srv.URL + `/b`: true, `{"seq":2,"url":"` + srv.URL + `/a`: true}
	if len(got) != 2 || !maps.Equal(got, want) {
		t.Errorf("output = %q; want seq 1 /b (from -u), seq 2 /a, both 200", out.String())
	}
}

type failReader struct{ t *testing.T }

func (r failReader) Read([]byte) (int, error) {
	r.t.Error("stdin was read")
	return 0, io.EOF
}
