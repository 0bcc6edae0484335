package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"sluice/internal/site"
)

// oneMachine is what the crawl from seeds writes on one machine, by URL.
func oneMachine(t *testing.T, g graphSite, seeds []string, depth string) map[string]crawlRecord {
	t.Helper()
	local, stderr, code := runSluice(t, strings.Join(seeds, "\n")+"\n", append([]string{"--follow", "--depth", depth}, g.resolve...)...)
	if code != 0 {
		t.Fatalf("the crawl on one machine: exit %d: %s", code, stderr)
	}
	return readCrawl(t, local)
}

// writtenOnce checks that the crawl through the queue wrote each URL of
// want once, and nothing else; it returns how many records it wrote.
func writtenOnce(t *testing.T, js jetstream.JetStream, stream string, want map[string]crawlRecord) int {
	t.Helper()
	got := map[string]int{}
	recs := streamRecords[crawlRecord](t, js, stream)
	for _, r := range recs {
		got[r.URL]++
	}
	for u := range want {
		if got[u] != 1 {
			t.Errorf("%s: written %d times; want once", u, got[u])
		}
	}
	for u := range got {
		if _, ok := want[u]; !ok {
			t.Errorf("%s: crawled, outside the one-machine crawl", u)
		}
	}
	return len(recs)
}

