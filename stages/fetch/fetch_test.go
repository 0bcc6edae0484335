package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"sluice/record"
	"sluice/stages/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// newFetcher returns a fetcher over transport.New's transport, made with
// conn (at most one) and cfg's concurrency and timeout.
func newFetcher(t *testing.T, cfg Config, conn ...transport.Config) *Fetcher {
	t.Helper()
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 4
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 1 << 20
	}
	var tc transport.Config
	if len(conn) > 0 {
		tc = conn[0]
	}
	tc.Concurrency, tc.Timeout = cfg.Concurrency, cfg.Timeout
	rt, err := transport.New(tc)
	if err != nil {
		t.Fatalf("transport.New: %v", err)
	}
	f, err := NewFetcher(cfg, rt)
	if err != nil {
		t.Fatalf("NewFetcher: %v", err)
	}
	t.Cleanup(f.Close)
	return f
}

func fetch(t *testing.T, f *Fetcher, url string) *record.Record {
	t.Helper()
	r := record.Parse(1, []byte(url), "url") // as the sources make records
	if r.Err != nil {
		t.Fatalf("record.Parse(%q): %v", url, r.Err)
	}
	f.Fetch(context.Background(), r)
	return r
}

// A record from record.Parse is sent with its parsed URL: the request is
// the one net/http would build from the URL as the WHATWG URL Standard
// writes it (URL, Host, what the server sees), and a record without one is
// parsed as before.
func TestFetchRequestURL(t *testing.T) {
	f := newFetcher(t, Config{})
	for _, u := range []string{
		"http://a.test/", "HTTP://A.Test:8080/x/../y?q=1&r=%2F#frag", "http://a.test:/empty-port",
		"https://[::1]:443/a%20b", "http://user:pw@a.test/p;x?y", "http://a.test/\u00e9?\u00fc=1",
	} {
		r := record.Parse(1, []byte(u), "url")
		if r.Err != nil || r.Target == nil {
			t.Fatalf("record.Parse(%q) = %v, target %v", u, r.Err, r.Target)
		}
		got, err := f.newRequest(context.Background(), r, f.shape(r.Request))
		if err != nil {
			t.Fatalf("newRequest(%q): %v", u, err)
		}
		href, err := record.WebURL(u)
		if err != nil {
			t.Fatal(err)
		}
		want, err := http.NewRequest(http.MethodGet, href, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.URL.String() != want.URL.String() || got.Host != want.Host || got.URL.RequestURI() != want.URL.RequestURI() {
			t.Errorf("%q: request for %s, Host %q; want %s, Host %q", u, got.URL, got.Host, want.URL, want.Host)
		}
	}

	seen := make(chan string, 1)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { seen <- r.RequestURI })
	for name, r := range map[string]*record.Record{
		"parsed":     record.Parse(1, []byte(srv.URL+"/a%20b/c?x=1&y=%2F"), "url"),
		"not parsed": {Seq: 1, URL: srv.URL + "/a%20b/c?x=1&y=%2F"},
	} {
		f.Fetch(context.Background(), r)
		if r.Status != 200 {
			t.Fatalf("%s: Fetch = %+v", name, r)
		}
		if got := <-seen; got != "/a%20b/c?x=1&y=%2F" {
			t.Errorf("%s: server saw %q; want /a%%20b/c?x=1&y=%%2F", name, got)
		}
	}
}

