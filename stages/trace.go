package stages

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"sluice/record"
)

// attemptTrace collects what --trace, --tls-info and --redirect-chain
// report of one attempt. httptrace's hooks may run on the transport's
// goroutines, even after the attempt (a dial outlives a canceled request),
// so everything is under mu.
type attemptTrace struct {
	mu         sync.Mutex
	start      time.Time
	dnsStart   time.Time
	connStart  time.Time
	tlsStart   time.Time
	wrote      time.Time
	firstByte  time.Time
	t          record.Timings
	remote     string
	local      string
	hops       []record.Hop
	state      *tls.ConnectionState // of the final response
	unverified *x509.Certificate    // what a refused server presented
}

type traceKey struct{}

// tracing reports whether attempts are traced at all.
func (f *Fetcher) tracing() bool { return f.cfg.Trace || f.cfg.TLSInfo || f.cfg.RedirectChain }

// startTrace returns ctx carrying a new attemptTrace, with httptrace's
// hooks for --trace.
func (f *Fetcher) startTrace(ctx context.Context, start time.Time) (context.Context, *attemptTrace) {
	at := &attemptTrace{start: start}
	if f.cfg.RedirectChain {
		at.hops = []record.Hop{}
	}
	ctx = context.WithValue(ctx, traceKey{}, at)
	if f.cfg.Trace {
		ctx = httptrace.WithClientTrace(ctx, at.clientTrace())
	}
	return ctx, at
}

// traceOf returns the attemptTrace a request's context carries, or nil.
func traceOf(req *http.Request) *attemptTrace {
	at, _ := req.Context().Value(traceKey{}).(*attemptTrace)
	return at
}

// hop notes a redirect response on the way to the final one.
func (at *attemptTrace) hop(resp *http.Response) {
	if at == nil || at.hops == nil || resp == nil {
		return
	}
	at.mu.Lock()
	defer at.mu.Unlock()
	at.hops = append(at.hops, record.Hop{URL: resp.Request.URL.String(), Status: resp.StatusCode})
}

// lock runs fn under the trace's lock with the time now.
func (at *attemptTrace) lock(fn func(now time.Time)) {
	now := time.Now()
	at.mu.Lock()
	fn(now)
	at.mu.Unlock()
}

func (at *attemptTrace) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn: func(string) { // a request of the chain starts: its phases are the ones reported
			at.lock(func(time.Time) { at.t, at.connStart = record.Timings{}, time.Time{} })
		},
		DNSStart: func(httptrace.DNSStartInfo) { at.lock(func(now time.Time) { at.dnsStart = now }) },
		DNSDone:  func(httptrace.DNSDoneInfo) { at.lock(func(now time.Time) { at.t.DNS = now.Sub(at.dnsStart) }) },
		ConnectStart: func(string, string) {
			at.lock(func(now time.Time) {
				if at.connStart.IsZero() {
					at.connStart = now // the first of happy eyeballs' tries
				}
			})
		},
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				at.lock(func(now time.Time) { at.t.Connect = now.Sub(at.connStart) })
			}
		},
		TLSHandshakeStart: func() { at.lock(func(now time.Time) { at.tlsStart = now }) },
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			at.lock(func(now time.Time) { at.t.TLS = now.Sub(at.tlsStart) })
		},
		GotConn: func(info httptrace.GotConnInfo) {
			at.lock(func(time.Time) {
				at.t.Reused = info.Reused
				at.remote, at.local = info.Conn.RemoteAddr().String(), info.Conn.LocalAddr().String()
			})
		},
		WroteRequest:         func(httptrace.WroteRequestInfo) { at.lock(func(now time.Time) { at.wrote = now }) },
		GotFirstResponseByte: func() { at.lock(func(now time.Time) { at.firstByte = now }) },
	}
}

// done notes the attempt's response, or why it failed, for --tls-info.
func (at *attemptTrace) done(resp *http.Response, err error) {
	at.mu.Lock()
	defer at.mu.Unlock()
	if resp != nil {
		at.state = resp.TLS
	}
	var refused *tls.CertificateVerificationError
	if errors.As(err, &refused) && len(refused.UnverifiedCertificates) > 0 {
		at.unverified = refused.UnverifiedCertificates[0]
	}
}

// finish writes what was asked into r, at the end of the attempt.
func (f *Fetcher) finish(at *attemptTrace, r *record.Record, req *http.Request) {
	end := time.Now()
	at.mu.Lock()
	defer at.mu.Unlock()
	if f.cfg.Trace {
		t := at.t
		if !at.firstByte.IsZero() {
			t.TTFB = at.firstByte.Sub(at.start)
			t.Transfer = end.Sub(at.firstByte)
			if !at.wrote.IsZero() {
				t.Wait = at.firstByte.Sub(at.wrote)
			}
		}
		t.Start, t.Total = at.start, end.Sub(at.start)
		r.Timings, r.RemoteAddr, r.LocalAddr = &t, at.remote, at.local
	}
	if f.cfg.RedirectChain {
		r.Redirects = at.hops
	}
	if f.cfg.TLSInfo {
		r.TLS = tlsInfo(at.state, at.unverified, req, end)
	}
}

// tlsInfo describes a TLS connection, or the certificate a refused server
// presented; nil for plain HTTP.
func tlsInfo(state *tls.ConnectionState, refused *x509.Certificate, req *http.Request, now time.Time) *record.TLSInfo {
	switch {
	case state != nil:
		info := &record.TLSInfo{
			Version:    tls.VersionName(state.Version),
			Cipher:     tls.CipherSuiteName(state.CipherSuite),
			ALPN:       state.NegotiatedProtocol,
			ServerName: state.ServerName,
			Verified:   len(state.VerifiedChains) > 0,
		}
		if len(state.PeerCertificates) > 0 {
			info.Cert = certInfo(state.PeerCertificates[0], now)
		}
		return info
	case refused != nil:
		return &record.TLSInfo{ServerName: req.URL.Hostname(), Cert: certInfo(refused, now)}
	}
	return nil
}

func certInfo(c *x509.Certificate, now time.Time) *record.Cert {
	sans := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		sans = append(sans, ip.String())
	}
	sans = append(sans, c.EmailAddresses...)
	for _, u := range c.URIs {
		sans = append(sans, u.String())
	}
	sum := sha256.Sum256(c.Raw)
	return &record.Cert{
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		SANs:      sans,
		NotBefore: c.NotBefore,
		NotAfter:  c.NotAfter,
		DaysLeft:  int(c.NotAfter.Sub(now).Hours() / 24),
		SHA256:    hex.EncodeToString(sum[:]),
	}
}
