package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// --metrics, scraped by a real Prometheus server (Debian's prometheus
// package; .ci/run installs it): a filter run on stdin and a queue
// worker, each with 300 records. Once every record is out, the counters
// Prometheus has stored equal the run's record counts, by outcome too.
func TestMetricsPrometheus(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("SLUICE_REQUIRE_TOOLS") != "" {
			t.Fatal("prometheus is not installed, and SLUICE_REQUIRE_TOOLS is set")
		}
		t.Skip("prometheus is not installed (apt-get install prometheus)")
	}
	base := hosts(t, 1, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/missing") {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "hello")
	})[0]
	const n = 300 // 200 answered 200, 99 404, one invalid line

	filter := startMetered(t, "-c", "8", "--metrics-hosts", "5")
	ns := natsServer(t, t.TempDir(), -1)
	queue := ns.ClientURL() + "/MQ/urls?partitions=4"
	enqueueURLs(t, queue, []string{base}, n)
	worker := startMetered(t, "--in", queue+"&lease=2s")
	prom := startPrometheus(t, promBin, map[string]string{"filter": filter.metrics, "worker": worker.metrics})

	var in strings.Builder
	for i := range n - 1 {
		if i%3 == 2 {
			fmt.Fprintf(&in, "%s/r%d/missing\n", base, i)
		} else {
			fmt.Fprintf(&in, "%s/r%d\n", base, i)
		}
	}
	in.WriteString("not a url\n")
	if _, err := io.WriteString(filter.stdin, in.String()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every record out of both", func() bool { return filter.lines.Load() == n && worker.lines.Load() == n })

	// The filter's stdin is still open, so it is still up to be scraped.
	want := map[string]float64{
		`sluice_records_read_total{job="filter"}`:                                   n,
		`sluice_records_written_total{job="filter"}`:                                n,
		`sluice_records_failed_total{job="filter"}`:                                 1,
		`sluice_requests_total{job="filter",outcome="2xx"}`:                         200,
		`sluice_requests_total{job="filter",outcome="4xx"}`:                         99,
		`sum(sluice_host_requests_total{job="filter"})`:                             299,
		`sum(sluice_host_requests_total{job="filter",host="` + hostOf(base) + `"})`: 299,
		`sluice_request_duration_seconds_count{job="filter"}`:                       299,
		`sluice_records_held{job="filter"}`:                                         0,
		`sluice_requests_in_flight{job="filter"}`:                                   0,
		`sluice_records_read_total{job="worker"}`:                                   n,
		`sluice_records_written_total{job="worker"}`:                                n,
		`sluice_requests_total{job="worker",outcome="2xx"}`:                         n,
		`sluice_queue_acked_total{job="worker"}`:                                    n,
		`sluice_queue_handed_back_total{job="worker"}`:                              0,
		`sluice_queue_lease_changes_total{job="worker",change="taken"}`:             4, // one worker takes the 4 partitions
		`sum(sluice_queue_pending{job="worker"})`:                                   0,
		`up{job="filter"}`: 1,
	}
	for q, v := range want {
		waitFor(t, fmt.Sprintf("Prometheus to have %s = %v (it has %v)", q, v, prom.query(t, q)),
			func() bool { return prom.query(t, q) == v })
	}
	filter.stdin.Close()
	filter.wait(t, 0)
	worker.cmd.Process.Signal(syscall.SIGTERM)
	worker.wait(t, 130) // a worker ends on a signal

}

func hostOf(base string) string { return strings.TrimPrefix(base, "http://") }

// metered is a sluice with --metrics on a free port, its output lines
// counted as they come.
type metered struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	metrics string // the address of /metrics
	lines   atomic.Int64
	done    chan error
}

func startMetered(t *testing.T, args ...string) *metered {
	t.Helper()
	m := &metered{cmd: exec.Command(sluiceBin(t), append([]string{"--metrics", "127.0.0.1:0"}, args...)...), done: make(chan error, 1)}
	var err error
	if m.stdin, err = m.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := m.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.cmd.Process.Kill()
		m.stdin.Close()
		<-m.done
	})
	errs := bufio.NewReader(stderr)
	first, err := errs.ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(first), "sluice: metrics on http://")
	if !ok {
		t.Fatalf("first line on stderr %q (%v); want where the metrics are", first, err)
	}
	m.metrics = strings.TrimSuffix(addr, "/metrics")
	go io.Copy(os.Stderr, errs)
	scan := bufio.NewScanner(stdout)
	go func() {
		for scan.Scan() {
			m.lines.Add(1)
		}
		m.done <- m.cmd.Wait()
	}()
	return m
}

