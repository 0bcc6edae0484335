package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice/internal/site"
)

// Helpers shared by the end-to-end tests of this package: the binaries,
// running sluice, reading its output, local servers and NATS.

// hangGuard bounds every wait for something a test observes. It is no
// threshold of speed: it only turns a hang into a failure with a message
// before go test's own 10 minutes, on a machine as loaded as it may be.
const hangGuard = 3 * time.Minute

// binDir holds the binaries built for the tests.
var binDir string

// waitingParallel is how many of the tests marked parallel run at once
// unless -parallel says: they wait on brokers, browsers and timers far
// more than they compute, so more of them than there are cores overlap.
const waitingParallel = 4

func TestMain(m *testing.M) {
	flag.Parse()
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		flag.Set("test.parallel", strconv.Itoa(max(waitingParallel, runtime.GOMAXPROCS(0))))
	}
	dir, err := os.MkdirTemp("", "sluice-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildMu sync.Mutex
	built   = map[string]string{} // package -> binary
)

// binary builds the command in pkg once, the first time a test needs it,
// and returns its path.
func binary(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := built[pkg]; ok {
		return bin
	}
	bin := filepath.Join(binDir, filepath.Base(filepath.Clean("/"+pkg)))
	if pkg == "." {
		bin = filepath.Join(binDir, "sluice")
	}
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	built[pkg] = bin
	return bin
}

// sluiceBin is the sluice binary.
func sluiceBin(t testing.TB) string { return binary(t, ".") }

// natsd is a nats-server process with JetStream on loopback, storing in
// its own folder: the internal/cmd/natsd binary, built without the race
// detector, so the broker runs at its own speed beside the workers.
type natsd struct {
	url  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// natsServer starts a natsd on port (-1: a free one) storing in dir, with
// more flags in args (a cluster node's); it is stopped when the test ends.
func natsServer(t testing.TB, dir string, port int, args ...string) *natsd {
	t.Helper()
	args = append([]string{"-port", strconv.Itoa(port), "-store", dir}, args...)
	n := &natsd{cmd: exec.Command(binary(t, "./internal/cmd/natsd"), args...), done: make(chan struct{})}
	out, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	n.cmd.Stderr = os.Stderr
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(n.done)
		n.cmd.Wait() // its exit status is of no interest: it is stopped, or it failed to start (no URL below)
	}()
	t.Cleanup(n.stop)
	line, err := bufio.NewReader(out).ReadString('\n') // the client URL, once it is ready
	if err != nil {
		t.Fatalf("natsd did not start: %v", err)
	}
	n.url = strings.TrimSpace(line)
	if n.port, err = strconv.Atoi(n.url[strings.LastIndexByte(n.url, ':')+1:]); err != nil {
		t.Fatalf("natsd's URL %q: %v", n.url, err)
	}
	return n
}

func (n *natsd) ClientURL() string { return n.url }

// stop shuts the server down (SIGTERM) and waits until it has.
func (n *natsd) stop() { n.signal(syscall.SIGTERM) }

// signal sends sig (SIGTERM: shut down; SIGKILL: die) and waits until the
// server has gone. Later calls find it gone.
func (n *natsd) signal(sig syscall.Signal) {
	n.cmd.Process.Signal(sig) // fails only once it has exited
	<-n.done
}

// natsServerWith starts a server with opts (TLS, accounts) in the test's
// own process, JetStream on, on loopback, quiet; it is shut down when the
// test ends.
func natsServerWith(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.JetStream, opts.NoSigs, opts.NoLog = "127.0.0.1", true, true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

func natsPort(s *server.Server) int { return s.Addr().(*net.TCPAddr).Port }

// hosts starts n local HTTP servers (n hosts to sluice) answering 100 bytes
// and returns their base URLs.
func hosts(t testing.TB, n int, h http.HandlerFunc) []string {
	t.Helper()
	if h == nil {
		body := strings.Repeat("x", 100)
		h = func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) }
	}
	var bases []string
	for range n {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		bases = append(bases, srv.URL)
	}
	return bases
}

// enqueueURLs loads n URLs spread over bases into the queue with the binary.
func enqueueURLs(t testing.TB, queue string, bases []string, n int) {
	t.Helper()
	var in strings.Builder
	for i := range n {
		fmt.Fprintf(&in, "%s/r?i=%d\n", bases[i%len(bases)], i)
	}
	_, stderr, code := runSluice(t, in.String(), "enqueue", "--to", queue)
	if code != 0 || !strings.Contains(stderr, fmt.Sprintf(" %d records to stream", n)) {
		t.Fatalf("enqueue: exit %d: %s", code, stderr)
	}
}

// worker is one sluice --in process.
type worker struct {
	cmd    *exec.Cmd
	stderr strings.Builder
	done   chan error
}

