package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sluice/stages/transport"
	"strings"
	"time"
)

// dialer returns how connections are made: --deny-private's check,
// --dns-server's resolver, --resolve's addresses, each over the last; and
// the proxy to use (none with --deny-private).
func (cfg *Config) dialer() (func(ctx context.Context, network, addr string) (net.Conn, error), func(*http.Request) (*url.URL, error)) {
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	proxy := http.ProxyFromEnvironment
	if cfg.DenyPrivate {
		dialer.Control = transport.DenyPrivate
		proxy = nil // a proxy resolves the target where the check cannot see it
	}
	dial := dialer.DialContext
	if len(cfg.DNSServers) > 0 {
		dial = transport.NewResolver(cfg.DNSServers, cfg.Timeout).DialVia(dial)
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
	return transport.DefaultIdleHosts
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
	// a host's work is done in a run over many hosts (Fetcher.HostDone).
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