// streamRecords are the records a stream holds, each decoded as a T.
func streamRecords[T any](t *testing.T, js jetstream.JetStream, stream string) []T {
	t.Helper()
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	st := s.CachedInfo().State
	for seq := st.FirstSeq; st.Msgs > 0 && seq <= st.LastSeq; seq++ {
		msg, err := s.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		var r T
		if err := json.Unmarshal(msg.Data, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// crawlSeeds are the seeds of the crawl tests, on three hosts of g, put
// into queue as any producer would.
func crawlSeeds(t *testing.T, g graphSite, queue string) []string {
	t.Helper()
	seeds := []string{g.origin("a.test") + "/g/60/1", g.origin("www.a.test") + "/g/60/7", g.origin("evil-a.test") + "/g/60/30"}
	if _, stderr, code := runSluice(t, strings.Join(seeds, "\n")+"\n", "enqueue", "--to", queue); code != 0 {
		t.Fatalf("enqueue: exit %d: %s", code, stderr)
	}
	return seeds
}

// Three workers crawl the link graph from seeds on three hosts through one
// queue (--in with --follow) to a depth that cuts it: the output holds one
// record for each URL the breadth-first crawl on one machine reaches, each
// once, and nothing else; each child's parent a page that leads to it. The
// seen set is the server's, so no two workers admit a link twice; workers
// take no level in turn, so a page first found far from its seed is
// fetched again when a page nearer finds it, to follow its links from
// there (not written again: its links name that fetch as their parent).
func TestQueueCrawl(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	ns := natsServer(t, t.TempDir(), -1)
	g := newGraphSite(t)
	queue := ns.ClientURL() + "/CRAWL/crawl.urls"
	seeds := crawlSeeds(t, g, queue)
	args := append([]string{"--in", queue + "?idle=2s&lease=2s", "--out", ns.ClientURL() + "/crawl.out",
		"--follow", "--depth", "3", "-c", "8", "--stats"}, g.resolve...)
	var workers []*worker
	for range 3 {
		workers = append(workers, startWorker(t, args...))
	}
	for _, w := range workers {
		w.wait(t)
	}
	js := jsConn(t, ns.ClientURL())
	recs := streamRecords[crawlRecord](t, js, "CRAWL_OUT")
	want := oneMachine(t, g, seeds, "3")
	got := map[string]crawlRecord{}
	bySeq := map[int64]crawlRecord{}
	for _, r := range recs {
		if _, dup := got[r.URL]; dup {
			t.Errorf("%s: written twice", r.URL)
		}
		got[r.URL] = r
		bySeq[r.Seq] = r
	}
	for u := range want {
		if _, ok := got[u]; !ok {
			t.Errorf("%s: not crawled", u)
		}
	}
	stats := ""
	for _, w := range workers {
		stats += w.stderr.String()
	}
	again := 0
	for _, m := range regexp.MustCompile(`(\d+) pages fetched again`).FindAllStringSubmatch(stats, -1) {
		n, _ := strconv.Atoi(m[1])
		again += n
	}
	unwritten := 0 // records whose parent is a page fetched again
	for u, r := range got {
		w, ok := want[u]
		if !ok {
			t.Errorf("%s: crawled, outside the one-machine crawl", u)
			continue
		}
		if *r.Depth < *w.Depth || *r.Depth > 3 {
			t.Errorf("%s: depth %d; want from %d, the least, to 3", u, *r.Depth, *w.Depth)
		}
		if slices.Contains(seeds, u) {
			if *r.Depth != 0 || r.Parent != 0 {
				t.Errorf("the seed: depth %d, parent %d; want 0, none", *r.Depth, r.Parent)
			}
			continue
		}
		p, ok := bySeq[r.Parent]
		if !ok {
			unwritten++
			continue
		}
		if !g.leadsTo(p, u, 60) || *r.Depth != *p.Depth+1 && r.Location == "" && p.Location == "" {
			t.Errorf("%s (depth %d): its parent #%d (%s) does not lead to it", u, *r.Depth, r.Parent, p.URL)
		}
	}
	if unwritten > 0 && again == 0 {
		t.Errorf("%d records name a parent not written, and no worker fetched a page again", unwritten)
	}
	t.Logf("%d records, %d in the one-machine crawl; %d pages fetched again, %d records found from them", len(got), len(want), again, unwritten)
	if left := streamMsgs(js, "CRAWL"); left != 0 {
		t.Errorf("%d messages left in the queue", left)
	}
	for _, w := range workers {
		if m := regexp.MustCompile(`done: (\d+) records taken`).FindStringSubmatch(w.stderr.String()); m != nil {
			t.Logf("a worker took %s", m[1])
		}
	}
	if !strings.Contains(stats, "crawl admitted=") {
		t.Errorf("no crawl line in --stats:\n%s", stats)
	}
}

// A worker killed with SIGKILL mid-crawl, and one more joining: the crawl
// still writes each URL exactly once. The pages the dead worker held come
// back after ack_wait; their links, published again, are dropped by the
// stream as copies, or published for the first time when it died before.
func TestQueueCrawlWorkerKilled(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	ns := natsServer(t, t.TempDir(), -1)
	g := newGraphSite(t)
	queue := ns.ClientURL() + "/CRAWL/crawl.urls"
	seeds := crawlSeeds(t, g, queue)
	// --host-rate makes the crawl last a few seconds, so that the kill
	// comes in its middle.
	args := append([]string{"--in", queue + "?idle=3s&lease=2s&ack_wait=2s", "--out", ns.ClientURL() + "/crawl.out",
		"--follow", "--depth", "20", "-c", "8", "--host-rate", "40"}, g.resolve...)
	var workers []*worker
	for range 3 {
		workers = append(workers, startWorker(t, args...))
	}
	js := jsConn(t, ns.ClientURL())
	waitFor(t, "a third of the records", func() bool { return streamMsgs(js, "CRAWL_OUT") >= 100 })
	workers[0].cmd.Process.Signal(syscall.SIGKILL)
	workers = append(workers, startWorker(t, args...))
	for _, w := range workers[1:] {
		w.wait(t)
	}
	writtenOnce(t, js, "CRAWL_OUT", oneMachine(t, g, seeds, "20"))
	if left := streamMsgs(js, "CRAWL"); left != 0 {
		t.Errorf("%d messages left in the queue", left)
	}
}

// A crawl's settings are the crawl's: a worker started with another
// `sluice enqueue --follow --depth 1` starts a crawl with its settings: a
// worker given no --depth applies the crawl's (not its default, 3); one
// given another --depth is refused, naming the flag, and so is a second
// enqueue --follow with another. A second crawl on the same server, in a
// stream of its own, started by its first worker, runs with that
// worker's settings and does not mix with the first.
func TestQueueCrawlSettings(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	ns := natsServer(t, t.TempDir(), -1)
	g := newGraphSite(t)
	queue := func(stream string) string {
		return ns.ClientURL() + "/" + stream + "/" + strings.ToLower(stream) + ".urls"
	}
	enqueue := func(stream, seed string, args ...string) (string, int) {
		_, stderr, code := runSluice(t, seed+"\n", append([]string{"enqueue", "--to", queue(stream)}, args...)...)
		return stderr, code
	}
	crawl := func(stream string, args ...string) (string, int, []crawlRecord) {
		_, stderr, code := runSluice(t, "", append(append([]string{"--in", queue(stream) + "?idle=1s", "--out", ns.ClientURL() + "/" + strings.ToLower(stream) + ".out",
			"--follow"}, args...), g.resolve...)...)
		if code != 0 {
			return stderr, code, nil
		}
		return stderr, code, streamRecords[crawlRecord](t, jsConn(t, ns.ClientURL()), stream+"_OUT")
	}
	if stderr, code := enqueue("A", g.origin("a.test")+"/g/60/1", "--follow", "--depth", "1"); code != 0 || !strings.Contains(stderr, "--depth 1") {
		t.Fatalf("enqueue --follow --depth 1: exit %d: %s", code, stderr)
	}
	_, code, first := crawl("A")
	if code != 0 || len(first) < 2 {
		t.Fatalf("the first crawl: exit %d, %d records", code, len(first))
	}
	for _, r := range first {
		if *r.Depth > 1 {
			t.Errorf("%s at depth %d: the crawl's --depth is 1", r.URL, *r.Depth)
		}
	}
	stderr, code := enqueue("A", g.origin("a.test")+"/g/60/2", "--follow", "--depth", "2")
	if code == 0 || !strings.Contains(stderr, "--depth 2") || !strings.Contains(stderr, "--depth 1") {
		t.Errorf("enqueue --follow with another --depth: exit %d, %q; want refused, naming --depth and the crawl's", code, stderr)
	}
	stderr, code, _ = crawl("A", "--depth", "2")
	if code == 0 || !strings.Contains(stderr, "--depth 2") || !strings.Contains(stderr, "--depth 1") {
		t.Errorf("a worker with another --depth: exit %d, %q; want refused, naming --depth and the crawl's", code, stderr)
	}
	if stderr, code := enqueue("B", g.origin("www.a.test")+"/g/60/1"); code != 0 {
		t.Fatalf("enqueue: exit %d: %s", code, stderr)
	}
	_, code, second := crawl("B", "--depth", "2")
	if code != 0 || len(second) <= len(first) {
		t.Fatalf("the second crawl: exit %d, %d records; want more than the first's %d, at depth 2", code, len(second), len(first))
	}
	for _, r := range second {
		if !strings.HasPrefix(r.URL, g.origin("www.a.test")) {
			t.Errorf("the second crawl wrote %s, of the first's host", r.URL)
		}
	}
}

// --max-pages holds for the whole crawl, whichever worker admits: the
// server's seen bucket takes no more keys than that, seeds included.
func TestQueueCrawlMaxPages(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	ns := natsServer(t, t.TempDir(), -1)
	g := newGraphSite(t)
	queue := ns.ClientURL() + "/CRAWL/crawl.urls"
	seeds := crawlSeeds(t, g, queue)
	args := append([]string{"--in", queue + "?idle=2s&lease=2s", "--out", ns.ClientURL() + "/crawl.out",
		"--follow", "--depth", "20", "--max-pages", "50", "-c", "8"}, g.resolve...)
	var workers []*worker
	for range 3 {
		workers = append(workers, startWorker(t, args...))
	}
	for _, w := range workers {
		w.wait(t)
	}
	recs := streamRecords[crawlRecord](t, jsConn(t, ns.ClientURL()), "CRAWL_OUT")
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.URL] {
			t.Errorf("%s: written twice", r.URL)
		}
		seen[r.URL] = true
	}
	// 50 URLs admitted in all: the seen bucket's keys.
	// A seed taken once the limit is reached is still written (an input
	// line always has its record) but leads nowhere.
	links := 0
	for _, r := range recs {
		if *r.Depth > 0 {
			links++
		}
	}
	js := jsConn(t, ns.ClientURL())
	s, err := js.Stream(context.Background(), "KV_sluice_seen_CRAWL")
	if err != nil {
		t.Fatal(err)
	}
	if keys := s.CachedInfo().State.Msgs; keys != 50 || links > 50-1 || links < 50-len(seeds) {
		t.Errorf("--max-pages 50 over three workers: %d keys in the seen set, %d records, %d of them links; want 50 keys, and 47 to 49 links", keys, len(recs), links)
	}
}

// --revisit D: a URL the crawl admitted is seen for D, then may be
// crawled again. Seeded again within D (an hour), the crawl writes only its
// seed (its links are seen); once the seen keys have lived D (2 s: the
// bucket is empty, something to wait for, not a time), the same seed
// crawls it all again.
func TestQueueCrawlRevisit(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	ns := natsServer(t, t.TempDir(), -1)
	g := newGraphSite(t)
	seed := g.origin("a.test") + "/g/20/1"
	js := jsConn(t, ns.ClientURL())
	run := 0
	crawl := func(stream, revisit string) int {
		t.Helper()
		queue := ns.ClientURL() + "/" + stream + "/" + strings.ToLower(stream) + ".urls"
		out := strings.ToLower(stream) + ".out"
		run++ // a line of its own each time: the same line again is dropped as a copy (Nats-Msg-Id)
		if _, stderr, code := runSluice(t, fmt.Sprintf(`{"url":%q,"run":%d}`+"\n", seed, run), "enqueue", "--to", queue); code != 0 {
			t.Fatalf("enqueue: exit %d: %s", code, stderr)
		}
		before := streamMsgs(js, stream+"_OUT")
		if _, stderr, code := runSluice(t, "", append([]string{"--in", queue + "?idle=1s", "--out", ns.ClientURL() + "/" + out,
			"--follow", "--depth", "5", "--revisit", revisit}, g.resolve...)...); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		return int(streamMsgs(js, stream+"_OUT") - before)
	}
	first := crawl("HOUR", "1h")
	if first < 10 {
		t.Fatalf("the first crawl wrote %d records", first)
	}
	if again := crawl("HOUR", "1h"); again != 1 {
		t.Errorf("seeded again within --revisit: %d records; want the seed's alone", again)
	}
	if n := crawl("SHORT", "2s"); n != first {
		t.Fatalf("a crawl with --revisit 2s: %d records; want %d", n, first)
	}
	waitFor(t, "the seen keys to expire", func() bool { return streamMsgs(js, "KV_sluice_seen_SHORT") == 0 })
	if later := crawl("SHORT", "2s"); later != first {
		t.Errorf("seeded again after --revisit: %d records; want %d, as the first time", later, first)
	}
}

// hostLog is a site's log of which worker (its X-Worker header) each host
// is serving, request by request: two workers at once on one host is
// politeness broken.
type hostLog struct {
	mu      sync.Mutex
	serving map[string]map[string]int // host -> worker -> requests in flight
	overlap []string
}

func (l *hostLog) wrap(next http.Handler, g *gate) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, worker := r.Host, r.Header.Get("X-Worker")
		l.mu.Lock()
		by := l.serving[host]
		if by == nil {
			by = map[string]int{}
			l.serving[host] = by
		}
		for other, n := range by {
			if other != worker && n > 0 {
				l.overlap = append(l.overlap, fmt.Sprintf("%s: worker %s while worker %s", host, worker, other))
			}
		}
		by[worker]++
		l.mu.Unlock()
		defer func() {
			l.mu.Lock()
			by[worker]--
			l.mu.Unlock()
		}()
		if g.pass(r) {
			next.ServeHTTP(w, r)
		}
	})
}

