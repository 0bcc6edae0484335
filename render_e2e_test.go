package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sluice/internal/site"
)

// renderRecord is what the render tests read of a record.
type renderRecord struct {
	Seq    int64    `json:"seq"`
	URL    string   `json:"url"`
	Title  *string  `json:"title"`
	Links  []string `json:"links"`
	Depth  *int     `json:"depth"`
	Fields struct {
		Price *string `json:"price"`
	} `json:"fields"`
	Render *struct {
		Requests   int64  `json:"requests"`
		Blocked    int64  `json:"blocked"`
		TimedOut   bool   `json:"timed_out"`
		Screenshot string `json:"screenshot"`
	} `json:"render"`
	Error *struct {
		Kind string `json:"kind"`
	} `json:"error"`
}

func readRender(t *testing.T, out string) []renderRecord {
	t.Helper()
	var recs []renderRecord
	for line := range strings.Lines(out) {
		var r renderRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		recs = append(recs, r)
	}
	return recs
}

// The single-page app of the local site: without --render sluice sees its
// shell; with it, the title the script set, the links added after an XHR,
// and on a client-side route the price; --follow --render crawls the
// app's routes.
func TestRenderApp(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	needTool(t, "chromium", "apt install chromium")
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	in := srv.URL + "/app/\n" + srv.URL + "/app/product/3\n"
	out, stderr, code := runSluice(t, in, "--extract", "title,links", "--select", "price=.price", "--ordered")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, r := range readRender(t, out) {
		if *r.Title != "Loading" || len(r.Links) != 0 || r.Fields.Price != nil || r.Render != nil {
			t.Errorf("without --render %s: title %q, links %v, price %v, render %v; want the shell", r.URL, *r.Title, r.Links, r.Fields.Price, r.Render)
		}
	}
	shots := t.TempDir()
	out, stderr, code = runSluice(t, in, "--render", "--extract", "title,links", "--select", "price=.price", "--ordered", "--screenshot", shots)
	if code != 0 {
		t.Fatalf("--render: exit %d: %s", code, stderr)
	}
	recs := readRender(t, out)
	for _, r := range recs {
		want := filepath.Join(shots, strconv.FormatInt(r.Seq, 10)+".png")
		if r.Render == nil || r.Render.Screenshot != want {
			t.Errorf("%s: screenshot %+v; want %s", r.URL, r.Render, want)
			continue
		}
		f, err := os.Open(want)
		if err != nil {
			t.Fatal(err)
		}
		c, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || c.Width != 1280 || c.Height != 800 {
			t.Errorf("%s: %dx%d, %v; want a 1280x800 PNG", want, c.Width, c.Height, err)
		}
	}
	if len(recs) != 2 {
		t.Fatalf("%d records; want 2", len(recs))
	}
	shop, product := recs[0], recs[1]
	if *shop.Title != "Shop" || len(shop.Links) != 5 || !slices.Contains(shop.Links, srv.URL+"/app/product/5") {
		t.Errorf("--render /app/: title %q, links %v; want Shop and its 5 products", *shop.Title, shop.Links)
	}
	if *product.Title != "Product 3" || product.Fields.Price == nil || *product.Fields.Price != "30.99" {
		t.Errorf("--render /app/product/3: title %q, price %v; want Product 3 at 30.99", *product.Title, product.Fields.Price)
	}
	for _, r := range recs {
		// The script and the API call; the icon the browser asks for is refused.
		if r.Render == nil || r.Render.Requests != 2 || r.Render.TimedOut {
			t.Errorf("%s: render %+v; want 2 requests answered, not timed out", r.URL, r.Render)
		}
	}
	out, stderr, code = runSluice(t, srv.URL+"/app/\n", "--render", "--follow")
	if code != 0 {
		t.Fatalf("--render --follow: exit %d: %s", code, stderr)
	}
	var crawled []string
	for _, r := range readRender(t, out) {
		crawled = append(crawled, strings.TrimPrefix(r.URL, srv.URL))
	}
	slices.Sort(crawled)
	want := []string{"/app/", "/app/product/1", "/app/product/2", "/app/product/3", "/app/product/4", "/app/product/5"}
	if !slices.Equal(crawled, want) {
		t.Errorf("--render --follow crawled %v; want %v", crawled, want)
	}
}

