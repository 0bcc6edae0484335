package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"sluice/internal/site"
)

// crawlRecord is what the crawl tests read of an output line.
type crawlRecord struct {
	Seq      int64  `json:"seq"`
	Depth    *int   `json:"depth"`
	Parent   int64  `json:"parent"`
	URL      string `json:"url"`
	Status   int    `json:"status"`
	Location string `json:"location"`
	Attempts int    `json:"attempts"`
	Links    []string
	Error    *struct {
		Kind string `json:"kind"`
	} `json:"error"`
}

// graphSite is the site's link graph served for the names a.test,
// www.a.test and evil-a.test, which --resolve sends to loopback.
type graphSite struct {
	port    string
	resolve []string
	robots  *atomic.Int64 // robots.txt requests, any host
}

func newGraphSite(t *testing.T) graphSite { return newGraphSiteWith(t, site.Handler()) }

// newGraphSiteWith is newGraphSite serving with handler (the site's,
// wrapped).
func newGraphSiteWith(t *testing.T, handler http.Handler) graphSite {
	g := graphSite{robots: new(atomic.Int64)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			g.robots.Add(1)
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	g.port = u.Port()
	for _, name := range []string{"a.test", "www.a.test", "evil-a.test"} {
		g.resolve = append(g.resolve, "--resolve", name+":"+g.port+":127.0.0.1")
	}
	return g
}

func (g graphSite) origin(host string) string { return "http://" + host + ":" + g.port }

// expectCrawl is the breadth-first crawl from seed, a graph page, to the
// given depth within scope (host, domain or any, of a.test): each URL with
// its least depth. Redirect targets keep their page's depth.
func (g graphSite) expectCrawl(seed string, size, depth int, scope string) map[string]int {
	in := func(u string) bool {
		p, _ := url.Parse(u)
		switch scope {
		case "host":
			return p.Host == "a.test:"+g.port
		case "domain":
			return p.Hostname() == "a.test" || strings.HasSuffix(p.Hostname(), ".a.test")
		}
		return true
	}
	want := map[string]int{seed: 0}
	level := []string{seed}
	for d := 0; len(level) > 0; d++ {
		var next []string
		for i := 0; i < len(level); i++ { // level grows with redirect targets, at the same depth
			u := level[i]
			p, _ := url.Parse(u)
			parts := strings.Split(strings.TrimPrefix(p.Path, "/g/"), "/")
			n, _ := strconv.Atoi(parts[len(parts)-1])
			origin := "http://" + p.Host
			switch {
			case len(parts) == 2 && d < depth:
				for _, link := range site.GraphLinks(origin, size, n) {
					if _, seen := want[link]; !seen && in(link) {
						want[link] = d + 1
						next = append(next, link)
					}
				}
			case len(parts) == 3:
				if to := site.GraphRedirect(origin, size, parts[1], n); to != "" && in(to) {
					if _, seen := want[to]; !seen {
						want[to] = d
						level = append(level, to)
					}
				}
			}
		}
		level = next
	}
	return want
}

// linksTo reports whether the record parent leads to u: a link on its
// page, or its redirect.
func (g graphSite) leadsTo(parent crawlRecord, u string, size int) bool {
	if parent.Location != "" {
		return parent.Location == u
	}
	p, _ := url.Parse(parent.URL)
	parts := strings.Split(strings.TrimPrefix(p.Path, "/g/"), "/")
	n, _ := strconv.Atoi(parts[len(parts)-1])
	for _, link := range site.GraphLinks("http://"+p.Host, size, n) {
		if link == u {
			return true
		}
	}
	return false
}

func readCrawl(t *testing.T, stdout string) map[string]crawlRecord {
	t.Helper()
	parseOutput(t, stdout) // valid JSON, seqs 1..n each once
	byURL := map[string]crawlRecord{}
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var r crawlRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if _, dup := byURL[r.URL]; dup {
			t.Errorf("%s: written twice", r.URL)
		}
		byURL[r.URL] = r
	}
	return byURL
}