// busy returns a worker with requests in flight: 1, 2 or 3.
func (l *hostLog) busy() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, by := range l.serving {
		for w, n := range by {
			if id, _ := strconv.Atoi(w); n > 0 && id >= 1 && id <= 3 {
				return id
			}
		}
	}
	return 1
}

// A crawl through the queue on a three-node cluster (replicas=3): a
// worker killed with SIGKILL, a node killed, then the stream's leader, each
// mid-crawl, and restarted: each URL is still written exactly once, and the
// site never saw one host served by two workers at once.
func TestQueueCrawlCluster(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	c := startCluster(t)
	servers, nodes, start := c.servers, c.nodes, c.start

	gt := newGate(60, 120, 180)
	log := &hostLog{serving: map[string]map[string]int{}}
	g := newGraphSiteWith(t, log.wrap(site.Handler(), gt))
	queue := servers + "/CRAWL/crawl.urls?replicas=3"
	seeds := crawlSeeds(t, g, queue)
	js := jsConn(t, servers)
	startOne := func(id int) *worker {
		return startWorker(t, append([]string{"--in", servers + "/CRAWL/crawl.urls?idle=3s&lease=3s&ack_wait=5s",
			"--out", servers + "/crawl.out?replicas=3", "--follow", "--depth", "20", "-c", "4",
			"-H", fmt.Sprintf("X-Worker: %d", id)}, g.resolve...)...)
	}
	workers := []*worker{startOne(1), startOne(2), startOne(3)}
	leader := func() int { return streamLeader(t, js, "CRAWL") }
	gt.wait(t)
	victim := log.busy() // one with pages in flight, held at the gate
	workers[victim-1].cmd.Process.Signal(syscall.SIGKILL)
	workers = append(workers, startOne(4))
	gt.open()

	gt.wait(t)
	down := (leader() + 1) % 3
	nodes[down].signal(syscall.SIGKILL)
	gt.open()

	gt.wait(t)
	start(down)
	down = leader()
	nodes[down].signal(syscall.SIGKILL)
	gt.open()

	for i, w := range workers {
		if i != victim-1 {
			w.wait(t)
		}
	}
	start(down)
	n := writtenOnce(t, js, "CRAWL_OUT", oneMachine(t, g, seeds, "20"))
	t.Logf("killed worker %d; the crawl wrote %d records", victim, n)
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.overlap) > 0 {
		t.Errorf("a host served by two workers at once, %d times: %v", len(log.overlap), log.overlap[:min(len(log.overlap), 5)])
	}
}