// A page whose script makes 20 requests to its own host, at --host-rate
// 5: the site's log shows them no faster than that (21 requests with the
// page's own are 4 s at 5/s; without the limit they take milliseconds).
func TestRenderHostRate(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	needTool(t, "chromium", "apt install chromium")
	var mu sync.Mutex
	var times []time.Time
	h := site.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/app/") {
			mu.Lock()
			times = append(times, time.Now())
			mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	out, stderr, code := runSluice(t, srv.URL+"/app/xhr/20\n", "--render", "--host-rate", "5", "--render-timeout", "60s", "--extract", "title")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	recs := readRender(t, out)
	if len(recs) != 1 || recs[0].Title == nil || *recs[0].Title != "XHR done" || recs[0].Render.Requests != 20 {
		t.Fatalf("records %+v; want one, its 20 requests answered, titled XHR done", recs)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(times) != 21 {
		t.Fatalf("the site was asked %d times under /app/; want 21", len(times))
	}
	if span := times[20].Sub(times[0]); span < 3500*time.Millisecond {
		t.Errorf("21 requests at --host-rate 5 came within %v; want about 4s", span)
	}
}

// Without a browser on PATH, --render exits 1 before any output, naming
// the package to install.
func TestRenderNeedsBrowser(t *testing.T) {
	bin := sluiceBin(t)
	cmd := exec.Command(bin, "--render")
	cmd.Env = append(os.Environ(), "PATH="+t.TempDir())
	cmd.Stdin = strings.NewReader("http://127.0.0.1:1/\n")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 1 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "apt install chromium") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing, the package named", code, stdout.String(), stderr.String())
	}
}

// browserOf returns the pid of the browser a sluice process started and its
// user-data directory, waiting until there is one.
func browserOf(t *testing.T, sluicePid int) (int, string) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...
			rest := string(stat[strings.LastIndexByte(string(stat), ')')+2:])
			f := strings.Fields(rest)
			if len(f) < 2 || f[1] != strconv.Itoa(sluicePid) {
				continue
			}
			cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			for _, arg := range strings.Split(string(cmdline), "\x00") {
				if dir, ok := strings.CutPrefix(arg, "--user-data-dir="); ok {
					return pid, dir
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("sluice started no browser")
	return 0, ""
}

// browserLeft reports the processes whose command line names the browser's
// user-data directory dir: none once its browser has ended.
func browserLeft(dir string) []int {
	var left []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), dir) {
			left = append(left, pid)
		}
	}
	return left
}