func startWorker(t testing.TB, args ...string) *worker {
	t.Helper()
	w := &worker{cmd: exec.Command(sluiceBin(t), args...), done: make(chan error, 1)}
	w.cmd.Stderr = &w.stderr
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- w.cmd.Wait() }()
	t.Cleanup(func() {
		w.cmd.Process.Kill()
		<-w.done
		w.done <- nil
	})
	return w
}

func (w *worker) wait(t testing.TB) {
	t.Helper()
	select {
	case err := <-w.done:
		w.done <- err
		if err != nil {
			t.Fatalf("worker: %v\n%s", err, w.stderr.String())
		}
	case <-time.After(hangGuard):
		t.Fatalf("worker did not finish; its stderr, with its goroutines:\n%s", w.dump())
	}
}

// dump ends a worker that is still running with SIGQUIT, which makes the Go
// runtime print every goroutine's stack to stderr (what it was waiting
// for), and returns its stderr; reading that is safe once Wait returned.
func (w *worker) dump() string {
	select {
	case err := <-w.done:
		w.done <- err
		return w.stderr.String()
	default:
	}
	w.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case err := <-w.done:
		w.done <- err
	case <-time.After(5 * time.Second):
		w.cmd.Process.Kill()
		w.done <- <-w.done
	}
	return w.stderr.String()
}

var dupLine = regexp.MustCompile(`published (\d+) records, (\d+) of them dropped by the stream as duplicates`)

// duplicates reads a finished worker's count of records the stream dropped.
func (w *worker) duplicates(t *testing.T) int {
	m := dupLine.FindStringSubmatch(w.stderr.String())
	if m == nil {
		t.Fatalf("no published line in:\n%s", w.stderr.String())
	}
	n, _ := strconv.Atoi(m[2])
	return n
}

func jsConn(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// streamMsgs is how many messages a stream holds now (0 if it is not there yet).
func streamMsgs(js jetstream.JetStream, name string) uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		return 0
	}
	return s.CachedInfo().State.Msgs
}

// queueState describes an input stream, its consumers and the output
// stream, for a test that failed.
func queueState(js jetstream.JetStream, in, out string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var b strings.Builder
	fmt.Fprintf(&b, "output %s holds %d; ", out, streamMsgs(js, out))
	s, err := js.Stream(ctx, in)
	if err != nil {
		return b.String() + in + ": " + err.Error()
	}
	st := s.CachedInfo().State
	fmt.Fprintf(&b, "input %s holds %d (seqs %d-%d)", in, st.Msgs, st.FirstSeq, st.LastSeq)
	for ci := range s.ListConsumers(ctx).Info() {
		fmt.Fprintf(&b, "; %s: pending %d, ack pending %d, redelivered %d, ack floor %d, delivered %d",
			ci.Name, ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.AckFloor.Stream, ci.Delivered.Stream)
	}
	return b.String()
}

// outputSeqs reads every record in the output stream and returns their
// seqs. It gets the messages one by one, trying each again for a while: an
// ordered consumer was seen to fail with "no responders" on a cluster
// whose nodes had just been restarted.
func outputSeqs(t *testing.T, js jetstream.JetStream, stream string) []int64 {
	t.Helper()
	return streamSeqs(t, js, stream, 200)
}

// streamSeqs is the seqs of the records in stream, each of which must have
// status (any, for 0).
func streamSeqs(t *testing.T, js jetstream.JetStream, stream string, status int) []int64 {
	t.Helper()
	var s jetstream.Stream
	var err error
	waitFor(t, "stream "+stream, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err = js.Stream(ctx, stream)
		return err == nil
	})
	var seqs []int64
	st := s.CachedInfo().State
	for seq := st.FirstSeq; st.Msgs > 0 && seq <= st.LastSeq; seq++ {
		var msg *jetstream.RawStreamMsg
		waitFor(t, fmt.Sprintf("message %d of %s", seq, stream), func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			msg, err = s.GetMsg(ctx, seq)
			return err == nil || errors.Is(err, jetstream.ErrMsgNotFound)
		})
		if err != nil {
			continue // deleted
		}
		var r struct {
			Seq    int64
			Status int
		}
		if err := json.Unmarshal(msg.Data, &r); err != nil || status != 0 && r.Status != status {
			t.Fatalf("record %q: %v; want status %d", msg.Data, err, status)
		}
		seqs = append(seqs, r.Seq)
	}
	return seqs
}

