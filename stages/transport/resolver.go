package transport

import (
	"context"
	"errors"
	"net"
	"net/http/httptrace"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"sluice/stages/internal/evict"
)

// Resolver answers host names from the DNS servers of --dns-server, with a
// cache that keeps each answer for its TTL: a list of 100,000 URLs on 1,000
// hosts asks about each host once per TTL. Concurrent lookups of a name
// share one query. It asks for A records, and for AAAA only when there is
// no A record. It is safe for concurrent use.
type Resolver struct {
	servers []string // host:port, tried in order
	udp     *dns.Client
	tcp     *dns.Client // for an answer truncated over UDP
	now     func() time.Time
	queries atomic.Int64

	mu    sync.Mutex
	cache map[string]*dnsEntry
}

// dnsEntry is a name's answer, or the lookup under way (done not closed).
type dnsEntry struct {
	done    chan struct{}
	addrs   []netip.Addr
	err     error
	expires time.Time
}

// Cache bounds: at most maxDNSEntries names; a negative answer (no such
// name, no address) is kept for its SOA's TTL, at most maxNegativeTTL.
const (
	maxDNSEntries  = 100_000
	maxNegativeTTL = 5 * time.Minute
	maxTTL         = 24 * time.Hour
)

// NewResolver returns a resolver asking servers (host:port) in order.
func NewResolver(servers []string, timeout time.Duration) *Resolver {
	return &Resolver{
		servers: servers,
		udp:     &dns.Client{Net: "udp", Timeout: timeout},
		tcp:     &dns.Client{Net: "tcp", Timeout: timeout},
		now:     time.Now,
		cache:   map[string]*dnsEntry{},
	}
}

// Queries returns how many queries went to the servers.
func (r *Resolver) Queries() int64 { return r.queries.Load() }

// Lookup returns the addresses of host, from the cache while its TTL lasts.
func (r *Resolver) Lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	name := dns.Fqdn(host)
	r.mu.Lock()
	e, ok := r.cache[name]
	if ok && isClosed(e.done) && !r.now().Before(e.expires) {
		ok = false // expired
	}
	if !ok {
		e = &dnsEntry{done: make(chan struct{})}
		r.evict()
		r.cache[name] = e
		r.mu.Unlock()
		r.resolve(ctx, name, e)
	} else {
		r.mu.Unlock()
	}
	select {
	case <-e.done:
		return e.addrs, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// evict makes room for one more name: expired answers go first, then any
// answer (not a lookup under way). r.mu is held.
func (r *Resolver) evict() {
	now := r.now()
	evict.ToFit(r.cache, maxDNSEntries,
		func(e *dnsEntry) bool { return isClosed(e.done) && !now.Before(e.expires) },
		func(e *dnsEntry) bool { return isClosed(e.done) })
}

// resolve fills e for name and closes e.done. A lookup that failed for
// want of a server (timeouts, refusals) is not kept: the next asks again.
func (r *Resolver) resolve(ctx context.Context, name string, e *dnsEntry) {
	defer close(e.done)
	var ttl time.Duration
	var negative bool
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		e.addrs, ttl, negative, e.err = r.query(ctx, name, qtype)
		if e.err != nil || len(e.addrs) > 0 {
			break
		}
	}
	switch {
	case e.err != nil && !negative:
		e.expires = r.now() // not kept
	case len(e.addrs) == 0 && e.err == nil:
		e.err = &net.DNSError{Err: "no address for the name", Name: name, IsNotFound: true}
		fallthrough
	default:
		if negative || len(e.addrs) == 0 {
			ttl = min(ttl, maxNegativeTTL)
		}
		e.expires = r.now().Add(min(ttl, maxTTL))
	}
}

// query asks the servers in turn for name's records of qtype. negative
// is set for an answer that says the name or its records do not exist.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) (addrs []netip.Addr, ttl time.Duration, negative bool, err error) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	err = &net.DNSError{Err: "no DNS server answered", Name: name}
	for _, server := range r.servers {
		r.queries.Add(1)
		in, _, qerr := r.udp.ExchangeContext(ctx, m, server)
		if qerr == nil && in.Truncated {
			in, _, qerr = r.tcp.ExchangeContext(ctx, m, server)
		}
		if qerr != nil {
			var ne net.Error
			err = &net.DNSError{Err: qerr.Error(), Name: name, Server: server, IsTimeout: errors.As(qerr, &ne) && ne.Timeout()}
			continue
		}
		switch in.Rcode {
		case dns.RcodeSuccess:
		case dns.RcodeNameError:
			return nil, negativeTTL(in), true, &net.DNSError{Err: "no such host", Name: name, Server: server, IsNotFound: true}
		default:
			err = &net.DNSError{Err: "server answered " + dns.RcodeToString[in.Rcode], Name: name, Server: server, IsTemporary: true}
			continue
		}
		ttl = maxTTL
		for _, rr := range in.Answer {
			var ip net.IP
			switch a := rr.(type) {
			case *dns.A:
				ip = a.A
			case *dns.AAAA:
				ip = a.AAAA
			default:
				continue
			}
			if addr, ok := netip.AddrFromSlice(ip); ok {
				addrs = append(addrs, addr.Unmap())
				ttl = min(ttl, time.Duration(rr.Header().Ttl)*time.Second)
			}
		}
		if len(addrs) == 0 {
			return nil, negativeTTL(in), true, nil
		}
		return addrs, ttl, false, nil
	}
	return nil, 0, false, err
}

// negativeTTL is how long a negative answer holds: its SOA's minimum, or
// a minute without one.
func negativeTTL(m *dns.Msg) time.Duration {
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
		}
	}
	return time.Minute
}

// dialVia returns a DialContext that resolves through r and dials the
// addresses in turn with dial. Trace hooks see the lookup as DNS.
func (r *Resolver) dialVia(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if _, err := netip.ParseAddr(host); err == nil {
			return dial(ctx, network, addr)
		}
		trace := httptrace.ContextClientTrace(ctx)
		if trace != nil && trace.DNSStart != nil {
			trace.DNSStart(httptrace.DNSStartInfo{Host: host})
		}
		addrs, err := r.Lookup(ctx, host)
		if trace != nil && trace.DNSDone != nil {
			trace.DNSDone(httptrace.DNSDoneInfo{Err: err})
		}
		if err != nil {
			return nil, err
		}
		var firstErr error
		for _, a := range addrs {
			conn, err := dial(ctx, network, net.JoinHostPort(a.String(), port))
			if err == nil {
				return conn, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		return nil, firstErr
	}
}