func (m *metered) wait(t *testing.T, code int) {
	t.Helper()
	select {
	case err := <-m.done:
		m.done <- err
		if got := m.cmd.ProcessState.ExitCode(); got != code {
			t.Errorf("sluice: %v; want exit status %d", err, code)
		}
	case <-time.After(hangGuard):
		t.Fatal("sluice did not exit")
	}
}

// prometheus is a running Prometheus server.
type prometheus struct{ url string }

// startPrometheus runs Prometheus scraping each job's target every
// second, until the test ends. Its port is a free one found by listening;
// another process may take it between, so it tries three times.
func startPrometheus(t *testing.T, bin string, jobs map[string]string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	var conf strings.Builder
	conf.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n")
	for job, addr := range jobs {
		fmt.Fprintf(&conf, "  - job_name: %s\n    static_configs:\n      - targets: [%q]\n", job, addr)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for try := 0; ; try++ {
		addr := freePort(t)
		cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
			"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--log.level=warn")
		var log strings.Builder
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		p := &prometheus{url: "http://" + addr}
		ready := false
		waitFor(t, "Prometheus to be ready, or to exit", func() bool {
			select {
			case err := <-done:
				done <- err
				return true
			default:
			}
			resp, err := http.Get(p.url + "/-/ready")
			if err == nil {
				resp.Body.Close()
				ready = resp.StatusCode == 200
			}
			return ready
		})
		if ready {
			t.Cleanup(func() {
				cmd.Process.Signal(syscall.SIGTERM)
				<-done
			})
			return p
		}
		if try == 2 || !strings.Contains(log.String(), "address already in use") {
			t.Fatalf("prometheus did not start:\n%s", log.String())
		}
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// query returns the value of an instant query that gives one sample, or
// -1 when it gives none (not scraped yet) or the query fails.
func (p *prometheus) query(t *testing.T, q string) float64 {
	resp, err := http.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	if body.Status != "success" {
		t.Fatalf("query %s: %s", q, body.Error)
	}
	if len(body.Data.Result) != 1 {
		return -1
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("query %s: value %q", q, s)
	}
	return v
}

// sluice report on the output of a real run, as a user pipes it: the
// counts by outcome are the run's, and the plot is drawn; bad flags and a
// missing file are said.
func TestReportEndToEnd(t *testing.T) {
	base := hosts(t, 1, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/missing") {
			http.NotFound(w, r)
		}
	})[0]
	var in strings.Builder
	for i := range 90 {
		if i%3 == 0 {
			fmt.Fprintf(&in, "%s/r%d/missing\n", base, i)
		} else {
			fmt.Fprintf(&in, "%s/r%d\n", base, i)
		}
	}
	in.WriteString("not a url\n")
	out, stderr, code := runSluice(t, in.String(), "--trace")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	plot := filepath.Join(t.TempDir(), "run.png")
	js, stderr, code := runSluice(t, out+"a line that is no record\n", "report", "--format", "json", "--plot", plot)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	var s struct {
		Records  int64
		Other    int64 `json:"other_lines"`
		Outcomes []struct {
			Outcome string
			Records int64
		}
		Latency    struct{ Count int64 } `json:"latency_ms"`
		Throughput *struct{ Seconds float64 }
	}
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		t.Fatalf("%v: %s", err, js)
	}
	if fmt.Sprint(s.Outcomes) != "[{200 60} {404 30} {invalid_input 1}]" || s.Other != 1 || s.Latency.Count != 90 || s.Throughput == nil {
		t.Errorf("report: %s", js)
	}
	if fi, err := os.Stat(plot); err != nil || fi.Size() < 10_000 {
		t.Errorf("plot: %v", err)
	}
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"report", "--format", "xml"}, 2, "--format"},
		{[]string{"report", "--plot", "out.gif"}, 2, "--plot"},
		{[]string{"report", "/nonexistent/out.ndjson"}, 1, "/nonexistent/out.ndjson"},
	} {
		_, stderr, code := runSluice(t, "", c.args...)
		if code != c.code || !strings.Contains(stderr, c.says) {
			t.Errorf("%q: exit %d, %q; want %d naming %s", c.args, code, stderr, c.code, c.says)
		}
	}
}
