package stages

import (
	"context"
	"net"
	"strings"
	"sync"
)

// connTracker keeps the open connections by the address dialled, so that
// those of a host whose work is done can be closed: net/http keeps idle
// connections for IdleConnTimeout, and its HTTP/2 pool keeps one per host
// whatever MaxIdleConns says. In a run over 10,000 hosts that was 10,000
// idle connections, and the files and memory they hold (BENCHMARKS.md).
type connTracker struct {
	mu    sync.Mutex
	conns map[string]map[*trackedConn]struct{}
}

// manyHosts is the number of hosts with open connections from which the
// connections of a host whose work is done are closed. Under it they stay
// for the next record of the host, as on a slow stream from one site.
const manyHosts = 100

type trackedConn struct {
	net.Conn
	t      *connTracker
	addr   string
	once   sync.Once
	phases *dialPhases // with --trace: how this connection was made; nil otherwise
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.t.remove(c) })
	return c.Conn.Close()
}

// dial wraps next so that the connections it makes are tracked.
func (t *connTracker) dial(next func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		phases := dialOf(ctx) // before the dial: its hooks write there
		conn, err := next(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := &trackedConn{Conn: conn, t: t, addr: strings.ToLower(addr), phases: phases}
		t.mu.Lock()
		set := t.conns[c.addr]
		if set == nil {
			set = map[*trackedConn]struct{}{}
			t.conns[c.addr] = set
		}
		set[c] = struct{}{}
		t.mu.Unlock()
		return c, nil
	}
}

func (t *connTracker) remove(c *trackedConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if set := t.conns[c.addr]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(t.conns, c.addr)
		}
	}
}

// closeHost closes the connections of the host with politeness key key
// (see record.HostKey), when connections are open to many hosts. The
// caller knows none of them carries a request.
func (t *connTracker) closeHost(key string) {
	var doomed []*trackedConn
	t.mu.Lock()
	if len(t.conns) > manyHosts {
		for _, addr := range []string{key, key + ":80", key + ":443"} {
			for c := range t.conns[addr] {
				doomed = append(doomed, c)
			}
		}
	}
	t.mu.Unlock()
	for _, c := range doomed {
		c.Close()
	}
}