// checkEveryOnce: seqs are exactly 1..n, each once.
func checkEveryOnce(t *testing.T, seqs []int64, n int) {
	t.Helper()
	slices.Sort(seqs)
	missing, dup := 0, 0
	next := int64(1)
	for i, s := range seqs {
		if i > 0 && s == seqs[i-1] {
			dup++
			continue
		}
		missing += int(s - next)
		next = s + 1
	}
	missing += n + 1 - int(next)
	if len(seqs) != n || missing != 0 || dup != 0 {
		t.Fatalf("%d records for %d messages: %d missing, %d duplicated", len(seqs), n, missing, dup)
	}
}

// host is a local server whose handler decides the answer from the
// request number (0-based, per server).
type host struct {
	*httptest.Server
	mu sync.Mutex
	n  int
}

func newHost(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *host {
	t.Helper()
	h := &host{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		n := h.n
		h.n++
		h.mu.Unlock()
		answer(n, w, r)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *host) key() string { return strings.TrimPrefix(h.URL, "http://") }

func urls(base string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%s/%d\n", base, i)
	}
	return b.String()
}

func fast(n int, w http.ResponseWriter, r *http.Request) {}

func runOK(t *testing.T, stdin string, args ...string) ([]outRecord, string) {
	t.Helper()
	stdout, stderr, code := runSluice(t, stdin, args...)
	if code != 0 {
		t.Fatalf("sluice %v: exit %d, stderr %q", args, code, stderr)
	}
	byseq := parseOutput(t, stdout)
	// parseOutput checked the seqs; keep completion order for the caller.
	var recs []outRecord
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		for seq, r := range byseq {
			if strings.HasPrefix(line, fmt.Sprintf(`{"seq":%d,`, seq)) {
				recs = append(recs, r)
				break
			}
		}
	}
	return recs, stderr
}

// outRecord is the part of an output line the tests look at.
type outRecord struct {
	Seq       int64           `json:"seq"`
	URL       string          `json:"url"`
	Status    int             `json:"status"`
	Attempts  int             `json:"attempts"`
	Truncated bool            `json:"truncated"`
	ElapsedMS float64         `json:"elapsed_ms"`
	Input     json.RawMessage `json:"input"`
	Error     *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
}

func (r outRecord) kind() string {
	if r.Error == nil {
		return ""
	}
	return r.Error.Kind
}

// parseOutput checks that every line is valid UTF-8 JSON and that the seqs
// are exactly 1..n, each once, and returns the records by seq.
func parseOutput(t *testing.T, stdout string) map[int64]outRecord {
	t.Helper()
	recs := map[int64]outRecord{}
	if stdout == "" {
		return recs
	}
	if !strings.HasSuffix(stdout, "\n") {
		t.Errorf("output does not end with a newline: ...%q", stdout[max(0, len(stdout)-80):])
	}
	for i, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if !utf8.ValidString(line) || !json.Valid([]byte(line)) {
			t.Fatalf("output line %d is not valid UTF-8 JSON: %.200q", i+1, line)
		}
		var r outRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("output line %d: %v", i+1, err)
		}
		if _, dup := recs[r.Seq]; dup {
			t.Fatalf("seq %d appears twice", r.Seq)
		}
		recs[r.Seq] = r
	}
	for seq := int64(1); seq <= int64(len(recs)); seq++ {
		if _, ok := recs[seq]; !ok {
			t.Fatalf("%d records but seq %d is missing: a record was lost", len(recs), seq)
		}
	}
	return recs
}

// runSluice runs the binary to completion with stdin and returns what it wrote
// and its exit status.
func runSluice(t testing.TB, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runCmd(t, stdin, sluiceBin(t), args...)
}

// runCmd runs a command with stdin to its end.
func runCmd(t testing.TB, stdin, name string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %s: %v", name, err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

func newSite(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(site.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// slowServer answers every request after it has been cancelled or after
// delay, and counts the requests it is holding.
type slowServer struct {
	*httptest.Server
	inFlight atomic.Int64
}

func newSlowServer(t *testing.T, delay time.Duration) *slowServer {
	t.Helper()
	s := &slowServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		select {
		case <-time.After(delay):
			io.WriteString(w, "done")
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// waitFor polls cond until it holds; see hangGuard for the bound.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(hangGuard); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// started is a running sluice whose stdin stays open until the test closes it.
type started struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout lockedBuffer
	stderr lockedBuffer
	done   chan error
}

// lockedBuffer is a bytes.Buffer that a test may read while the process
// writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// output is what the process has written to stdout so far.
func (s *started) output() string { return s.stdout.String() }

func startSluice(t *testing.T, args ...string) *started {
	t.Helper()
	s := &started{cmd: exec.Command(sluiceBin(t), args...), done: make(chan error, 1)}
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		s.cmd.Process.Kill() // no-op once it has exited
		s.stdin.Close()
		<-s.done
	})
	return s
}

func (s *started) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
		s.done <- nil // for the cleanup
	case <-time.After(hangGuard):
		t.Fatal("sluice did not exit")
	}
}
