package stages

import (
	"context"
	"fmt"
	"net"
	"testing"
)

// closeHost closes a host's connections, on any of its addresses, once
// connections are open to many hosts, and leaves the others open.
func TestConnTrackerCloseHost(t *testing.T) {
	tr := &connTracker{conns: map[string]map[*trackedConn]struct{}{}}
	dial := tr.dial(func(_ context.Context, _, _ string) (net.Conn, error) {
		return &fakeConn{}, nil
	})
	open := func(addr string) net.Conn {
		c, err := dial(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	closed := func(c net.Conn) bool { return c.(*trackedConn).Conn.(*fakeConn).closed }
	a443, a80 := open("A.test:443"), open("a.test:80")
	b := open("b.test:8443")
	tr.closeHost("a.test")
	if closed(a443) || closed(a80) {
		t.Fatalf("with 3 hosts a host's connections were closed; they stay under %d hosts", manyHosts)
	}
	for i := range manyHosts {
		open(fmt.Sprintf("h%d.test:443", i))
	}
	tr.closeHost("a.test")
	tr.closeHost("b.test") // its port is not a default one: another key
	if !closed(a443) || !closed(a80) || closed(b) {
		t.Errorf("closed: a.test:443 %v, a.test:80 %v, b.test:8443 %v; want true, true, false", closed(a443), closed(a80), closed(b))
	}
	if _, ok := tr.conns["a.test:443"]; ok {
		t.Errorf("a closed connection is still tracked")
	}
}

// fakeConn is a connection that only knows whether it was closed.
type fakeConn struct {
	net.Conn
	closed bool
}

func (c *fakeConn) Close() error { c.closed = true; return nil }
