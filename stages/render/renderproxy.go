package render

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// How a rendered page's requests reach sluice: the browser's proxy is a
// listener of sluice's on loopback (pageProxy), loopback included, so
// every request a page makes comes to sluice as a proxy's request, and
// sluice answers it with its own fetcher. A tab sends a header with a
// key of the page's own on all the requests of the page it renders
// (DevTools' extra headers, set before each navigation), which says whose
// a request is; sluice takes it off. A request without a live page's key
// (one of a page that is over, one the browser makes of its own accord,
// anyone else's on the machine) is refused.
//
// The DevTools Fetch domain, which this replaced, answers the same
// requests but costs the browser a round trip through DevTools for each
// of them: bench/chromedploop with the Fetch domain on and every request
// let go on at once was 0.75x-0.85x the plain loop at 4 tabs on 2 cores,
// and enabling it only for images (so that no other request pauses) cost
// as much. Through a proxy the browser's network stack does what it does
// for any proxy, and the loop through one was as fast as the plain loop.
// A browser context of its own for each tab, with a proxy each, would
// have said whose a request is without a header, but cost as much as the
// Fetch domain (0.8x the plain loop at 4 tabs).
//
// An https request comes as a CONNECT: sluice ends the tunnel's TLS itself,
// with a certificate of its own for the host, made with one key the browser
// was told to accept (--ignore-certificate-errors-spki-list; the browser
// has no other way out, so it accepts that key from nothing but sluice),
// and makes the request with its own client, which verifies the host's
// certificate as for any record. A ws: or wss: request (a WebSocket) is
// refused: sluice does not carry them.

// proxyCerts makes the certificates sluice's end of a tunnel shows the
// browser: self-signed, for the host asked, all with one key.
type proxyCerts struct {
	key  *ecdsa.PrivateKey
	spki string // the base64 SHA-256 of the key's SubjectPublicKeyInfo, for the browser's flag

	mu    sync.Mutex
	certs map[string]*tls.Certificate
}

// maxProxyCerts bounds the certificates kept: past it, they are made anew.
const maxProxyCerts = 4096

func newProxyCerts() (*proxyCerts, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &proxyCerts{key: key, spki: base64.StdEncoding.EncodeToString(sum[:]), certs: map[string]*tls.Certificate{}}, nil
}

// forHost returns the certificate for host (a name or an address).
func (pc *proxyCerts) forHost(host string) (*tls.Certificate, error) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if c := pc.certs[host]; c != nil {
		return c, nil
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host, Organization: []string{"sluice --render"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &pc.key.PublicKey, pc.key)
	if err != nil {
		return nil, err
	}
	if len(pc.certs) >= maxProxyCerts {
		clear(pc.certs)
	}
	c := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: pc.key}
	pc.certs[host] = c
	return c, nil
}

// pageProxy is the pages' proxy: an HTTP server on loopback that takes
// the browser's requests, plain ones and those in CONNECT tunnels, and
// gives each to serve.
type pageProxy struct {
	ln      net.Listener
	tunnels *connListener // the tunnels' connections, TLS ended, served by srv too
	srv     *http.Server
	certs   *proxyCerts
	opening sync.WaitGroup // tunnels not yet given to tunnels
}

// newPageProxy starts a proxy whose requests serve answers.
func newPageProxy(certs *proxyCerts, serve func(w http.ResponseWriter, req *http.Request, url string)) (*pageProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	px := &pageProxy{ln: ln, tunnels: newConnListener(ln.Addr()), certs: certs}
	px.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method == http.MethodConnect {
				px.tunnel(w, req)
				return
			}
			serve(w, req, requestURL(req))
		}),
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){}, // HTTP/1.1 only
		ReadHeaderTimeout: time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0), // a browser that hangs up mid-answer is no news
	}
	go px.srv.Serve(ln)         //nolint:errcheck // ends with Close
	go px.srv.Serve(px.tunnels) //nolint:errcheck // ends with Close
	return px, nil
}

// addr is the proxy's address, for the browser's --proxy-server.
func (px *pageProxy) addr() string { return "http://" + px.ln.Addr().String() }

// close ends the proxy and every connection to it.
func (px *pageProxy) close() {
	px.srv.Close()
	px.tunnels.Close()
	px.opening.Wait()
}