func kindOf(r *record.Record) record.Kind {
	if r.Err == nil {
		return ""
	}
	return r.Err.Kind
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// rawServer answers every connection with fn, below HTTP.
func rawServer(t *testing.T, fn func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fn(c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func TestFetchResults(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, "hello")
		case "/big":
			io.WriteString(w, strings.Repeat("b", 5000))
		case "/missing":
			http.Error(w, "no", http.StatusNotFound)
		case "/redirect":
			w.Header().Set("Location", "/ok")
			w.WriteHeader(http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/to-ftp":
			http.Redirect(w, r, "ftp://files.test/x", http.StatusFound)
		case "/headers":
			fmt.Fprintf(w, "%s|%s", r.Header.Get("User-Agent"), r.Header.Get("X-Token"))
		}
	})
	tests := []struct {
		name       string
		cfg        Config
		path       string
		wantStatus int
		wantKind   record.Kind
		wantLen    int64
		wantTrunc  bool
		wantFinal  string
	}{
		{"ok", Config{MaxRedirects: 10}, "/ok", 200, "", 5, false, "/ok"},
		{"not found is a result", Config{}, "/missing", 404, "", 3, false, "/missing"},
		{"not found with fail-status", Config{FailStatus: true}, "/missing", 404, record.KindHTTP, 3, false, "/missing"},
		{"redirect followed", Config{MaxRedirects: 10}, "/redirect", 200, "", 5, false, "/ok"},
		{"redirect not followed", Config{MaxRedirects: 0}, "/redirect", 302, "", 0, false, "/redirect"},
		{"redirect loop", Config{MaxRedirects: 3}, "/loop", 0, record.KindRedirects, 0, false, ""},
		{"redirect to ftp", Config{MaxRedirects: 10}, "/to-ftp", 0, record.KindRedirects, 0, false, ""},
		{"body capped", Config{MaxBody: 1000}, "/big", 200, "", 1000, true, "/big"},
		{"body at cap exactly", Config{MaxBody: 5000}, "/big", 200, "", 5000, false, "/big"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fetch(t, newFetcher(t, tc.cfg), srv.URL+tc.path)
			if r.Status != tc.wantStatus || kindOf(r) != tc.wantKind {
				t.Errorf("Fetch(%q) = status %d, err %v; want status %d, kind %q", tc.path, r.Status, r.Err, tc.wantStatus, tc.wantKind)
			}
			if r.ContentLength != tc.wantLen || r.Truncated != tc.wantTrunc {
				t.Errorf("Fetch(%q) = content_length %d truncated %v; want %d %v", tc.path, r.ContentLength, r.Truncated, tc.wantLen, tc.wantTrunc)
			}
			if tc.wantFinal != "" && r.FinalURL != srv.URL+tc.wantFinal {
				t.Errorf("Fetch(%q).FinalURL = %q; want %q", tc.path, r.FinalURL, srv.URL+tc.wantFinal)
			}
			if r.Attempts != 1 || r.Elapsed <= 0 {
				t.Errorf("Fetch(%q) attempts %d elapsed %v; want 1 and > 0", tc.path, r.Attempts, r.Elapsed)
			}
		})
	}
}

func TestFetchSendsHeaders(t *testing.T) {
	seen := make(chan http.Header, 1)
	hosts := make(chan string, 1)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		hosts <- r.Host
	})
	h := http.Header{}
	h.Set("User-Agent", "sluice/test")
	h.Set("X-Token", "s3cret")
	h.Set("Host", "virtual.test")
	f := newFetcher(t, Config{Header: h, Method: http.MethodHead})
	if r := fetch(t, f, srv.URL); r.Status != 200 {
		t.Fatalf("Fetch = %+v", r)
	}
	got := <-seen
	if got.Get("User-Agent") != "sluice/test" || got.Get("X-Token") != "s3cret" {
		t.Errorf("server saw headers %v; want User-Agent and X-Token as given", got)
	}
	if host := <-hosts; host != "virtual.test" {
		t.Errorf("server saw Host %q; want the -H Host, virtual.test", host)
	}
}

// Credentials given with -H go to the host they were given for, not to
// another host a redirect leads to.
func TestFetchRedirectDropsCredentials(t *testing.T) {
	seen := make(chan http.Header, 2)
	other := newServer(t, func(w http.ResponseWriter, r *http.Request) { seen <- r.Header.Clone() })
	first := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			w.Header().Set("Location", "/landing")
		} else if r.URL.Path == "/landing" {
			seen <- r.Header.Clone()
			return
		} else {
			w.Header().Set("Location", other.URL+"/landing")
		}
		w.WriteHeader(http.StatusFound)
	})
	h := http.Header{}
	h.Set("Authorization", "Bearer s3cret")
	h.Set("Cookie", "session=s3cret")
	h.Set("X-Other", "kept")
	f := newFetcher(t, Config{Header: h, MaxRedirects: 5})
	for _, tc := range []struct {
		path      string
		wantCreds bool
	}{{"/same", true}, {"/elsewhere", false}} {
		if r := fetch(t, f, first.URL+tc.path); r.Status != 200 {
			t.Fatalf("%s: %+v", tc.path, r.Err)
		}
		got := <-seen
		if creds := got.Get("Authorization") != "" && got.Get("Cookie") != ""; creds != tc.wantCreds || got.Get("X-Other") != "kept" {
			t.Errorf("redirect %s: landing saw Authorization %q Cookie %q X-Other %q; want credentials %v",
				tc.path, got.Get("Authorization"), got.Get("Cookie"), got.Get("X-Other"), tc.wantCreds)
		}
	}
	if h.Get("Authorization") == "" {
		t.Errorf("the shared header map lost Authorization: redirects must not change it")
	}
}

func TestFetchErrors(t *testing.T) {
	hang := newServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	slowBody := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "start")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	reset := rawServer(t, func(c net.Conn) {
		buf := make([]byte, 1024)
		c.Read(buf) // the request; the test only needs the connection to drop after it
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // close with RST
		}
		c.Close()
	})
	garbage := rawServer(t, func(c net.Conn) {
		buf := make([]byte, 1024)
		c.Read(buf)
		io.WriteString(c, "SPLAT nonsense\r\n\r\n")
		c.Close()
	})
	shortBody := rawServer(t, func(c net.Conn) {
		buf := make([]byte, 1024)
		c.Read(buf)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a little")
		c.Close()
	})
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)

	tests := []struct {
		name string
		url  string
		cfg  Config
		want record.Kind
		conn transport.Config
	}{
		{"connect refused", "http://" + closedPort(t) + "/", Config{}, record.KindConnect, transport.Config{}},
		{"timeout waiting for headers", hang.URL, Config{Timeout: 200 * time.Millisecond}, record.KindTimeout, transport.Config{}},
		{"timeout reading body", slowBody.URL, Config{Timeout: 200 * time.Millisecond}, record.KindTimeout, transport.Config{}},
		{"reset", "http://" + reset + "/", Config{}, record.KindReset, transport.Config{}},
		{"not http", "http://" + garbage + "/", Config{}, record.KindProtocol, transport.Config{}},
		{"body shorter than content-length", "http://" + shortBody + "/", Config{}, record.KindReset, transport.Config{}},
		{"self-signed certificate", tlsSrv.URL, Config{}, record.KindTLS, transport.Config{}},
		{"self-signed with insecure", tlsSrv.URL, Config{}, "", transport.Config{Insecure: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fetch(t, newFetcher(t, tc.cfg, tc.conn), tc.url)
			if kindOf(r) != tc.want {
				t.Errorf("Fetch(%q) error = %v; want kind %q", tc.url, r.Err, tc.want)
			}
			if r.Err != nil && strings.Contains(r.Err.Message, tc.url) {
				t.Errorf("message %q repeats the URL the record already has", r.Err.Message)
			}
		})
	}
}

func TestFetchHTTP2(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	r := fetch(t, newFetcher(t, Config{}, transport.Config{Insecure: true}), srv.URL)
	if r.Proto != "HTTP/2.0" {
		t.Errorf("Fetch over TLS: proto %q (err %v); want HTTP/2.0", r.Proto, r.Err)
	}
}

// Cancelling the caller's context is reported as canceled, not as the
// timeout or reset it causes underneath.
func TestFetchCanceled(t *testing.T) {
	started := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	})
	f := newFetcher(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	r := &record.Record{URL: srv.URL}
	f.Fetch(ctx, r)
	if kindOf(r) != record.KindCanceled {
		t.Errorf("Fetch after cancel: error %v; want kind canceled", r.Err)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want record.Kind
	}{
		{"dns", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}}, record.KindDNS},
		{"dns timeout", &net.DNSError{Err: "i/o timeout", Name: "x.test", IsTimeout: true}, record.KindTimeout},
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, record.KindConnect},
		{"unreachable", &net.OpError{Op: "dial", Err: syscall.EHOSTUNREACH}, record.KindConnect},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, record.KindReset},
		{"unexpected eof", io.ErrUnexpectedEOF, record.KindReset},
		{"deadline", fmt.Errorf("wrapped: %w", context.DeadlineExceeded), record.KindTimeout},
		{"canceled", context.Canceled, record.KindCanceled},
		{"redirect", &redirectError{"stopped after 10 redirects"}, record.KindRedirects},
		{"tls alert", errors.New("remote error: tls: handshake failure"), record.KindTLS},
		{"unknown", errors.New("net/http: something odd"), record.KindProtocol},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v) = %q; want %q", tc.err, got, tc.want)
			}
		})
	}
}

func TestNewFetcherRejects(t *testing.T) {
	for _, cfg := range []Config{
		{Concurrency: 0, Timeout: time.Second},
		{Concurrency: 1, Timeout: 0},
		{Concurrency: 1, Timeout: time.Second, MaxBody: -1},
		{Concurrency: 1, Timeout: time.Second, MaxRedirects: -1},
	} {
		if _, err := NewFetcher(cfg, &http.Transport{}); err == nil {
			t.Errorf("NewFetcher(%+v) = nil error; want one", cfg)
		}
	}
}

// A new connection to a host seen before resumes its TLS session.
func TestFetchTLSResumption(t *testing.T) {
	var mu sync.Mutex
	var resumed []bool
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		resumed = append(resumed, r.TLS.DidResume)
		mu.Unlock()
		w.Header().Set("Connection", "close") // every request on a new connection
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	f := newFetcher(t, Config{}, transport.Config{Insecure: true})
	for range 3 {
		if r := fetch(t, f, srv.URL+"/"); r.Status != 200 {
			t.Fatalf("status %d, %v", r.Status, r.Err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(resumed) != "[false true true]" {
		t.Errorf("resumed %v; want the second and third connections to resume the first's session", resumed)
	}
}
