package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A three-node JetStream cluster on loopback (three natsd processes), the
// queue, its lease bucket and the output stream at replicas 3. Two workers
// share 3,000 messages. The hosts hold every request at three points of the
// run, so that each fault lands mid-run: at a quarter, a node that does not
// lead the queue stream is killed with SIGKILL; at a half, it is started
// again on its store and the node that leads the queue stream is killed;
// at three quarters, that one is started again. Every message ends as
// exactly one record in the output stream, and both workers end by
// themselves. (bench/queue-chaos.sh runs 30,000 records with worker kills
// besides, and measures politeness around the faults.)
func TestQueueCluster(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	const n = 3000
	c := startCluster(t)
	servers, nodes, start := c.servers, c.nodes, c.start

	g := newGate(n/4, n/2, 3*n/4)
	enqueueURLs(t, servers+"/CLU/clu?replicas=3", hosts(t, 8, g.handler), n)
	js := jsConn(t, servers)
	args := []string{"--in", servers + "/CLU/clu?idle=2s&lease=3s&ack_wait=5s", "--out", servers + "/cluout?replicas=3", "-c", "8"}
	workers := []*worker{startWorker(t, args...), startWorker(t, args...)}

	leader := func() int { return streamLeader(t, js, "CLU") }
	g.wait(t)
	down := (leader() + 1) % 3
	nodes[down].signal(syscall.SIGKILL)
	g.open()

	g.wait(t)
	start(down)
	down = leader()
	nodes[down].signal(syscall.SIGKILL)
	g.open()

	g.wait(t)
	start(down)
	g.open()

	for _, w := range workers {
		w.wait(t)
	}
	checkEveryOnce(t, outputSeqs(t, js, "CLUOUT"), n)
}

// cluster is three nats-server nodes on loopback, routed to each other.
type cluster struct {
	servers string   // the three client URLs, comma-separated, as sluice takes them
	nodes   []*natsd // by index; start(i) replaces a stopped one
	start   func(i int)
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	ports := freePorts(t, 6)
	var routes []string
	for _, p := range ports[3:] {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	c := &cluster{nodes: make([]*natsd, 3),
		servers: fmt.Sprintf("nats://127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", ports[0], ports[1], ports[2])}
	c.start = func(i int) {
		c.nodes[i] = natsServer(t, dirs[i], ports[i], "-name", fmt.Sprintf("n%d", i+1),
			"-cluster", strconv.Itoa(ports[3+i]), "-routes", strings.Join(routes, ","))
	}
	for i := range c.nodes {
		c.start(i)
	}
	return c
}

// streamLeader is the index of the node that leads stream, once it has a
// leader.
func streamLeader(t *testing.T, js jetstream.JetStream, stream string) int {
	t.Helper()
	var name string
	waitFor(t, "a leader of stream "+stream, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, stream)
		if err == nil && s.CachedInfo().Cluster != nil {
			name = s.CachedInfo().Cluster.Leader
		}
		return name != ""
	})
	i, _ := strconv.Atoi(strings.TrimPrefix(name, "n"))
	return i - 1
}

// gate is a handler that answers 100 bytes, and holds every request from
// the at[k]-th on until the test opens it again.
type gate struct {
	mu      sync.Mutex
	n       int
	at      []int
	reached chan struct{}
	opened  chan struct{} // closed while open
}

func newGate(at ...int) *gate {
	g := &gate{at: at, reached: make(chan struct{}, 1), opened: make(chan struct{})}
	close(g.opened)
	return g
}

func (g *gate) handler(w http.ResponseWriter, r *http.Request) {
	if g.pass(r) {
		io.WriteString(w, strings.Repeat("x", 100))
	}
}

// pass counts r and holds it while the gate is closed; false when its
// client went away meanwhile.
func (g *gate) pass(r *http.Request) bool {
	g.mu.Lock()
	g.n++
	if len(g.at) > 0 && g.n == g.at[0] {
		g.at = g.at[1:]
		g.opened = make(chan struct{})
		g.reached <- struct{}{}
	}
	opened := g.opened
	g.mu.Unlock()
	select {
	case <-opened:
		return true
	case <-r.Context().Done():
		return false
	}
}

// wait waits until the gate has closed at its next point.
func (g *gate) wait(t *testing.T) {
	t.Helper()
	select {
	case <-g.reached:
	case <-time.After(hangGuard):
		t.Fatal("the run did not reach the gate")
	}
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.opened)
}

// freePorts returns k loopback ports that were free a moment ago: a node
// of a cluster must know its peers' route ports before they start.
func freePorts(t *testing.T, k int) []int {
	t.Helper()
	var ports []int
	for range k {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}