// TestCrawlBreadthFirst: --follow over the link graph writes exactly the
// breadth-first set of URLs at each depth and scope, each once, with the
// least depth; every parent leads to its child; redirects are records of
// their own whose target is followed only within scope; robots.txt keeps
// its part out (as robots records); a page that fails twice is retried,
// never dropped as seen; --exclude keeps URLs out.
func TestCrawlBreadthFirst(t *testing.T) {
	const size = 60
	for _, tc := range []struct {
		scope   string
		depth   int
		exclude string
	}{
		{"host", 4, ""},
		{"host", 6, ""},
		{"domain", 4, ""},
		{"any", 3, ""},
		{"host", 5, "/(away|moved)/"},
	} {
		t.Run(fmt.Sprintf("%s-depth%d-exclude%q", tc.scope, tc.depth, tc.exclude), func(t *testing.T) {
			g := newGraphSite(t) // its own: the flaky pages count their requests
			seed := g.origin("a.test") + fmt.Sprintf("/g/%d/1", size)
			statsFile := filepath.Join(t.TempDir(), "stats.json")
			args := append([]string{"--follow", "--depth", strconv.Itoa(tc.depth), "--scope", tc.scope, "--robots", "--retry-base", "1ms", "--retry-max", "2ms",
				"--stats-json", statsFile, "-c", "8"}, g.resolve...)
			if tc.exclude != "" {
				args = append(args, "--exclude", tc.exclude)
			}
			stdout, stderr, code := runSluice(t, seed+"\n", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got := readCrawl(t, stdout)
			want := g.expectCrawl(seed, size, tc.depth, tc.scope)
			if tc.exclude != "" { // the redirects, and the leaves only they reach
				for u := range want {
					if strings.Contains(u, "/away/") || strings.Contains(u, "/moved/") || strings.Contains(u, "/leaf/") {
						delete(want, u)
					}
				}
			}
			for u, d := range want {
				r, ok := got[u]
				switch {
				case !ok:
					t.Errorf("%s (depth %d): not crawled", u, d)
				case r.Depth == nil:
					t.Errorf("%s: no depth; want %d", u, d)
				case *r.Depth != d:
					t.Errorf("%s: depth %d; want %d", u, *r.Depth, d)
				}
			}
			bySeq := map[int64]crawlRecord{}
			for u, r := range got {
				if _, ok := want[u]; !ok {
					t.Errorf("%s: crawled, not in the breadth-first set", u)
				}
				bySeq[r.Seq] = r
			}
			for u, r := range got {
				switch {
				case r.Seq == 1:
					if r.Parent != 0 || u != seed {
						t.Errorf("seq 1 is %s with parent %d; want the seed, no parent", u, r.Parent)
					}
				case !g.leadsTo(bySeq[r.Parent], u, size):
					t.Errorf("%s: parent %d (%s) does not lead to it", u, r.Parent, bySeq[r.Parent].URL)
				}
				switch {
				case strings.Contains(u, "/private/"):
					if r.Error == nil || r.Error.Kind != "robots" {
						t.Errorf("%s: %+v; want a robots error", u, r.Error)
					}
				case strings.Contains(u, "/flaky/"):
					if r.Status != 200 || r.Attempts != 3 {
						t.Errorf("%s: status %d after %d attempts; want 200 after 3", u, r.Status, r.Attempts)
					}
				case strings.Contains(u, "/moved/") || strings.Contains(u, "/away/"):
					if r.Status != 302 || r.Location == "" {
						t.Errorf("%s: status %d, location %q; want a 302 with its location", u, r.Status, r.Location)
					}
				case r.Status != 200:
					t.Errorf("%s: status %d", u, r.Status)
				}
			}
			var stats struct {
				Crawl struct {
					Admitted    int64            `json:"admitted"`
					NotAdmitted map[string]int64 `json:"not_admitted"`
				} `json:"crawl"`
			}
			readJSON(t, statsFile, &stats)
			if stats.Crawl.Admitted != int64(len(got)) || stats.Crawl.NotAdmitted["seen"] == 0 {
				t.Errorf("stats %+v; want %d admitted and the links seen before counted", stats.Crawl, len(got))
			}
			if tc.scope != "any" && stats.Crawl.NotAdmitted["scope"] == 0 {
				t.Errorf("stats %+v: no link counted out of scope", stats.Crawl)
			}
		})
	}
}

// --max-pages bounds the records of a crawl, seeds included;
// --max-host-pages each host's; what they leave out is counted.
func TestCrawlLimits(t *testing.T) {
	g := newGraphSite(t)
	seed := g.origin("a.test") + "/g/1000/1"
	stdout, stderr, code := runSluice(t, seed+"\n", append([]string{"--follow", "--depth", "20", "--max-pages", "25", "--stats"}, g.resolve...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := readCrawl(t, stdout); len(got) != 25 {
		t.Errorf("%d records; want --max-pages 25", len(got))
	}
	if !strings.Contains(stderr, "crawl admitted=25 ") || !strings.Contains(stderr, "max_pages=") {
		t.Errorf("stats %q; want 25 admitted and max_pages counted", stderr)
	}

	stdout, stderr, code = runSluice(t, seed+"\n", append([]string{"--follow", "--depth", "20", "--scope", "domain", "--max-host-pages", "7"}, g.resolve...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	per := map[string]int{}
	for u := range readCrawl(t, stdout) {
		p, _ := url.Parse(u)
		per[p.Host]++
	}
	if per["a.test:"+g.port] != 7 || per["www.a.test:"+g.port] != 7 {
		t.Errorf("records per host %v; want 7 for a.test and www.a.test each", per)
	}
	for h, n := range per {
		if name, _, _ := strings.Cut(h, ":"); n > 7 || name != "a.test" && !strings.HasSuffix(name, ".a.test") {
			t.Errorf("%s: %d records; want at most 7, and only hosts of a.test's domain", h, n)
		}
	}
}

// --ordered writes a crawl in seq order: the seeds, then each level as
// released.
func TestCrawlOrdered(t *testing.T) {
	g := newGraphSite(t)
	seeds := g.origin("a.test") + "/g/200/1\n" + g.origin("a.test") + "/g/200/9\n"
	stdout, stderr, code := runSluice(t, seeds, append([]string{"--follow", "--depth", "3", "--ordered", "-c", "16"}, g.resolve...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	depth := 0
	for i, line := range lines {
		var r crawlRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if r.Seq != int64(i+1) || r.Depth == nil || *r.Depth < depth {
			t.Fatalf("line %d: seq %d, depth %v after depth %d; want seq %d, depths not decreasing", i+1, r.Seq, r.Depth, depth, i+1)
		}
		depth = *r.Depth
	}
	if len(lines) < 20 {
		t.Errorf("%d records: the crawl did not get far", len(lines))
	}
}

// `sluice --follow | head -5` on a crawl with no end in sight ends
// promptly and quietly.
func TestCrawlClosedStdout(t *testing.T) {
	g := newGraphSite(t)
	args := append([]string{"--follow", "--depth", "50"}, g.resolve...)
	script := `echo "$2" | "$1" "${@:3}" | head -n 5; echo "status ${PIPESTATUS[1]}" >&2`
	cmd := exec.Command("bash", append([]string{"-c", script, "sh", sluiceBin(t), g.origin("a.test") + "/g/1000000/1"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("pipeline: %v (stderr %q)", err, errb.String())
	}
	if n := strings.Count(out.String(), "\n"); n != 5 {
		t.Errorf("head printed %d lines; want 5", n)
	}
	if errb.String() != "status 1\n" {
		t.Errorf("stderr %q; want only the pipeline's report of sluice's status 1", errb.String())
	}
}

// SIGINT mid-crawl: the records released are written (those not started as
// canceled), nothing more is released, the seqs written are 1..n, and
// stderr says how many admitted URLs were left.
func TestCrawlInterrupt(t *testing.T) {
	g := newGraphSite(t)
	s := startSluice(t, append([]string{"--follow", "--depth", "50", "-c", "2", "--grace", "0s"}, g.resolve...)...)
	if _, err := io.WriteString(s.stdin, g.origin("a.test")+"/g/1000000/1\n"); err != nil {
		t.Fatal(err)
	}
	s.stdin.Close()
	waitFor(t, "50 records", func() bool { return strings.Count(s.output(), "\n") >= 50 })
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	s.wait(t)
	if code := s.cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d; want 130", code)
	}
	readCrawl(t, s.output()) // valid, seqs 1..n, each URL once
	m := regexp.MustCompile(`stopped with (\d+) admitted URLs not fetched`).FindStringSubmatch(s.stderr.String())
	if m == nil || m[1] == "0" {
		t.Errorf("stderr %q; want the admitted URLs left counted", s.stderr.String())
	}
}

func TestCrawlFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--depth", "2"}, "--depth needs --follow"},
		{[]string{"--scope", "host"}, "--scope needs --follow"},
		{[]string{"--follow", "--scope", "site"}, "--scope"},
		{[]string{"--follow", "--depth", "-1"}, "--depth"},
		{[]string{"--follow", "--exclude", "("}, "--exclude"},
		{[]string{"--follow", "--max-pages", "-3"}, "--max-pages"},
		{[]string{"--follow", "--resume", "x"}, "--resume"},
	} {
		_, stderr, code := runSluice(t, "", tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("sluice %v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// SIGKILL mid-crawl, then the same command with the same --state: the two
// runs' records together are the uninterrupted crawl's, with the same URL
// in both only for records in flight at the kill, under the same seq; a
// third run finds nothing left to do.
func TestCrawlResumeAfterKill(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprintf("ordered=%v", ordered), func(t *testing.T) { testCrawlResumeAfterKill(t, ordered) })
	}
}

// testCrawlResumeAfterKill is TestCrawlResumeAfterKill, with --ordered or
// without: ordered, each run writes its seqs rising, and the second takes
// up past the seqs the first wrote.
func testCrawlResumeAfterKill(t *testing.T, ordered bool) {
	g := newGraphSite(t)
	const size = 3000
	seed := g.origin("a.test") + fmt.Sprintf("/g/%d/1", size)
	state := filepath.Join(t.TempDir(), "crawl.d")
	args := append([]string{"--follow", "--depth", "20", "-c", "4", "--window", "32", "--state", state, "--retry-base", "1ms", "--retry-max", "2ms"}, g.resolve...)
	if ordered {
		args = append(args, "--ordered")
	}

	first := startSluice(t, args...)
	if _, err := io.WriteString(first.stdin, seed+"\n"); err != nil {
		t.Fatal(err)
	}
	first.stdin.Close()
	waitFor(t, "300 records", func() bool { return strings.Count(first.output(), "\n") >= 300 })
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.wait(t)
	out1 := first.output()
	if i := strings.LastIndexByte(out1, '\n'); i != len(out1)-1 {
		out1 = out1[:i+1] // a line cut by the kill: in flight
	}
	stdout, stderr, code := runSluice(t, seed+"\n", args...)
	if code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	seqs := map[string]int64{}
	dups := 0
	for run, out := range []string{out1, stdout} {
		last := int64(0)
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			var r crawlRecord
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%v: %q", err, line)
			}
			if ordered && r.Seq <= last {
				t.Errorf("run %d: seq %d after %d; want them rising with --ordered", run+1, r.Seq, last)
			}
			last = r.Seq
			if seq, again := seqs[r.URL]; again {
				dups++
				if seq != r.Seq {
					t.Errorf("%s: seq %d, then %d; want the same seq when fetched again", r.URL, seq, r.Seq)
				}
			}
			seqs[r.URL] = r.Seq
		}
	}
	want := g.expectCrawl(seed, size, 20, "host")
	for u := range want {
		if _, ok := seqs[u]; !ok {
			t.Errorf("%s: in neither run", u)
		}
	}
	if len(seqs) != len(want) {
		t.Errorf("%d URLs in the two runs; want the %d of the uninterrupted crawl", len(seqs), len(want))
	}
	bySeq := map[int64]bool{}
	for _, seq := range seqs {
		bySeq[seq] = true
	}
	if len(bySeq) != len(seqs) {
		t.Errorf("%d seqs for %d URLs; want one each", len(bySeq), len(seqs))
	}
	for seq := int64(1); seq <= int64(len(want)); seq++ {
		if !bySeq[seq] {
			t.Errorf("seq %d in neither run; want 1 to %d", seq, len(want))
			break
		}
	}
	// In flight at the kill: at most the window, the fetch and parse
	// workers, and the records between the stages and in the sink.
	if dups > 32+8+8 {
		t.Errorf("%d records written by both runs; want only those in flight at the kill", dups)
	}
	t.Logf("first run %d records, second %d, %d in both (in flight at the kill)", strings.Count(out1, "\n"), strings.Count(stdout, "\n"), dups)

	stdout, stderr, code = runSluice(t, seed+"\n", args...)
	if code != 0 || stdout != "" {
		t.Errorf("third run: exit %d, %d records; want 0 and none: %s", code, strings.Count(stdout, "\n"), stderr)
	}
}

// --sitemaps: the URLs of the seed host's sitemaps (named by its
// robots.txt: an index, a gzipped child served as octet-stream, a plain
// one) join the crawl at depth 1, within scope, each once, with no parent;
// the sitemaps themselves are fetched through the schedule and not written.
func TestCrawlSitemaps(t *testing.T) {
	g := newGraphSite(t)
	seed := g.origin("a.test") + "/g/60/1"
	statsFile := filepath.Join(t.TempDir(), "stats.json")
	stdout, stderr, code := runSluice(t, seed+"\n", append([]string{"--follow", "--depth", "2", "--sitemaps", "--robots", "--stats-json", statsFile, "--retry-base", "1ms", "--retry-max", "2ms"}, g.resolve...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := readCrawl(t, stdout)
	want := g.expectCrawl(seed, 60, 2, "host")
	listed := map[string]bool{}
	for _, file := range []string{"a.xml", "b.xml"} {
		for _, u := range site.SitemapURLs(g.origin("a.test"), file) {
			if strings.Contains(u, "evil-") {
				continue // out of scope
			}
			listed[u] = true
			if d, ok := want[u]; !ok || d > 1 {
				want[u] = 1
			}
		}
	}
	if len(listed) != 20 {
		t.Fatalf("%d URLs in the sitemaps; the test wants 20", len(listed))
	}
	for u, d := range want {
		r, ok := got[u]
		switch {
		case !ok:
			t.Errorf("%s (depth %d): not crawled", u, d)
		case *r.Depth != d:
			t.Errorf("%s: depth %d; want %d", u, *r.Depth, d)
		case listed[u] && r.Parent != 0:
			t.Errorf("%s: from a sitemap, but parent %d", u, r.Parent)
		}
	}
	for u := range got {
		if _, ok := want[u]; !ok {
			t.Errorf("%s: crawled, not in the breadth-first set with the sitemaps'", u)
		}
	}
	var stats struct {
		Records struct {
			Skipped map[string]int64 `json:"skipped"`
		} `json:"records"`
	}
	readJSON(t, statsFile, &stats)
	if n := stats.Records.Skipped["sitemap"]; n != 4 {
		t.Errorf("%d sitemap files read; want 4 (robots.txt, the index, its two sitemaps)", n)
	}
	if n := g.robots.Load(); n != 1 {
		t.Errorf("robots.txt asked for %d times; want once, for --robots and --sitemaps both", n)
	}
}

// readJSON decodes the JSON file name into v.
func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestCrawlStateOut: --state with --out counts a record written when the
// broker has acked it: the crawl's records are published once each, and
// the same command again publishes nothing.
func TestCrawlStateOut(t *testing.T) {
	ns := natsServer(t, t.TempDir(), -1)
	g := newGraphSite(t)
	seed := g.origin("a.test") + "/g/60/1"
	args := append([]string{"--follow", "--depth", "3", "--state", filepath.Join(t.TempDir(), "crawl.d"), "--out", ns.ClientURL() + "/crawl.out",
		"--retry-base", "1ms", "--retry-max", "2ms"}, g.resolve...)
	want := len(g.expectCrawl(seed, 60, 3, "host"))
	for run := 1; run <= 2; run++ {
		stdout, stderr, code := runSluice(t, seed+"\n", args...)
		if code != 0 || stdout != "" {
			t.Fatalf("run %d: exit %d, stdout %q: %s", run, code, stdout, stderr)
		}
		checkEveryOnce(t, streamSeqs(t, jsConn(t, ns.ClientURL()), "CRAWL_OUT", 0), want)
	}
}
