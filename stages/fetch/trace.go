package fetch

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
	"sluice/stages/transport"
)

// attemptTrace collects what --trace, --tls-info and --redirect-chain
// report of one attempt. httptrace's hooks may run on the transport's
// goroutines, even after the attempt (a dial outlives a canceled request),
// so everything is under mu.
//
// The DNS, connect and TLS phases reported are those of the connection the
// request used, not of the dial it started: net/http hands a request
// whichever connection is ready first, an idle one freed meanwhile or one
// another request dialled, while its own dial goes on and its hooks still
// fire. So the dial hooks write into dial, a DialPhases that the dialled
// connection keeps (connTracker.dial), and GotConn takes the phases from
// the connection it got: none for a reused one.
type attemptTrace struct {
	mu         sync.Mutex
	start      time.Time
	dial       *transport.DialPhases // of the dial this request (or redirect) may start
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
	at := &attemptTrace{start: start, dial: &transport.DialPhases{}}
	if f.cfg.RedirectChain {
		at.hops = []record.Hop{}
	}
	ctx = context.WithValue(ctx, traceKey{}, at)
	ctx = transport.WithPhases(ctx, at.currentDial)
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

// currentDial returns the phases a dial started now writes into.
func (at *attemptTrace) currentDial() *transport.DialPhases {
	at.mu.Lock()
	defer at.mu.Unlock()
	return at.dial
}

func (at *attemptTrace) clientTrace() *httptrace.ClientTrace {
	// The dial hooks write into the phases of the dial that fired them,
	// taken when it started (at.dial is replaced at each GetConn).
	dial := at.currentDial
	return &httptrace.ClientTrace{
		GetConn: func(string) { // a request of the chain starts: its phases are the ones reported
			at.lock(func(time.Time) { at.t, at.dial = record.Timings{}, &transport.DialPhases{} })
		},
		DNSStart: func(httptrace.DNSStartInfo) { p := dial(); p.Lock(func(now time.Time) { p.DNSStart = now }) },
		DNSDone:  func(httptrace.DNSDoneInfo) { p := dial(); p.Lock(func(now time.Time) { p.DNS = now.Sub(p.DNSStart) }) },
		ConnectStart: func(string, string) {
			p := dial()
			p.Lock(func(now time.Time) {
				if p.ConnStart.IsZero() {
					p.ConnStart = now // the first of happy eyeballs' tries
				}
			})
		},
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				p := dial()
				p.Lock(func(now time.Time) { p.Connect = now.Sub(p.ConnStart) })
			}
		},
		TLSHandshakeStart: func() { p := dial(); p.Lock(func(now time.Time) { p.TLSStart = now }) },
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			p := dial()
			p.Lock(func(now time.Time) { p.TLS = now.Sub(p.TLSStart) })
		},
		GotConn: func(info httptrace.GotConnInfo) {
			var dns, connect, tlsTook time.Duration
			if p := transport.PhasesOf(info.Conn); p != nil && !info.Reused {
				dns, connect, tlsTook = p.Durations()
			}
			at.lock(func(time.Time) {
				at.t.Reused = info.Reused
				at.t.DNS, at.t.Connect, at.t.TLS = dns, connect, tlsTook
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
