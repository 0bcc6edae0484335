package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/internal/dnstest"
)

// testCA issues certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // the CA certificate, PEM
}

var serial = big.NewInt(100)
var serialMu sync.Mutex

func nextSerial() *big.Int {
	serialMu.Lock()
	defer serialMu.Unlock()
	serial = new(big.Int).Add(serial, big.NewInt(1))
	return serial
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, file: file}
}

// issue makes a certificate for the DNS names and IPs in sans, valid from
// notBefore to notAfter.
func (ca *testCA) issue(t *testing.T, subject pkix.Name, sans []string, notBefore, notAfter time.Time, usage x509.ExtKeyUsage) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: subject, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, s)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

// writePair writes a certificate and its key as PEM files.
func writePair(t *testing.T, c tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	keyDER, err := x509.MarshalECPrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certFile, keyFile
}

// tlsServer serves 200 over TLS with cert, noting each request's SNI and
// Host; clientCAs, when set, requires a client certificate they issued.
type tlsServer struct {
	*httptest.Server
	mu     sync.Mutex
	sni    []string
	host   []string
	remote map[string]bool // the client addresses that sent a request: the connections used
}

func newTLSServer(t *testing.T, cert tls.Certificate, clientCAs *x509.CertPool) *tlsServer {
	t.Helper()
	return newTLSServerH2(t, cert, clientCAs, true)
}

func newTLSServerH2(t *testing.T, cert tls.Certificate, clientCAs *x509.CertPool, h2 bool) *tlsServer {
	t.Helper()
	s := &tlsServer{remote: map[string]bool{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.host = append(s.host, r.Host)
		s.remote[r.RemoteAddr] = true
		s.mu.Unlock()
		fmt.Fprintln(w, "ok")
	}))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		s.mu.Lock()
		s.sni = append(s.sni, hello.ServerName)
		s.mu.Unlock()
		return nil, nil
	}}
	if clientCAs != nil {
		s.TLS.ClientCAs, s.TLS.ClientAuth = clientCAs, tls.RequireAndVerifyClientCert
	}
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused on purpose
	s.EnableHTTP2 = h2
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *tlsServer) port() string { _, p, _ := net.SplitHostPort(s.Listener.Addr().String()); return p }

// traced is the part of an output record the trace tests read.
type traced struct {
	Status  int    `json:"status"`
	Proto   string `json:"proto"`
	Error   *struct{ Kind, Message string }
	Timings *struct {
		DNS      float64 `json:"dns_ms"`
		Connect  float64 `json:"connect_ms"`
		TLS      float64 `json:"tls_ms"`
		TTFB     float64 `json:"ttfb_ms"`
		Wait     float64 `json:"wait_ms"`
		Transfer float64 `json:"transfer_ms"`
		Total    float64 `json:"total_ms"`
		Reused   bool    `json:"reused"`
	} `json:"timings"`
	RemoteAddr string `json:"remote_addr"`
	LocalAddr  string `json:"local_addr"`
	TLS        *struct {
		Version    string `json:"version"`
		Cipher     string `json:"cipher"`
		ALPN       string `json:"alpn"`
		ServerName string `json:"server_name"`
		Verified   bool   `json:"verified"`
		Cert       *struct {
			Subject   string   `json:"subject"`
			Issuer    string   `json:"issuer"`
			SANs      []string `json:"sans"`
			NotBefore string   `json:"not_before"`
			NotAfter  string   `json:"not_after"`
			DaysLeft  int      `json:"days_left"`
			SHA256    string   `json:"sha256"`
		} `json:"cert"`
	} `json:"tls"`
	Redirects []struct {
		URL    string `json:"url"`
		Status int    `json:"status"`
	} `json:"redirects"`
}

// runTraced runs sluice with args over stdin and returns its records in
// input order.
func runTraced(t *testing.T, stdin string, args ...string) []traced {
	t.Helper()
	stdout, stderr, code := runSluice(t, stdin, append([]string{"--ordered"}, args...)...)
	if code != 0 {
		t.Fatalf("%q: exit %d, %s", args, code, stderr)
	}
	var out []traced
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var r traced
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// TestTLSInfo: every tls field is what the test CA issued; --resolve sends
// SNI and Host of the URL's name to the address given; --cacert makes the
// certificate verify, and without it the refused certificate is still
// described.
func TestTLSInfo(t *testing.T) {
	ca := newTestCA(t, "sluice test CA")
	notBefore, notAfter := time.Now().Add(-time.Hour).Truncate(time.Second), time.Now().Add(10*24*time.Hour+time.Hour).Truncate(time.Second)
	cert, leaf := ca.issue(t, pkix.Name{CommonName: "some.name", Organization: []string{"sluice test"}}, []string{"some.name", "127.0.0.1"}, notBefore, notAfter, x509.ExtKeyUsageServerAuth)
	srv := newTLSServer(t, cert, nil)
	url := "https://some.name:" + srv.port() + "/"
	resolve := "some.name:" + srv.port() + ":127.0.0.1"
	sum := sha256.Sum256(leaf.Raw)

	got := runTraced(t, url+"\n", "--tls-info", "--cacert", ca.file, "--resolve", resolve)[0]
	if got.Status != 200 || got.TLS == nil || got.TLS.Cert == nil {
		t.Fatalf("record %+v; want 200 with tls and its certificate", got)
	}
	c := got.TLS.Cert
	if got.TLS.Version != "TLS 1.3" || got.TLS.Cipher == "" || got.TLS.ALPN != "h2" || got.TLS.ServerName != "some.name" || !got.TLS.Verified {
		t.Errorf("tls = %+v; want TLS 1.3, a cipher, h2, some.name, verified", got.TLS)
	}
	if c.Subject != "CN=some.name,O=sluice test" || c.Issuer != "CN=sluice test CA" || strings.Join(c.SANs, ",") != "some.name,127.0.0.1" ||
		c.NotBefore != notBefore.UTC().Format(time.RFC3339) || c.NotAfter != notAfter.UTC().Format(time.RFC3339) ||
		c.DaysLeft != 10 || c.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("cert = %+v; want what was issued (days_left 10)", c)
	}
	srv.mu.Lock()
	if strings.Join(srv.sni, ",") != "some.name" || strings.Join(srv.host, ",") != "some.name:"+srv.port() {
		t.Errorf("the server saw SNI %q and Host %q; want some.name and some.name:%s", srv.sni, srv.host, srv.port())
	}
	srv.mu.Unlock()

	refused := runTraced(t, url+"\n", "--tls-info", "--resolve", resolve)[0]
	if refused.Error == nil || refused.Error.Kind != "tls" || refused.TLS == nil || refused.TLS.Verified ||
		refused.TLS.Cert == nil || refused.TLS.Cert.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("without --cacert: %+v; want error tls and the certificate presented", refused)
	}
	insecure := runTraced(t, url+"\n", "--extract", "tls", "--insecure", "--resolve", resolve)[0]
	if insecure.Status != 200 || insecure.TLS == nil || insecure.TLS.Verified {
		t.Errorf("--insecure: %+v; want 200, verified false", insecure)
	}
	plain := runTraced(t, newSite(t).URL+"/hello\n", "--tls-info")[0]
	if plain.Status != 200 || plain.TLS != nil {
		t.Errorf("plain HTTP with --tls-info: %+v; want no tls", plain)
	}
}

// TestTLSExpired: an expired certificate is an error of kind tls that still
// says when it expired, even with its CA trusted.
func TestTLSExpired(t *testing.T) {
	ca := newTestCA(t, "sluice test CA")
	notAfter := time.Now().Add(-72 * time.Hour).Truncate(time.Second)
	cert, _ := ca.issue(t, pkix.Name{CommonName: "old.name"}, []string{"old.name"}, notAfter.Add(-30*24*time.Hour), notAfter, x509.ExtKeyUsageServerAuth)
	srv := newTLSServer(t, cert, nil)
	got := runTraced(t, "https://old.name:"+srv.port()+"/\n", "--tls-info", "--cacert", ca.file, "--resolve", "old.name:"+srv.port()+":127.0.0.1")[0]
	if got.Error == nil || got.Error.Kind != "tls" || got.TLS == nil || got.TLS.Cert == nil ||
		got.TLS.Cert.NotAfter != notAfter.UTC().Format(time.RFC3339) || got.TLS.Cert.DaysLeft > -2 {
		t.Errorf("record %+v; want error tls with not_after %s and days_left -3 or less", got, notAfter.UTC().Format(time.RFC3339))
	}
}

// TestMutualTLS: a server that requires a client certificate takes the
// request only with --cert and --key.
func TestMutualTLS(t *testing.T) {
	ca := newTestCA(t, "sluice test CA")
	clientCA := newTestCA(t, "client CA")
	serverCert, _ := ca.issue(t, pkix.Name{CommonName: "mtls.name"}, []string{"mtls.name"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), x509.ExtKeyUsageServerAuth)
	clientCert, _ := clientCA.issue(t, pkix.Name{CommonName: "crawler"}, nil, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), x509.ExtKeyUsageClientAuth)
	pool := x509.NewCertPool()
	pool.AddCert(clientCA.cert)
	srv := newTLSServer(t, serverCert, pool)
	in := "https://mtls.name:" + srv.port() + "/\n"
	args := []string{"--cacert", ca.file, "--resolve", "mtls.name:" + srv.port() + ":127.0.0.1", "--retries", "0"}
	if got := runTraced(t, in, args...)[0]; got.Status != 0 || got.Error == nil {
		t.Errorf("without a client certificate: %+v; want an error", got)
	}
	certFile, keyFile := writePair(t, clientCert)
	if got := runTraced(t, in, append(args, "--cert", certFile, "--key", keyFile)...)[0]; got.Status != 200 {
		t.Errorf("with --cert and --key: %+v; want 200", got)
	}
	for _, bad := range [][]string{{"--cacert", filepath.Join(t.TempDir(), "none.pem")}, {"--cacert", certFile + "x"}, {"--cert", keyFile, "--key", keyFile}} {
		stdout, stderr, code := runSluice(t, in, bad...)
		if code != 1 || stdout != "" || !strings.Contains(stderr, bad[0]) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 1, no output, a message naming %s", bad, code, stdout, stderr, bad[0])
		}
	}
}

// TestTraceTimings: the phases add up within each record, a reused
// connection says so, and the addresses are the ones used.
func TestTraceTimings(t *testing.T) {
	ca := newTestCA(t, "sluice test CA")
	cert, _ := ca.issue(t, pkix.Name{CommonName: "t.name"}, []string{"t.name"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), x509.ExtKeyUsageServerAuth)
	srv := newTLSServer(t, cert, nil)
	site := newSite(t)
	_, sitePort, _ := net.SplitHostPort(strings.TrimPrefix(site.URL, "http://"))
	in := "https://t.name:" + srv.port() + "/a\nhttps://t.name:" + srv.port() + "/b\nhttp://localhost:" + sitePort + "/hello\n"
	recs := runTraced(t, in, "--trace", "-c", "1", "--cacert", ca.file, "--resolve", "t.name:"+srv.port()+":127.0.0.1")
	const rounding = 0.003 // three values each rounded down to the microsecond
	for i, r := range recs {
		tm := r.Timings
		if r.Status != 200 || tm == nil {
			t.Fatalf("record %d: %+v; want 200 with timings", i+1, r)
		}
		if tm.DNS+tm.Connect+tm.TLS > tm.TTFB+rounding || tm.TTFB > tm.Total+rounding || tm.Wait > tm.TTFB+rounding || tm.Transfer > tm.Total+rounding {
			t.Errorf("record %d: timings %+v; want dns+connect+tls <= ttfb <= total, wait <= ttfb", i+1, *tm)
		}
		if !strings.HasPrefix(r.RemoteAddr, "127.0.0.1:") && !strings.HasPrefix(r.RemoteAddr, "[::1]:") || r.LocalAddr == "" {
			t.Errorf("record %d: remote %q, local %q; want loopback addresses", i+1, r.RemoteAddr, r.LocalAddr)
		}
	}
	first, second, local := recs[0].Timings, recs[1].Timings, recs[2].Timings
	if first.Reused || first.TLS == 0 || first.Connect == 0 || first.DNS != 0 {
		t.Errorf("first TLS request: %+v; want a new connection with connect and tls, no DNS (--resolve)", *first)
	}
	if !second.Reused || second.TLS != 0 || second.Connect != 0 {
		t.Errorf("second request at -c 1: %+v; want the connection reused, no connect, no tls", *second)
	}
	if local.Reused || local.Connect == 0 || local.TLS != 0 {
		t.Errorf("plain HTTP to localhost: %+v; want a new connection, no tls", *local)
	}
}