// requestURL is the URL a proxied request asks for: absolute for a plain
// request, its path on the tunnel's host for one in a tunnel.
func requestURL(req *http.Request) string {
	if req.URL.IsAbs() {
		return req.URL.String()
	}
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + req.Host + req.URL.RequestURI()
}

// tunnel takes a CONNECT: it says yes, and serves the requests that come
// through, ending their TLS when they speak TLS (an https request), as
// they come (a ws: request, refused by serve).
func (px *pageProxy) tunnel(w http.ResponseWriter, req *http.Request) {
	host, _, err := net.SplitHostPort(req.Host)
	if err != nil {
		http.Error(w, "CONNECT needs host:port", http.StatusBadRequest)
		return
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		conn.Close()
		return
	}
	pc := &peekedConn{Conn: conn, r: buf.Reader}
	stop := context.AfterFunc(px.tunnels.ctx, func() { conn.Close() })
	px.opening.Go(func() {
		defer stop()
		first, err := pc.r.Peek(1)
		if err != nil {
			conn.Close()
			return
		}
		var c net.Conn = pc
		if first[0] == 0x16 { // a TLS handshake's record
			cert, err := px.certs.forHost(strings.Trim(host, "[]"))
			if err != nil {
				conn.Close()
				return
			}
			c = tls.Server(pc, &tls.Config{Certificates: []tls.Certificate{*cert}, NextProtos: []string{"http/1.1"}})
		}
		if !px.tunnels.give(c) {
			conn.Close()
		}
	})
}

// refuseRequest fails the browser's request as a network error would,
// not with a status a script could take for the server's: the answer's
// headers are ones the browser must reject (two lengths that disagree),
// so it neither uses the answer nor sends the request again.
func refuseRequest(w http.ResponseWriter) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	buf.WriteString("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nContent-Length: 1\r\nConnection: close\r\n\r\n")
	buf.Flush() //nolint:errcheck // the browser may be gone
}

// tabHeader carries the key of the page a request is for, as
// tabPrefix+key. It is a header a script may set without making its
// request one that needs a CORS preflight (a safelisted name, and a value
// of letters, digits and dashes): with a header of sluice's own name
// every cross-origin request would have needed one, which the preflight's
// server would not allow. A page's own Content-Language is lost.
const (
	tabHeader = "Content-Language"
	tabPrefix = "sluice-"
)

// hopHeaders are a proxied request's headers for the proxy alone.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authorization", "Te", "Trailer", "Upgrade", tabHeader}

// unloaded reports whether a request is for an image, a font or a medium,
// which a page does not load without --render-load all: by its
// Sec-Fetch-Dest, which the browser sends to https and loopback hosts;
// for other http hosts, by its Accept (an image's), its Range (a medium's
// first bytes) or its name (a font's, or the site's icon).
func unloaded(req *http.Request) bool {
	switch req.Header.Get("Sec-Fetch-Dest") {
	case "image", "font", "audio", "video", "track":
		return true
	case "":
	default:
		return false
	}
	if strings.HasPrefix(req.Header.Get("Accept"), "image/") || req.Header.Get("Range") != "" {
		return true
	}
	switch path.Ext(req.URL.Path) {
	case ".woff", ".woff2", ".ttf", ".otf", ".eot":
		return true
	}
	return strings.HasSuffix(req.URL.Path, "/favicon.ico")
}

// isUpgrade reports whether a request asks for a WebSocket.
func isUpgrade(req *http.Request) bool {
	return strings.EqualFold(req.Header.Get("Upgrade"), "websocket")
}

// peekedConn is a connection whose first bytes were read into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// connListener is a net.Listener whose connections are given to it.
type connListener struct {
	addr  net.Addr
	conns chan net.Conn
	ctx   context.Context // done once closed
	close func()
}

func newConnListener(addr net.Addr) *connListener {
	ctx, cancel := context.WithCancel(context.Background())
	return &connListener{addr: addr, conns: make(chan net.Conn), ctx: ctx, close: cancel}
}

// give hands c to the listener's Accept; false once it is closed.
func (l *connListener) give(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.ctx.Done():
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.close()
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }
