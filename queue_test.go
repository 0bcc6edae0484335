package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
)

// Tests of many sluice processes sharing one queue on a real nats-server,
// run in-process with JetStream in a temporary directory; the workers are
// the built binary.

// natsServer starts a JetStream server on loopback (port -1: a free one).
func natsServer(t *testing.T, dir string, port int) *server.Server {
	t.Helper()
	return natsServerWith(t, &server.Options{Port: port, StoreDir: dir})
}

// natsServerWith starts a server with opts, JetStream on, on loopback,
// quiet; it is shut down when the test ends.
func natsServerWith(t *testing.T, opts *server.Options) *server.Server {
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
func hosts(t *testing.T, n int, h http.HandlerFunc) []string {
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
func enqueueURLs(t *testing.T, queue string, bases []string, n int) {
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

func startWorker(t *testing.T, args ...string) *worker {
	t.Helper()
	w := &worker{cmd: exec.Command(sluiceBin, args...), done: make(chan error, 1)}
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

func (w *worker) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-w.done:
		w.done <- err
		if err != nil {
			t.Fatalf("worker: %v\n%s", err, w.stderr.String())
		}
	case <-time.After(90 * time.Second):
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

func jsConn(t *testing.T, url string) jetstream.JetStream {
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

// outputSeqs reads every record in the output stream and returns their seqs.
func outputSeqs(t *testing.T, js jetstream.JetStream, stream string) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	want := s.CachedInfo().State.Msgs
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for uint64(len(seqs)) < want {
		msg, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("after %d of %d records: %v", len(seqs), want, err)
		}
		var r struct {
			Seq    int64
			Status int
		}
		if err := json.Unmarshal(msg.Data(), &r); err != nil || r.Status != 200 {
			t.Fatalf("record %q: %v; want status 200", msg.Data(), err)
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

// Three workers share 30,000 URL messages; one is killed with SIGKILL
// halfway and a fourth joins. The output stream ends with exactly one record
// per input message: what the killed worker had pulled comes back after
// ack_wait, and what it had published as well is dropped by Nats-Msg-Id.
func TestQueueWorkerKilled(t *testing.T) {
	ns := natsServer(t, t.TempDir(), -1)
	const n = 30000
	queue := ns.ClientURL() + "/WORK/urls"
	enqueueURLs(t, queue, hosts(t, 24, nil), n)
	js := jsConn(t, ns.ClientURL())
	args := []string{"--in", queue + "?idle=2s&lease=2s&ack_wait=2s", "--out", ns.ClientURL() + "/results",
		"-c", "16", "--host-concurrency", "16", "--stats"}
	var workers []*worker
	for range 3 {
		workers = append(workers, startWorker(t, args...))
	}
	waitFor(t, "half the records", func() bool { return streamMsgs(js, "RESULTS") >= n/2 })
	workers[0].cmd.Process.Signal(syscall.SIGKILL)
	workers = append(workers, startWorker(t, args...))
	dups := 0
	for _, w := range workers[1:] {
		w.wait(t)
		dups += w.duplicates(t)
	}
	checkEveryOnce(t, outputSeqs(t, js, "RESULTS"), n)
	if left := streamMsgs(js, "WORK"); left != 0 {
		t.Errorf("%d messages left in the queue", left)
	}
	t.Logf("%d messages in, %d records out, %d duplicates dropped by Msg-Id", n, n, dups)
}

// --host-rate holds for the cluster: three workers, one host limited to
// 10/s, the rate measured at that host's server.
func TestQueueClusterPoliteness(t *testing.T) {
	ns := natsServer(t, t.TempDir(), -1)
	var mu sync.Mutex
	var at []time.Time
	slowHost := hosts(t, 1, func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
	})[0]
	others := hosts(t, 5, nil)
	queue := ns.ClientURL() + "/POLITE/urls"
	hostKey := strings.TrimPrefix(slowHost, "http://")
	args := []string{"--in", queue + "?idle=2s&lease=2s", "--host-rate", hostKey + "=10", "-c", "16"}
	// The workers start first and share the partitions, then the work comes.
	enqueueURLs(t, queue, others, 10) // makes the stream
	var workers []*worker
	for range 3 {
		workers = append(workers, startWorker(t, args...))
	}
	time.Sleep(time.Second)
	enqueueURLs(t, queue, append([]string{slowHost}, others...), 900) // 150 to the limited host
	for _, w := range workers {
		w.wait(t)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(at) != 150 {
		t.Fatalf("%d requests at the limited host; want 150", len(at))
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	rate := float64(len(at)-1) / at[len(at)-1].Sub(at[0]).Seconds()
	most := 0 // the most requests in any 3 s
	for i, j := 0, 0; i < len(at); i++ {
		for at[i].Sub(at[j]) >= 3*time.Second {
			j++
		}
		most = max(most, i-j+1)
	}
	t.Logf("limited host: %d requests at %.2f/s overall, at most %d in any 3 s", len(at), rate, most)
	if rate > 10.5 || most > 32 { // 10/s +5%: 31.5 in 3 s, plus the bucket's one
		t.Errorf("the limited host got %.2f/s, %d in 3 s; want at most 10.5/s and 32", rate, most)
	}
}

// With a sink that does not keep up (stdout not read), a worker holds no
// more un-acked messages than its window.
func TestQueueBackpressure(t *testing.T) {
	ns := natsServer(t, t.TempDir(), -1)
	queue := ns.ClientURL() + "/BP/urls"
	const n, window = 2000, 50
	enqueueURLs(t, queue, hosts(t, 4, nil), n)
	cmd := exec.Command(sluiceBin, "--in", queue+"?idle=1s&lease=2s", "--window", strconv.Itoa(window), "-c", "8")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	js := jsConn(t, ns.ClientURL())
	pending := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		total := 0
		s, err := js.Stream(ctx, "BP")
		if err != nil {
			return 0
		}
		for info := range s.ListConsumers(ctx).Info() {
			total += info.NumAckPending
		}
		return total
	}
	most := 0
	waitFor(t, "the worker to fill its window", func() bool { most = max(most, pending()); return most >= window })
	for range 20 { // while nobody reads stdout
		most = max(most, pending())
		time.Sleep(50 * time.Millisecond)
	}
	if most > window {
		t.Errorf("%d un-acked messages held; the window is %d", most, window)
	}
	out, err := io.ReadAll(stdout)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(out), "\n"); lines != n {
		t.Errorf("%d records written; want %d", lines, n)
	}
	t.Logf("at most %d un-acked messages with --window %d", most, window)
}

// The broker restarts in the middle of a run: the workers reconnect and
// finish, and every message gets exactly one record.
func TestQueueBrokerRestart(t *testing.T) {
	dir := t.TempDir()
	ns := natsServer(t, dir, -1)
	url, port := ns.ClientURL(), natsPort(ns)
	const n = 6000
	queue := url + "/RS/urls"
	enqueueURLs(t, queue, hosts(t, 8, nil), n)
	js := jsConn(t, url)
	args := []string{"--in", queue + "?idle=3s&lease=3s&ack_wait=3s", "--out", url + "/restart.results",
		"-c", "8", "--host-concurrency", "2", "--host-rate", "400"}
	workers := []*worker{startWorker(t, args...), startWorker(t, args...)}
	waitFor(t, "a first part of the records", func() bool { return streamMsgs(js, "RESTART_RESULTS") >= n/4 })
	ns.Shutdown()
	ns.WaitForShutdown()
	time.Sleep(500 * time.Millisecond)
	natsServer(t, dir, port)
	t.Cleanup(func() { // before the server's own cleanup stops it
		if t.Failed() {
			t.Logf("after the restart: %s", queueState(js, "RS", "RESTART_RESULTS"))
			for i, w := range workers {
				t.Logf("worker %d's stderr:\n%s", i, w.dump())
			}
		}
	})
	for _, w := range workers {
		w.wait(t)
	}
	checkEveryOnce(t, outputSeqs(t, js, "RESTART_RESULTS"), n)
}

// Messages waiting longer than ack_wait for their host's rate get
// InProgress, so none is redelivered: each URL is fetched once.
func TestQueueInProgress(t *testing.T) {
	ns := natsServer(t, t.TempDir(), -1)
	var mu sync.Mutex
	requests := map[string]int{}
	base := hosts(t, 1, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests[r.URL.RawQuery]++
		mu.Unlock()
	})
	queue := ns.ClientURL() + "/IP/urls"
	const n = 15
	enqueueURLs(t, queue, base, n)
	// At 4/s the last URL waits about 3.5 s: over three ack_waits.
	stdout, stderr, code := runSluice(t, "", "--in", queue+"?idle=1s&lease=2s&ack_wait=1s", "--host-rate", "4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := len(parseOutput(t, stdout)); got != n || strings.Count(stdout, "\n") != n {
		t.Errorf("%d records (%d lines); want %d", got, strings.Count(stdout, "\n"), n)
	}
	mu.Lock()
	defer mu.Unlock()
	for q, c := range requests {
		if c != 1 {
			t.Errorf("%s fetched %d times", q, c)
		}
	}
	if len(requests) != n {
		t.Errorf("%d URLs fetched; want %d", len(requests), n)
	}
}

// Either side mixes with the usual ones: lines on stdin published with
// --out (the stream is made when absent).
func TestOutFromStdin(t *testing.T) {
	ns := natsServer(t, t.TempDir(), -1)
	base := hosts(t, 2, nil)
	var in strings.Builder
	for i := range 100 {
		fmt.Fprintf(&in, "%s/r?i=%d\n", base[i%2], i)
	}
	stdout, stderr, code := runSluice(t, in.String(), "--out", ns.ClientURL()+"/crawl.out", "--stats")
	if code != 0 || stdout != "" || !strings.Contains(stderr, "published 100 records, 0 of them dropped") {
		t.Fatalf("exit %d, stdout %q: %s", code, stdout, stderr)
	}
	checkEveryOnce(t, outputSeqs(t, jsConn(t, ns.ClientURL()), "CRAWL_OUT"), 100)
}

// A password in a nats:// URL is never printed, whether the URL is bad or
// the server cannot be reached.
func TestQueuePasswordNeverEchoed(t *testing.T) {
	for _, args := range [][]string{
		{"--in", "nats://user:s3cret@127.0.0.1:1/S/s"},
		{"--in", "nats://user:s3cret@127.0.0.1:1/S/s?bogus=1"},
		{"--out", "nats://user:s3cret@127.0.0.1:1/a.*"},
		{"--out", "nats://user:s3cret@127.0.0.1:1/out"},
		{"enqueue", "--to", "nats://user:s3cret@127.0.0.1:1/S/s"},
	} {
		stdout, stderr, code := runSluice(t, "http://a.test/\n", args...)
		if code == 0 || strings.Contains(stdout+stderr, "s3cret") || stderr == "" {
			t.Errorf("%v: exit %d, output %q %q; want an error without the password", args, code, stdout, stderr)
		}
	}
}

// On SIGINT a worker writes what it finished and hands the rest back to
// the queue (no canceled records); another worker does the rest, and
// between them every message has exactly one record.
func TestQueueInterruptHandsBack(t *testing.T) {
	ns := natsServer(t, t.TempDir(), -1)
	base := hosts(t, 1, func(w http.ResponseWriter, _ *http.Request) { time.Sleep(100 * time.Millisecond) })
	queue := ns.ClientURL() + "/INT/urls"
	const n = 60
	enqueueURLs(t, queue, base, n)
	first := exec.Command(sluiceBin, "--in", queue+"?lease=2s", "-c", "4", "--host-concurrency", "4", "--grace", "50ms")
	var out1 strings.Builder
	first.Stdout = &out1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond) // about 4 × 7 fetched of 60
	first.Process.Signal(syscall.SIGINT)
	if err := first.Wait(); first.ProcessState.ExitCode() != 130 {
		t.Fatalf("first worker: %v; want exit 130", err)
	}
	stdout2, stderr2, code := runSluice(t, "", "--in", queue+"?idle=1s&lease=2s", "-c", "8", "--host-concurrency", "8")
	if code != 0 {
		t.Fatalf("second worker: exit %d: %s", code, stderr2)
	}
	var seqs []int64
	for _, part := range []string{out1.String(), stdout2} {
		for _, line := range strings.Split(strings.TrimSpace(part), "\n") {
			var r outRecord
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if r.Error != nil || r.Status != 200 {
				t.Errorf("record %d: status %d, error %+v", r.Seq, r.Status, r.Error)
			}
			seqs = append(seqs, r.Seq)
		}
	}
	written := strings.Count(out1.String(), "\n")
	if written == 0 || written == n {
		t.Errorf("the first worker wrote %d records; want some of %d", written, n)
	}
	checkEveryOnce(t, seqs, n)
}

// TLS with --nats-tls-ca, and a user and password in the URL: the queue
// works end to end; without the CA, or with a wrong password, sluice fails
// with a message that does not repeat the password.
func TestQueueTLSAndPassword(t *testing.T) {
	dir := t.TempDir()
	cert, caFile := selfSigned(t, dir)
	s := natsServerWith(t, &server.Options{
		Port: -1, StoreDir: dir,
		TLSConfig:  &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		TLSTimeout: 2, Username: "crawler", Password: "s3cret-pw",
	})
	hostport := fmt.Sprintf("127.0.0.1:%d", natsPort(s))
	queue := "tls://crawler:s3cret-pw@" + hostport + "/SEC/sec"
	base := hosts(t, 2, nil)
	var in strings.Builder
	for i := range 20 {
		fmt.Fprintf(&in, "%s/r?i=%d\n", base[i%2], i)
	}
	if _, stderr, code := runSluice(t, in.String(), "enqueue", "--to", queue, "--nats-tls-ca", caFile); code != 0 {
		t.Fatalf("enqueue: exit %d: %s", code, stderr)
	}
	stdout, stderr, code := runSluice(t, "", "--in", queue+"?idle=1s&lease=2s", "--nats-tls-ca", caFile)
	if code != 0 || strings.Count(stdout, "\n") != 20 {
		t.Fatalf("worker: exit %d, %d records: %s", code, strings.Count(stdout, "\n"), stderr)
	}
	for _, bad := range [][]string{
		{"--in", queue}, // no CA: the self-signed certificate is refused
		{"--in", "tls://crawler:wrong-pw@" + hostport + "/SEC/sec", "--nats-tls-ca", caFile},
	} {
		stdout, stderr, code := runSluice(t, "", bad...)
		if code != 1 || stdout != "" || strings.Contains(stderr, "pw") || !strings.Contains(stderr, hostport) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and a message naming the server without the password", bad[1], code, stderr)
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1 and writes it, as its own
// CA, to dir/ca.pem.
func selfSigned(t *testing.T, dir string) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile
}

// --nats-creds: a server in operator mode (JWT accounts) takes the worker
// with a .creds file and refuses it without one.
func TestQueueCreds(t *testing.T) {
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	op, err := nkeys.CreateOperator()
	must(err)
	acc, err := nkeys.CreateAccount()
	must(err)
	user, err := nkeys.CreateUser()
	must(err)
	opPub, _ := op.PublicKey()
	accPub, _ := acc.PublicKey()
	userPub, _ := user.PublicKey()
	sys, err := nkeys.CreateAccount()
	must(err)
	sysPub, _ := sys.PublicKey()
	sysJWT, err := jwt.NewAccountClaims(sysPub).Encode(op)
	must(err)
	opClaims := jwt.NewOperatorClaims(opPub)
	opClaims.SystemAccount = sysPub
	accClaims := jwt.NewAccountClaims(accPub)
	accClaims.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	accJWT, err := accClaims.Encode(op)
	must(err)
	userJWT, err := jwt.NewUserClaims(userPub).Encode(acc)
	must(err)
	seed, _ := user.Seed()
	creds, err := jwt.FormatUserConfig(userJWT, seed)
	must(err)
	dir := t.TempDir()
	credsFile := filepath.Join(dir, "worker.creds")
	must(os.WriteFile(credsFile, creds, 0o600))
	resolver := &server.MemAccResolver{}
	must(resolver.Store(accPub, accJWT))
	must(resolver.Store(sysPub, sysJWT))
	s := natsServerWith(t, &server.Options{
		Port: -1, StoreDir: dir,
		TrustedOperators: []*jwt.OperatorClaims{opClaims}, AccountResolver: resolver, SystemAccount: sysPub,
	})
	queue := s.ClientURL() + "/CREDS/creds"
	base := hosts(t, 1, nil)
	in := base[0] + "/a\n" + base[0] + "/b\n"
	if _, stderr, code := runSluice(t, in, "enqueue", "--to", queue, "--nats-creds", credsFile); code != 0 {
		t.Fatalf("enqueue: exit %d: %s", code, stderr)
	}
	stdout, stderr, code := runSluice(t, "", "--in", queue+"?idle=1s&lease=2s", "--nats-creds", credsFile)
	if code != 0 || strings.Count(stdout, "\n") != 2 {
		t.Fatalf("worker: exit %d, stdout %q: %s", code, stdout, stderr)
	}
	if _, stderr, code := runSluice(t, "", "--in", queue); code != 1 || strings.Contains(stderr, string(seed)) {
		t.Errorf("without creds: exit %d: %s; want 1", code, stderr)
	}
}