// TestTraceReusedPhases: at -c 4 over HTTP/2 and HTTP/1.1, where a request
// that started a dial is often handed a connection that became free or was
// dialled by another request first, each record's phases are those of the
// connection it used: a reused one has no DNS, connect or TLS time, a new
// one has connect and TLS time, and there are no more records on new
// connections than connections that carried a request (fewer over
// HTTP/1.1: a connection dialled for a request that took another one waits
// idle, and net/http calls its first use reused, rightly for the timings:
// that request waited for no dial). The dial's hooks used to fire into the
// request that started it: "reused": true with "tls_ms": 1.8.
func TestTraceReusedPhases(t *testing.T) {
	ca := newTestCA(t, "sluice test CA")
	cert, _ := ca.issue(t, pkix.Name{CommonName: "t.name"}, []string{"t.name"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), x509.ExtKeyUsageServerAuth)
	for _, h2 := range []bool{true, false} {
		srv := newTLSServerH2(t, cert, nil, h2)
		var in strings.Builder
		for i := range 300 {
			fmt.Fprintf(&in, "https://t.name:%s/%d\n", srv.port(), i)
		}
		recs := runTraced(t, in.String(), "--trace", "-c", "4", "--cacert", ca.file, "--resolve", "t.name:"+srv.port()+":127.0.0.1")
		wantProto := map[bool]string{true: "HTTP/2.0", false: "HTTP/1.1"}[h2]
		fresh := 0
		for i, r := range recs {
			tm := r.Timings
			if r.Status != 200 || tm == nil || r.Proto != wantProto {
				t.Fatalf("%s record %d: %+v; want 200 with timings", wantProto, i+1, r)
			}
			switch {
			case tm.Reused && (tm.DNS != 0 || tm.Connect != 0 || tm.TLS != 0):
				t.Errorf("%s record %d: %+v; a reused connection has no dns, connect or tls", wantProto, i+1, *tm)
			case !tm.Reused && (tm.Connect == 0 || tm.TLS == 0):
				t.Errorf("%s record %d: %+v; a new connection has connect and tls", wantProto, i+1, *tm)
			}
			if !tm.Reused {
				fresh++
			}
		}
		srv.mu.Lock()
		used := len(srv.remote)
		srv.mu.Unlock()
		if fresh < 1 || fresh > used {
			t.Errorf("%s: %d records on a new connection; the server saw requests on %d connections", wantProto, fresh, used)
		}
		t.Logf("%s: %d records, %d connections used", wantProto, len(recs), used)
	}
}

// TestRedirectChain: chains of 0, 1 and 5 redirects, and a loop stopped at
// --max-redirects with every redirect received listed.
func TestRedirectChain(t *testing.T) {
	base := newSite(t).URL
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusMovedPermanently)
	}))
	t.Cleanup(loop.Close)
	in := base + "/page/1\n" + base + "/redirect/1\n" + base + "/redirect/5\n" + loop.URL + "/loop\n"
	recs := runTraced(t, in, "--redirect-chain", "--max-redirects", "5")
	wantHops := []int{0, 1, 5, 6}
	for i, r := range recs {
		if len(r.Redirects) != wantHops[i] || r.Redirects == nil {
			t.Errorf("record %d: redirects %+v; want %d", i+1, r.Redirects, wantHops[i])
		}
		for _, h := range r.Redirects {
			if h.Status < 300 || h.Status > 399 || !strings.HasPrefix(h.URL, "http://127.0.0.1:") {
				t.Errorf("record %d: hop %+v; want a 3xx from the local server", i+1, h)
			}
		}
	}
	if recs[2].Status != 200 || recs[2].Redirects[0].URL != base+"/redirect/5" {
		t.Errorf("5 redirects: %+v; want 200 and the chain from /redirect/5", recs[2])
	}
	if recs[3].Error == nil || recs[3].Error.Kind != "redirects" || recs[3].Redirects[5].URL != loop.URL+"/loop" {
		t.Errorf("loop: %+v; want error redirects and the chain up to the limit", recs[3])
	}
}

// TestDNSServer: with --dns-server, 1,000 URLs on 10 names ask the server
// about each name once within its TTL (dnstest counts the questions); a
// name it does not know is an error of kind dns.
func TestDNSServer(t *testing.T) {
	site := newSite(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(site.URL, "http://"))
	names := map[string]dnstest.Name{}
	for i := range 10 {
		names[fmt.Sprintf("n%d.test", i)] = dnstest.Name{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, TTL: 300}
	}
	dnsSrv := dnstest.Start(t, names)
	var in strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&in, "http://n%d.test:%s/hello?i=%d\n", i%10, port, i)
	}
	in.WriteString("http://unknown.test:" + port + "/\n")
	recs, _ := runOK(t, in.String(), "--dns-server", dnsSrv.Addr, "-c", "50", "--ordered", "--retries", "0")
	for i, r := range recs[:1000] {
		if r.Status != 200 {
			t.Fatalf("record %d: %+v; want 200", i+1, r)
		}
	}
	if last := recs[1000]; last.kind() != "dns" {
		t.Errorf("unknown name: %+v; want an error of kind dns", last)
	}
	for name := range names {
		if n := dnsSrv.Count(name, "A"); n != 1 {
			t.Errorf("%s: %d A questions for 100 URLs within the TTL; want 1", name, n)
		}
	}
	if _, stderr, code := runSluice(t, "", "--dns-server", "not-an-ip"); code != 2 || !strings.Contains(stderr, "--dns-server") {
		t.Errorf("--dns-server not-an-ip: exit %d, %q; want 2 naming the flag", code, stderr)
	}
}
