package transport

import (
	"container/list"
	"context"
	"net"
	"strings"
	"sync"
	"time"
)

// connTracker keeps the open connections by the address dialled, so that
// those of hosts whose work is done can be closed: net/http keeps idle
// connections for IdleConnTimeout, and its HTTP/2 pool keeps one per host
// whatever MaxIdleConns says. In a run over 10,000 hosts that was 10,000
// idle connections, and the files and memory they hold (BENCHMARKS.md).
//
// The policy: the hosts the schedule has forgotten (it holds nothing of
// them) keep their connections, least recently forgotten closed first,
// while they are at most keep. keep starts at manyHosts and grows by one
// each time a host comes back whose connections were closed (a "ghost":
// the host would have reused them had keep been larger), up to maxKeep,
// which the open-files limit and memory bound. A run over hosts seen once
// never grows it, and holds what it held before; a run whose hosts come
// back learns to keep them. Both calls come from the schedule's goroutine,
// so a host that came back is never closed: hostBack takes it off the list
// before any of its requests is sent.
type connTracker struct {
	mu    sync.Mutex
	conns map[string]map[*trackedConn]struct{}

	forgotten lru // hosts forgotten with connections open, most recent first
	ghosts    lru // hosts whose connections were closed here, most recent first; at most ghostsPerKept × maxKeep
	keep      int
	maxKeep   int
	reused    int // hosts that came back to connections kept for them
	regrets   int // hosts that came back to connections closed here
}

func newConnTracker(maxKeep int) *connTracker {
	return &connTracker{conns: map[string]map[*trackedConn]struct{}{}, keep: min(manyHosts, maxKeep), maxKeep: maxKeep,
		forgotten: newLRU(), ghosts: newLRU()}
}

// DefaultIdleHosts bounds the forgotten hosts whose connections are kept:
// about 35 KB each (an HTTP/2 connection over TLS, BENCHMARKS.md), 70 MB
// at most.
const DefaultIdleHosts = 2048

// ghostsPerKept is how many closed hosts are remembered for each that may
// be kept: a host that comes back after more hosts than that were closed
// teaches nothing. Names only: 8,192 of them by default, about 1 MB.
const ghostsPerKept = 4

// manyHosts is how many forgotten hosts keep their connections at first,
// so that on a slow stream from a few sites they stay for the next record.
const manyHosts = 100

type trackedConn struct {
	net.Conn
	t      *connTracker
	addr   string
	once   sync.Once
	phases *DialPhases // with --trace: how this connection was made; nil otherwise
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

// hostDone takes the schedule's word that the host with politeness key
// key (see record.HostKey) has nothing held; its connections carry no
// request. They are kept while keep allows; past it, the least recently
// forgotten host's are closed.
func (t *connTracker) hostDone(key string) {
	var doomed []*trackedConn
	t.mu.Lock()
	if t.open(key) {
		t.forgotten.front(key)
	}
	for t.forgotten.len() > t.keep {
		old := t.forgotten.oldest()
		doomed = append(doomed, t.connsOf(old)...)
		t.ghosts.front(old)
		for t.ghosts.len() > ghostsPerKept*t.maxKeep {
			t.ghosts.oldest()
		}
	}
	t.mu.Unlock()
	for _, c := range doomed {
		c.Close()
	}
}

// hostBack takes the schedule's word that it holds something of key
// again: its connections are no longer the policy's to close, and a host
// whose connections it closed makes it keep one more.
func (t *connTracker) hostBack(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.forgotten.remove(key):
		t.reused++
	case t.ghosts.remove(key):
		t.regrets++
		t.keep = min(t.keep+1, t.maxKeep)
	}
}

// open reports whether key has a connection open; t.mu is held.
func (t *connTracker) open(key string) bool {
	for _, addr := range []string{key, key + ":80", key + ":443"} {
		if len(t.conns[addr]) > 0 {
			return true
		}
	}
	return false
}

// connsOf lists key's connections; t.mu is held.
func (t *connTracker) connsOf(key string) []*trackedConn {
	var cs []*trackedConn
	for _, addr := range []string{key, key + ":80", key + ":443"} {
		for c := range t.conns[addr] {
			cs = append(cs, c)
		}
	}
	return cs
}

// lru is a set of strings in the order they were last put in front.
type lru struct {
	order *list.List
	at    map[string]*list.Element
}

func newLRU() lru { return lru{order: list.New(), at: map[string]*list.Element{}} }

func (l lru) len() int { return l.order.Len() }

// front puts key first, adding it if it is not there.
func (l lru) front(key string) {
	if e := l.at[key]; e != nil {
		l.order.MoveToFront(e)
		return
	}
	l.at[key] = l.order.PushFront(key)
}

// remove takes key out, and reports whether it was there.
func (l lru) remove(key string) bool {
	e := l.at[key]
	if e == nil {
		return false
	}
	l.order.Remove(e)
	delete(l.at, key)
	return true
}

// oldest takes out the key put in front longest ago; the set is not empty.
func (l lru) oldest() string {
	key := l.order.Remove(l.order.Back()).(string)
	delete(l.at, key)
	return key
}

// DialPhases are the phases of making one connection, written by the hooks
// of the request whose dial made it and read by the request that uses it
// first; hence a lock of its own.
type DialPhases struct {
	mu                            sync.Mutex
	DNSStart, ConnStart, TLSStart time.Time
	DNS, Connect, TLS             time.Duration
}

// Lock runs fn under p's lock with the time now.
func (p *DialPhases) Lock(fn func(now time.Time)) {
	now := time.Now()
	p.mu.Lock()
	fn(now)
	p.mu.Unlock()
}

// Durations returns how long the DNS, connect and TLS phases took.
func (p *DialPhases) Durations() (dns, connect, tls time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.DNS, p.Connect, p.TLS
}

type phasesKey struct{}

// WithPhases returns ctx under which a dial records its phases, when the
// connection is tracked, into the DialPhases that current returns as the
// dial starts (a request's tracer replaces them per request of a chain).
func WithPhases(ctx context.Context, current func() *DialPhases) context.Context {
	return context.WithValue(ctx, phasesKey{}, current)
}

// dialOf returns the DialPhases for a dial made under ctx, nil when the
// request is not traced.
func dialOf(ctx context.Context) *DialPhases {
	current, _ := ctx.Value(phasesKey{}).(func() *DialPhases)
	if current == nil {
		return nil
	}
	return current()
}

// PhasesOf returns the phases of the connection a request got: a TLS
// connection's underlying one is the tracked connection; nil for a
// connection that is not tracked or not traced.
func PhasesOf(conn net.Conn) *DialPhases {
	if tc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		conn = tc.NetConn()
	}
	if c, ok := conn.(*trackedConn); ok {
		return c.phases
	}
	return nil
}
