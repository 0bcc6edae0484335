package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config is what New needs; the flags fill it.
type Config struct {
	Concurrency  int           // parallel requests; sizes the connection pool
	MaxIdleConns int           // idle connections kept over all hosts; 0 for IdleConns's default
	MaxIdleHosts int           // hosts the schedule forgot whose connections may be kept; 0 for DefaultIdleHosts
	Timeout      time.Duration // the dial, and the TLS handshake
	Insecure     bool          // skip TLS certificate verification
	DenyPrivate  bool          // refuse to connect to non-public addresses; also ignores proxies

	Resolve    map[string]string // --resolve: "host:port" (lower case) -> the "ip:port" to connect to
	DNSServers []string          // --dns-server: resolve through these, with a TTL cache, not the system's resolver
	CACert     string            // --cacert: a PEM file of CAs to trust
	CACertOnly bool              // --cacert-only: trust those alone, not the system's
	ClientCert string            // --cert: a PEM client certificate for mutual TLS
	ClientKey  string            // --key: its private key
}

// Transport is sluice's http.RoundTripper over TCP: HTTP/1.1 and HTTP/2
// through one pool, dialled as Config says, with a connection policy that
// keeps the connections of the hosts the schedule will come back to
// (HostDone, HostBack). It is safe for concurrent use; it is never changed
// after New.
type Transport struct {
	pool  *http.Transport
	conns *connTracker
}

var _ http.RoundTripper = (*Transport)(nil)

// New checks cfg and builds the transport. A file that cannot be read or
// holds nothing usable is an error naming its flag.
func New(cfg Config) (*Transport, error) {
	if cfg.Concurrency < 1 {
		return nil, fmt.Errorf("concurrency %d: must be at least 1", cfg.Concurrency)
	}
	tlsConfig, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	dial, proxy := cfg.dialer()
	conns := newConnTracker(cfg.IdleHosts())
	pool := &http.Transport{
		Proxy:              proxy,
		DialContext:        conns.dial(dial),
		ForceAttemptHTTP2:  true, // a custom dialer and TLS config turn it off otherwise
		DisableCompression: true, // sluice asks for and decodes gzip, deflate, br and zstd itself
		// Idle connections of the hosts the schedule holds (IdleConns) and
		// of the forgotten ones the tracker keeps (IdleHosts): which go is
		// the tracker's to say, not the pool's LRU, which over more hosts
		// than its bound closes each before its host comes back.
		MaxIdleConns:        cfg.IdleConns() + cfg.IdleHosts(),
		MaxIdleConnsPerHost: min(cfg.Concurrency, cfg.IdleConns()), // Go's default of 2 would redial almost every request
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: cfg.Timeout,
		// No ResponseHeaderTimeout: each attempt's context already has the
		// deadline, and the setting starts a timer in every round trip
		// (BENCHMARKS.md, "Design decisions", has what it cost).
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: maxHeaderBytes,
		ReadBufferSize:         2 << 10,
		WriteBufferSize:        1 << 10,
		TLSClientConfig:        tlsConfig,
	}
	return &Transport{pool: pool, conns: conns}, nil
}

// RoundTrip makes one HTTP exchange (http.RoundTripper).
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.pool.RoundTrip(req)
}

// CloseIdleConnections closes the connections no request is using.
func (t *Transport) CloseIdleConnections() { t.pool.CloseIdleConnections() }

// HostDone tells the connection policy that the schedule has forgotten a
// host: nothing of it is held (schedule.Limits.HostDone). Its connections
// are kept or closed as connTracker says.
func (t *Transport) HostDone(key string) { t.conns.hostDone(key) }

// HostBack tells the connection policy that the schedule holds something
// of a host again (schedule.Limits.HostBack).
func (t *Transport) HostBack(key string) { t.conns.hostBack(key) }

// maxHeaderBytes caps a response's headers (Go's default is 10 MB); a
// response over it fails with kind too_large.
const maxHeaderBytes = 1 << 20

// dialer returns how connections are made: --deny-private's check,
// --dns-server's resolver, --resolve's addresses, each over the last; and
// the proxy to use (none with --deny-private).
func (cfg *Config) dialer() (func(ctx context.Context, network, addr string) (net.Conn, error), func(*http.Request) (*url.URL, error)) {
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	proxy := http.ProxyFromEnvironment
	if cfg.DenyPrivate {
		dialer.Control = denyPrivate
		proxy = nil // a proxy resolves the target where the check cannot see it
	}
	dial := dialer.DialContext
	if len(cfg.DNSServers) > 0 {
		dial = NewResolver(cfg.DNSServers, cfg.Timeout).dialVia(dial)
	}
	if len(cfg.Resolve) > 0 {
		next := dial
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if to, ok := cfg.Resolve[strings.ToLower(addr)]; ok {
				addr = to // curl's --resolve: the URL's host stays for SNI and Host
			}
			return next(ctx, network, addr)
		}
	}
	return dial, proxy
}

// IdleHosts is how many forgotten hosts may keep their connections:
// MaxIdleHosts, or DefaultIdleHosts.
func (cfg *Config) IdleHosts() int {
	if cfg.MaxIdleHosts > 0 {
		return cfg.MaxIdleHosts
	}
	return DefaultIdleHosts
}

// IdleConns is how many idle connections the pool keeps over all hosts:
// MaxIdleConns, or max(100, 2 × Concurrency).
func (cfg *Config) IdleConns() int {
	if cfg.MaxIdleConns > 0 {
		return cfg.MaxIdleConns
	}
	return max(100, 2*cfg.Concurrency)
}

// tlsConfig builds the client's TLS configuration: --insecure, --cacert
// and --cacert-only, --cert and --key. A file that cannot be read or holds
// nothing usable is an error naming its flag.
func (cfg *Config) tlsConfig() (*tls.Config, error) {
	// A session cache lets a new connection to a host seen before resume
	// its TLS session (a ticket) instead of a full handshake: connections
	// are closed when the server says so, when the pool is full, and when
	// a host's work is done in a run over many hosts (Transport.HostDone).
	c := &tls.Config{InsecureSkipVerify: cfg.Insecure, ClientSessionCache: tls.NewLRUClientSessionCache(tlsSessions)}
	if cfg.CACert != "" {
		pem, err := os.ReadFile(cfg.CACert)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !cfg.CACertOnly {
			if pool, err = x509.SystemCertPool(); err != nil {
				return nil, fmt.Errorf("--cacert: the system's certificates: %w", err)
			}
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s: no PEM certificate in it", cfg.CACert)
		}
		c.RootCAs = pool
	}
	if cfg.ClientCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.ClientCert, cfg.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("--cert/--key: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// tlsSessions is how many hosts' TLS sessions are kept for resumption.
const tlsSessions = 4096