// waitNoBrowser waits until no process of the browser with user-data dir
// dir is left; the kernel may take a moment to reap them.
func waitNoBrowser(t *testing.T, dir, when string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(browserLeft(dir)) > 0 {
		if time.Now().After(deadline) {
			t.Errorf("%s: browser processes left: %v", when, browserLeft(dir))
			for _, pid := range browserLeft(dir) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startRender starts sluice --render on lines, its stdout read line by line
// into the returned channel.
func startRender(t *testing.T, lines string, args ...string) (*exec.Cmd, <-chan string, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(sluiceBin(t), append([]string{"--render"}, args...)...)
	cmd.Stdin = strings.NewReader(lines)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 1000)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			out <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
	}()
	return cmd, out, &stderr
}

// browserFault renders n product pages, sends the browser sig once after
// records are out, and returns the records by seq, each checked written
// once; it checks that no browser process is left after the run.
func browserFault(t *testing.T, n, after int, sig syscall.Signal, args ...string) []renderRecord {
	t.Helper()
	needTool(t, "chromium", "apt install chromium")
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	var in strings.Builder
	for i := range n {
		fmt.Fprintf(&in, "%s/app/product/%d\n", srv.URL, i%5+1)
	}
	cmd, out, stderr := startRender(t, in.String(), append([]string{"--extract", "title", "--render-wait", "load"}, args...)...)
	pid, dir := browserOf(t, cmd.Process.Pid)
	var lines []string
	for line := range out {
		lines = append(lines, line)
		if len(lines) == after {
			syscall.Kill(pid, sig)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sluice: %v\n%s", err, stderr)
	}
	recs := readRender(t, strings.Join(lines, "\n")+"\n")
	seqs := map[int64]int{}
	for _, r := range recs {
		seqs[r.Seq]++
	}
	for seq := int64(1); seq <= int64(n); seq++ {
		if seqs[seq] != 1 {
			t.Errorf("record %d written %d times; want once", seq, seqs[seq])
		}
	}
	waitNoBrowser(t, dir, "after the run")
	return recs
}

// Chromium SIGKILLed mid-run: every record still comes out, exactly once,
// rendered by the browser started again or marked as a render error; and
// no browser process is left after the run.
func TestRenderBrowserKilled(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	const n = 24
	rendered, failed := 0, 0
	for _, r := range browserFault(t, n, 4, syscall.SIGKILL) {
		switch {
		case r.Render != nil:
			rendered++
		case r.Error != nil && r.Error.Kind == "render":
			failed++
		default:
			t.Errorf("record %d: neither rendered nor a render error: %+v", r.Seq, r)
		}
	}
	if rendered < n-2 {
		t.Errorf("%d of %d rendered, %d render errors; want all but the pages the dead browser held (2 tabs) rendered again", rendered, n, failed)
	}
	t.Logf("%d rendered, %d render errors after the browser was killed", rendered, failed)
}

// No browser process outlives sluice: after SIGINT (which ends the run at
// once), and after SIGKILL of sluice itself (the parent-death signal).
func TestRenderNoBrowserLeft(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	needTool(t, "chromium", "apt install chromium")
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	var in strings.Builder
	for range 200 {
		fmt.Fprintf(&in, "%s/app/\n", srv.URL)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		cmd, out, stderr := startRender(t, in.String(), "--extract", "title")
		_, dir := browserOf(t, cmd.Process.Pid)
		<-out // a page rendered: the browser is at work
		cmd.Process.Signal(sig)
		go func() {
			for range out {
			}
		}()
		err := cmd.Wait()
		if sig == syscall.SIGINT {
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
				t.Errorf("after SIGINT: %v; want exit 130\n%s", err, stderr)
			}
		}
		waitNoBrowser(t, dir, "after "+sig.String())
	}
}

// --render with --warc: the archive holds the page's own requests (its
// script, its XHR) beside the document, read strictly by gowarc; the
// record's warc field still points at the document's response.
func TestRenderWARC(t *testing.T) {
	needTool(t, "chromium", "apt install chromium")
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	dir := t.TempDir()
	stdout, stderr, code := runSluice(t, srv.URL+"/app/\n", "--render", "--warc", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	recs, _ := readWARCs(t, dir)
	responses := responsesByURI(recs)
	for _, path := range []string{"/app/", "/app/app.js", "/app/api/products"} {
		if _, ok := responses[srv.URL+path]; !ok {
			t.Errorf("%s is not archived", path)
		}
	}
	if js := responses[srv.URL+"/app/app.js"]; !strings.Contains(string(js.payload), "location.pathname") {
		t.Errorf("the script's payload is not the script: %q", js.payload)
	}
	for _, o := range parseWARCOut(t, stdout) {
		if o.WARC == nil || !strings.Contains(string(memberAt(t, dir, o)), "WARC-Target-URI: "+o.FinalURL+"\r\n") {
			t.Errorf("#%d %s: its warc field does not point at the document", o.Seq, o.URL)
		}
	}
}

// --render with --cache: a page's own requests are kept and reused as a
// record's are. The site says everything stays fresh for ten minutes; a
// second run with --cache-fresh renders the app again, its title and
// links the script made from the XHR, and asks the site nothing at all:
// neither the document nor the script nor the API.
func TestRenderCache(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	needTool(t, "chromium", "apt install chromium")
	var asked sync.Map // path -> *atomic.Int64
	h := site.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := asked.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		w.Header().Set("Cache-Control", "max-age=600")
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	counts := func() map[string]int64 {
		m := map[string]int64{}
		asked.Range(func(k, v any) bool {
			m[k.(string)] = v.(*atomic.Int64).Load()
			asked.Delete(k)
			return true
		})
		return m
	}
	dir := t.TempDir()
	for run, args := range [][]string{{"--cache", dir}, {"--cache", dir, "--cache-fresh"}} {
		out, stderr, code := runSluice(t, srv.URL+"/app/\n", append(args, "--render", "--extract", "title,links")...)
		if code != 0 {
			t.Fatalf("run %d: exit %d: %s", run+1, code, stderr)
		}
		recs := readRender(t, out)
		if len(recs) != 1 || recs[0].Title == nil || *recs[0].Title != "Shop" || len(recs[0].Links) != 5 || recs[0].Render.Requests != 2 {
			t.Fatalf("run %d: records %+v; want the app rendered, its script and its XHR answered", run+1, recs)
		}
		got := counts()
		want := map[string]int64{"/app/": 1, "/app/app.js": 1, "/app/api/products": 1}
		if run == 1 {
			want = map[string]int64{}
		}
		if !maps.Equal(got, want) {
			t.Errorf("run %d asked the site %v; want %v", run+1, got, want)
		}
	}
}

// --render on a queue worker (--in): the pages a NATS JetStream queue
// holds are rendered as a line's are, each once, and the queue is done.
func TestRenderFromQueue(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	needTool(t, "chromium", "apt install chromium")
	ns := natsServer(t, t.TempDir(), -1)
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	queue := ns.ClientURL() + "/RENDER/render.urls"
	want := map[string]string{srv.URL + "/app/": "Shop", srv.URL + "/app/product/1": "Product 1", srv.URL + "/app/product/2": "Product 2"}
	var in strings.Builder
	for u := range want {
		in.WriteString(u + "\n")
	}
	if _, stderr, code := runSluice(t, in.String(), "enqueue", "--to", queue); code != 0 {
		t.Fatalf("enqueue: exit %d: %s", code, stderr)
	}
	out, stderr, code := runSluice(t, "", "--in", queue+"?idle=2s", "--render", "--extract", "title")
	if code != 0 {
		t.Fatalf("worker: exit %d: %s", code, stderr)
	}
	got := map[string]string{}
	for _, r := range readRender(t, out) {
		if _, dup := got[r.URL]; dup || r.Title == nil || r.Render == nil || r.Render.Requests != 2 {
			t.Errorf("%+v: want each page once, rendered, its script and its XHR answered", r)
			continue
		}
		got[r.URL] = *r.Title
	}
	if !maps.Equal(got, want) {
		t.Errorf("titles %v; want %v", got, want)
	}
}

// A browser that hangs (SIGSTOP) mid-run: the page under it runs out its
// --render-timeout, its tab does not give its DOM, and the browser is
// ended and started again; every record comes out once, rendered, and
// the stopped browser is gone after the run.
func TestRenderBrowserHangs(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	for _, r := range browserFault(t, 12, 2, syscall.SIGSTOP, "--render-timeout", "2s") {
		if r.Render == nil || r.Error != nil {
			t.Errorf("record %d: not rendered: %+v", r.Seq, r)
		}
	}
}
