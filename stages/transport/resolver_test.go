package transport

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"sluice/internal/dnstest"
)

// fakeClock is the resolver's clock in these tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestResolverCache(t *testing.T) {
	srv := dnstest.Start(t, map[string]dnstest.Name{
		"a.test":  {Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.2")}, TTL: 60},
		"v6.test": {Addrs: []netip.Addr{netip.MustParseAddr("::1")}, TTL: 30},
	})
	clock := &fakeClock{t: time.Unix(1_000_000, 0)}
	r := NewResolver([]string{srv.Addr}, time.Second)
	r.now = clock.now
	ctx := context.Background()

	var wg sync.WaitGroup
	for range 100 { // concurrent lookups share one question
		wg.Go(func() {
			if addrs, err := r.Lookup(ctx, "a.test"); err != nil || len(addrs) != 1 || addrs[0].String() != "127.0.0.2" {
				t.Errorf("Lookup(a.test) = %v, %v", addrs, err)
			}
		})
	}
	wg.Wait()
	if n := srv.Count("a.test", "A"); n != 1 {
		t.Errorf("100 lookups within the TTL asked %d times; want 1", n)
	}
	clock.add(59 * time.Second)
	r.Lookup(ctx, "A.TEST")
	if n := srv.Count("a.test", "A"); n != 1 {
		t.Errorf("a lookup at 59 s of a 60 s TTL asked again (%d questions)", n)
	}
	clock.add(time.Second)
	r.Lookup(ctx, "a.test")
	if n := srv.Count("a.test", "A"); n != 2 {
		t.Errorf("a lookup after the TTL: %d questions; want 2", n)
	}

	if addrs, err := r.Lookup(ctx, "v6.test"); err != nil || len(addrs) != 1 || addrs[0].String() != "::1" ||
		srv.Count("v6.test", "A") != 1 || srv.Count("v6.test", "AAAA") != 1 {
		t.Errorf("an IPv6-only name: %v, %v, after %d A and %d AAAA questions; want ::1 after one of each", addrs, err, srv.Count("v6.test", "A"), srv.Count("v6.test", "AAAA"))
	}

	_, err := r.Lookup(ctx, "missing.test")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound || Classify(err) != "dns" {
		t.Errorf("a missing name: %v; want a not-found DNS error of kind dns", err)
	}
	r.Lookup(ctx, "missing.test")
	clock.add(30 * time.Second) // the SOA's minimum TTL
	r.Lookup(ctx, "missing.test")
	if n := srv.Count("missing.test", "A"); n != 2 {
		t.Errorf("a missing name asked %d times: want 2, once more after the negative TTL", n)
	}
}

// A server that does not answer is skipped for the next; a lookup that
// reached none is not kept.
func TestResolverServers(t *testing.T) {
	srv := dnstest.Start(t, map[string]dnstest.Name{"a.test": {Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.2")}, TTL: 60}})
	dead, err := net.ListenPacket("udp", "127.0.0.1:0") // takes questions, answers none
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	r := NewResolver([]string{dead.LocalAddr().String(), srv.Addr}, 50*time.Millisecond)
	if addrs, err := r.Lookup(context.Background(), "a.test"); err != nil || len(addrs) != 1 {
		t.Errorf("Lookup past a silent server = %v, %v", addrs, err)
	}
	alone := NewResolver([]string{dead.LocalAddr().String()}, 50*time.Millisecond)
	_, err = alone.Lookup(context.Background(), "a.test")
	if Classify(err) != "timeout" {
		t.Errorf("no server answered: %v (kind %s); want kind timeout, as for the system's resolver", err, Classify(err))
	}
	alone.Lookup(context.Background(), "a.test")
	if alone.Queries() != 2 {
		t.Errorf("%d questions for two lookups with no answer; want 2 (a failure is not kept)", alone.Queries())
	}
}
