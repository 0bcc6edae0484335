package transport

import (
	"context"
	"fmt"
	"net"
	"testing"
)

// trackerWith returns a tracker that keeps at most maxKeep forgotten hosts
// and a way to open a fake connection to an address, and to ask whether a
// connection was closed.
func trackerWith(t *testing.T, maxKeep int) (*connTracker, func(addr string) net.Conn, func(net.Conn) bool) {
	tr := newConnTracker(maxKeep)
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
	return tr, open, closed
}

// Forgotten hosts keep their connections, on any of their addresses, up
// to manyHosts of them; past that the least recently forgotten host's are
// closed. A host the schedule takes up again is off the list, never
// closed however many are forgotten after it.
func TestConnTrackerKeepsForgotten(t *testing.T) {
	tr, open, closed := trackerWith(t, DefaultIdleHosts)
	a443, a80 := open("A.test:443"), open("a.test:80")
	b, c := open("b.test:443"), open("c.test:443")
	tr.hostDone("a.test")
	tr.hostDone("b.test")
	tr.hostDone("c.test")
	tr.hostBack("c.test") // c has records again
	for i := range manyHosts - 2 {
		open(fmt.Sprintf("h%d.test:443", i))
		tr.hostDone(fmt.Sprintf("h%d.test", i))
	}
	if closed(a443) || closed(a80) || closed(b) {
		t.Fatalf("%d hosts forgotten: a connection was closed; they stay up to %d", manyHosts, manyHosts)
	}
	open("z.test:443")
	tr.hostDone("z.test")
	if !closed(a443) || !closed(a80) || closed(b) || closed(c) {
		t.Errorf("one host more: closed a.test:443 %v, a.test:80 %v, b %v, c %v; want the least recently forgotten, a, only",
			closed(a443), closed(a80), closed(b), closed(c))
	}
	if _, ok := tr.conns["a.test:443"]; ok {
		t.Errorf("a closed connection is still tracked")
	}
	tr.hostDone("nothing-open.test") // no connection: not kept, closes nothing
	if tr.forgotten.len() != manyHosts {
		t.Errorf("%d hosts kept; want %d", tr.forgotten.len(), manyHosts)
	}
}

// Hosts seen once never make the tracker keep more than it starts with;
// hosts that come back after their connections were closed make it keep
// more, up to its bound, so that from the third round of 300 hosts every
// host finds its connection.
func TestConnTrackerLearns(t *testing.T) {
	tr, open, _ := trackerWith(t, 250)
	for i := range 1000 {
		open(fmt.Sprintf("once%d.test:443", i))
		tr.hostDone(fmt.Sprintf("once%d.test", i))
	}
	if got := tr.forgotten.len(); got != manyHosts || tr.keep != manyHosts {
		t.Fatalf("1,000 hosts seen once: %d kept, keep %d; want %d", got, tr.keep, manyHosts)
	}
	tr, open, _ = trackerWith(t, 400)
	round := func() (reused, dialled int) {
		before := tr.reused
		for i := range 300 {
			key := fmt.Sprintf("r%d.test", i)
			tr.hostBack(key)
			if !tr.open(key) {
				open(key + ":443")
				dialled++
			}
			tr.hostDone(key)
		}
		return tr.reused - before, dialled
	}
	for r, want := range []int{300, 200, 0, 0} {
		if _, dialled := round(); dialled != want {
			t.Errorf("round %d: %d hosts dialled; want %d (keep %d)", r+1, dialled, want, tr.keep)
		}
	}
	tr2, open2, _ := trackerWith(t, 150) // the bound holds
	for range 3 {
		for i := range 300 {
			key := fmt.Sprintf("r%d.test", i)
			tr2.hostBack(key)
			if !tr2.open(key) {
				open2(key + ":443")
			}
			tr2.hostDone(key)
		}
	}
	if tr2.keep != 150 || tr2.forgotten.len() != 150 || tr2.ghosts.len() > ghostsPerKept*150 {
		t.Errorf("bound 150: keep %d, %d kept, %d ghosts", tr2.keep, tr2.forgotten.len(), tr2.ghosts.len())
	}
}

// fakeConn is a connection that only knows whether it was closed.
type fakeConn struct {
	net.Conn
	closed bool
}

func (c *fakeConn) Close() error { c.closed = true; return nil }
