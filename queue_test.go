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

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
)

// Tests of many sluice processes sharing one queue on a real nats-server,
// run in-process with JetStream in a temporary directory; the workers are
// the built binary.

// Three workers share 12,000 URL messages; one is killed with SIGKILL
// halfway and a fourth joins. The output stream ends with exactly one record
// per input message: what the killed worker had pulled comes back after
// ack_wait, and what it had published as well is dropped by Nats-Msg-Id.
func TestQueueWorkerKilled(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	ns := natsServer(t, t.TempDir(), -1)
	const n = 12000
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

// With a sink that does not keep up (stdout not read), a worker holds no
// more un-acked messages than its window.
func TestQueueBackpressure(t *testing.T) {
	ns := natsServer(t, t.TempDir(), -1)
	queue := ns.ClientURL() + "/BP/urls"
	const n, window = 2000, 50
	enqueueURLs(t, queue, hosts(t, 4, nil), n)
	// -c above the window: a worker takes no more than its fetch slots can
	// start, so with fewer slots than the window it would not fill it.
	cmd, stdout := startStalled(t, "--in", queue+"?idle=1s&lease=2s", "--window", strconv.Itoa(window), "-c", "64")
	js := jsConn(t, ns.ClientURL())
	pending := func() int { held, _ := ackPending(js, "BP"); return held }
	most := 0
	waitFor(t, "the worker to fill its window", func() bool { most = max(most, pending()); return most >= window })
	for range 20 { // twenty looks while nobody reads stdout: the window must hold at each (sampling, not a wait)
		most = max(most, pending())
		time.Sleep(50 * time.Millisecond)
	}
	if most > window {
		t.Errorf("%d un-acked messages held; the window is %d", most, window)
	}
	drain(t, cmd, stdout, n)
	t.Logf("at most %d un-acked messages with --window %d", most, window)
}

// The broker restarts in the middle of a run, shut down or killed with
// SIGKILL (no shutdown: what it had written to its store is what there
// is): the workers reconnect and finish, and every message gets exactly
// one record.
func TestQueueBrokerRestart(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) { brokerRestart(t, sig) })
	}
}

func brokerRestart(t *testing.T, sig syscall.Signal) {
	dir := t.TempDir()
	ns := natsServer(t, dir, -1)
	url, port := ns.ClientURL(), ns.port
	const n = 6000
	queue := url + "/RS/urls"
	enqueueURLs(t, queue, hosts(t, 8, nil), n)
	js := jsConn(t, url)
	args := []string{"--in", queue + "?idle=3s&lease=3s&ack_wait=3s", "--out", url + "/restart.results",
		"-c", "8", "--host-concurrency", "2", "--host-rate", "400"}
	workers := []*worker{startWorker(t, args...), startWorker(t, args...)}
	waitFor(t, "a first part of the records", func() bool { return streamMsgs(js, "RESTART_RESULTS") >= n/4 })
	ns.signal(sig)
	time.Sleep(500 * time.Millisecond) // the broker stays away this long: the scenario, not a wait for something
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
	t.Parallel() // waits on brokers, browsers and timers more than it computes
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
// --out (the stream is made when absent); -v logs each record there too.
func TestOutFromStdin(t *testing.T) {
	ns := natsServer(t, t.TempDir(), -1)
	base := hosts(t, 2, nil)
	var in strings.Builder
	for i := range 100 {
		fmt.Fprintf(&in, "%s/r?i=%d\n", base[i%2], i)
	}
	stdout, stderr, code := runSluice(t, in.String(), "--out", ns.ClientURL()+"/crawl.out", "--stats", "-v")
	if code != 0 || stdout != "" || !strings.Contains(stderr, "published 100 records, 0 of them dropped") {
		t.Fatalf("exit %d, stdout %q: %s", code, stdout, stderr)
	}
	checkEveryOnce(t, outputSeqs(t, jsConn(t, ns.ClientURL()), "CRAWL_OUT"), 100)
	if n := strings.Count(stderr, " 200 "); n != 100 { // -v: a line per record, also with --out
		t.Errorf("-v wrote %d record lines; want 100:\n%s", n, stderr)
	}
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
	var served atomic.Int64
	base := hosts(t, 1, func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(100 * time.Millisecond) // the server's pace, not synchronisation
		served.Add(1)
	})
	queue := ns.ClientURL() + "/INT/urls"
	const n = 60
	enqueueURLs(t, queue, base, n)
	first := exec.Command(sluiceBin(t), "--in", queue+"?lease=2s", "-c", "4", "--host-concurrency", "4", "--grace", "50ms")
	var out1 strings.Builder
	first.Stdout = &out1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "some records fetched", func() bool { return served.Load() >= 20 })
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

// orphan makes the state nats-server can leave behind after a restart
// (seen in CI): the work-queue stream keeps a message that its partition's
// consumer is past, so it is never delivered, while the consumer has
// nothing pending and nothing awaiting ack. The consumer is made to read
// another subject first, takes and acks a message there, and is then
// pointed at the partition: its position stays past the message already
// on the partition's subject. The stream has 4 partitions; the server puts
// token "a" in partition 0 of them, "b" in partition 1.
func orphan(t *testing.T, js jetstream.JetStream, stream, subject string, base string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := jetstream.ConsumerConfig{
		Durable: "sluice-0", FilterSubject: subject + ".1.b", AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: 30 * time.Second, MaxDeliver: -1, MaxAckPending: -1,
	}
	c, err := js.CreateConsumer(ctx, stream, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, subject+".a", []byte(base+"/orphan")); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, subject+".b", []byte(base+"/elsewhere")); err != nil {
		t.Fatal(err)
	}
	msg, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := msg.DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}
	cfg.FilterSubject = subject + ".0.*"
	if c, err = js.UpdateConsumer(ctx, stream, cfg); err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumPending != 0 || info.NumAckPending != 0 || streamMsgs(js, stream) != 1 {
		t.Fatalf("not orphaned: consumer pending %d, ack pending %d, stream holds %d; want 0, 0, 1",
			info.NumPending, info.NumAckPending, streamMsgs(js, stream))
	}
}

// A stream that keeps a message no consumer will deliver (orphaned) does
// not keep a worker from ending: it ends on the consumers' state, having
// written every record once, and says what it left behind.
func TestQueueOrphanedMessage(t *testing.T) {
	ns := natsServer(t, t.TempDir(), -1)
	js := jsConn(t, ns.ClientURL())
	queue := ns.ClientURL() + "/ORPH/urls"
	base := hosts(t, 4, nil)
	enqueueURLs(t, queue+"?partitions=4", base, 0) // makes the stream
	orphan(t, js, "ORPH", "urls", base[0])
	const n = 200
	enqueueURLs(t, queue, base, n) // stream seqs 3..202
	w := startWorker(t, "--in", queue+"?idle=1s&lease=2s", "--out", ns.ClientURL()+"/orph.out", "-v")
	w.wait(t)
	seqs := outputSeqs(t, js, "ORPH_OUT")
	for i := range seqs {
		seqs[i] -= 2 // the orphan and the message taken elsewhere came first
	}
	checkEveryOnce(t, seqs, n)
	if left := streamMsgs(js, "ORPH"); left != 1 {
		t.Errorf("the stream holds %d messages; want the orphan alone", left)
	}
	if !strings.Contains(w.stderr.String(), "the stream holds 1 messages that no consumer will deliver") {
		t.Errorf("the worker did not report the orphan:\n%s", w.stderr.String())
	}
}

// --unique and --resume with --out: a skipped record is neither published
// nor counted as written (every repeat once went out as a bare record).
func TestOutSkipsRepeats(t *testing.T) {
	ns := natsServer(t, t.TempDir(), -1)
	base := hosts(t, 1, nil)[0]
	in := base + "/a\n" + base + "/a\n" + base + "/b\n" + base + "/a\n"
	stdout, stderr, code := runSluice(t, in, "--out", ns.ClientURL()+"/uniq.out", "--unique", "-v")
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q: %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "4 records read, 2 written, 0 skipped as done before (--resume), 2 as repeats (--unique)") ||
		!strings.Contains(stderr, "published 2 records") {
		t.Errorf("stderr = %q; want 2 written and published, 2 repeats", stderr)
	}
	seqs := outputSeqs(t, jsConn(t, ns.ClientURL()), "UNIQ_OUT")
	slices.Sort(seqs)
	if !slices.Equal(seqs, []int64{1, 3}) {
		t.Errorf("published seqs %v; want [1 3]", seqs)
	}
}

// startStalled starts sluice with a stdout that nobody reads until the
// test does; it is killed when the test ends.
func startStalled(t *testing.T, args ...string) (*exec.Cmd, io.ReadCloser) {
	t.Helper()
	cmd := exec.Command(sluiceBin(t), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, stdout
}

// drain reads a stalled sluice's output to its end, and checks it exits 0
// having written n records.
func drain(t *testing.T, cmd *exec.Cmd, stdout io.Reader, n int) {
	t.Helper()
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
}

// ackPending sums the messages of stream's consumers that are delivered
// and not acked, and all those delivered; 0, 0 while it is not there.
func ackPending(js jetstream.JetStream, stream string) (held int, delivered uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, 0
	}
	for info := range s.ListConsumers(ctx).Info() {
		held += info.NumAckPending
		delivered += info.Delivered.Consumer
	}
	return held, delivered
}

// A worker takes from the queue what its fetch slots can start soon, not
// a window's worth: with stdout stalled, -c 4 and the default window
// (8,192), it holds a few hundred of 2,000 messages (the records in its
// 64 KiB output buffer, four in flight, at most 256 pulled ahead), so that
// the rest stay in the queue for other workers. It used to pull all 2,000.
func TestQueueNoHoarding(t *testing.T) {
	ns := natsServer(t, t.TempDir(), -1)
	queue := ns.ClientURL() + "/NH/urls"
	const n = 2000
	enqueueURLs(t, queue, hosts(t, 4, nil), n)
	cmd, stdout := startStalled(t, "--in", queue+"?idle=1s&lease=2s", "-c", "4")
	js := jsConn(t, ns.ClientURL())
	unacked := func() (int, uint64) { return ackPending(js, "NH") }
	// Wait until the worker is stalled: delivered messages stop growing
	// between two looks at the broker, with some held.
	var last uint64
	waitFor(t, "the worker to stall on stdout", func() bool {
		held, delivered := unacked()
		stalled := held > 0 && delivered == last
		last = delivered
		if !stalled {
			time.Sleep(200 * time.Millisecond) // the next look; not a wait for the result
		}
		return stalled
	})
	held, delivered := unacked()
	if held > 700 || delivered > 1000 {
		t.Errorf("%d un-acked messages held, %d delivered, of %d in the queue; want a few hundred at most", held, delivered, n)
	}
	t.Logf("stalled: %d un-acked messages held, %d delivered, of %d", held, delivered, n)
	drain(t, cmd, stdout, n)
}

// Loading the same input twice does not double the work: each message
// carries the line's hash as its Nats-Msg-Id, or with --id-field the
// field's value (two lines with one id are one message).
func TestEnqueueTwice(t *testing.T) {
	ns := natsServer(t, t.TempDir(), -1)
	js := jsConn(t, ns.ClientURL())
	in := "http://a.test/1\nhttp://a.test/2\nhttp://b.test/3\n"
	queue := ns.ClientURL() + "/TWICE/urls"
	for i, want := range []string{"3 records to stream TWICE (16 partitions)\n", "3 records to stream TWICE (16 partitions), 3 of them dropped as already there"} {
		_, stderr, code := runSluice(t, in, "enqueue", "--to", queue)
		if code != 0 || !strings.Contains(stderr, want) {
			t.Fatalf("load %d: exit %d, %q; want %q", i+1, code, stderr, want)
		}
	}
	if n := streamMsgs(js, "TWICE"); n != 3 {
		t.Errorf("the stream holds %d messages; want 3", n)
	}
	objs := `{"url":"http://a.test/1","id":"x"}` + "\n" + `{"url":"http://a.test/1?again","id":"x"}` + "\n" + `{"url":"http://a.test/2","id":"y"}` + "\n"
	_, stderr, code := runSluice(t, objs, "enqueue", "--to", ns.ClientURL()+"/IDS/ids", "--id-field", "id")
	if code != 0 || !strings.Contains(stderr, "3 records to stream IDS (16 partitions), 1 of them dropped") || streamMsgs(js, "IDS") != 2 {
		t.Errorf("--id-field: exit %d, %q, %d messages; want 2 kept, 1 dropped", code, stderr, streamMsgs(js, "IDS"))
	}
}

// --out's limits go to the output stream, made or already there.
func TestOutLimits(t *testing.T) {
	ns := natsServer(t, t.TempDir(), -1)
	js := jsConn(t, ns.ClientURL())
	base := hosts(t, 1, nil)[0]
	for _, c := range []struct {
		query  string
		age    time.Duration
		nbytes int64
	}{{"?max_age=1h", time.Hour, -1}, {"?max_age=2h&max_bytes=1048576", 2 * time.Hour, 1 << 20}, {"", 2 * time.Hour, 1 << 20}} {
		_, stderr, code := runSluice(t, base+"/r\n", "--out", ns.ClientURL()+"/lim.out"+c.query)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.query, code, stderr)
		}
		s, err := js.Stream(context.Background(), "LIM_OUT")
		if err != nil {
			t.Fatal(err)
		}
		if cfg := s.CachedInfo().Config; cfg.MaxAge != c.age || cfg.MaxBytes != c.nbytes {
			t.Errorf("%q: max_age %v, max_bytes %d; want %v, %d", c.query, cfg.MaxAge, cfg.MaxBytes, c.age, c.nbytes)
		}
	}
}

// A worker stopped (SIGSTOP) past its lease, then woken (SIGCONT): the
// other worker has taken its partitions meanwhile, and the woken one
// starts no request to a host the other now works (it hands back what it
// held instead of fetching it); every message ends as exactly one record
// in --out. Without the fence, the woken worker sent the records it held.
func TestQueueWorkerStopped(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	ns := natsServer(t, t.TempDir(), -1)
	var mu sync.Mutex
	inFlight := map[string]map[string]int{} // host -> worker -> requests under way
	served := map[string]map[string]bool{}  // host -> the workers that sent to it
	overlaps := 0
	bases := hosts(t, 8, func(w http.ResponseWriter, r *http.Request) {
		who := r.Header.Get("X-Worker")
		mu.Lock()
		if inFlight[r.Host] == nil {
			inFlight[r.Host], served[r.Host] = map[string]int{}, map[string]bool{}
		}
		for other, k := range inFlight[r.Host] {
			if other != who && k > 0 {
				overlaps++
			}
		}
		inFlight[r.Host][who]++
		served[r.Host][who] = true
		mu.Unlock()
		time.Sleep(20 * time.Millisecond) // an answer that takes a while (the server's time, not a wait of the test)
		mu.Lock()
		inFlight[r.Host][who]--
		mu.Unlock()
	})
	queue := ns.ClientURL() + "/STOP/urls"
	const n = 1500
	enqueueURLs(t, queue, bases, n)
	js := jsConn(t, ns.ClientURL())
	in := queue + "?idle=2s&lease=2s&ack_wait=3s"
	a := startWorker(t, "--in", in, "--out", ns.ClientURL()+"/stop.out", "-c", "1", "-H", "X-Worker: a")
	b := startWorker(t, "--in", in, "--out", ns.ClientURL()+"/stop.out", "-c", "4", "-H", "X-Worker: b")
	// Both at work, and a host that only a has served: b is to take it
	// over while a is stopped. (A host a served first may have gone to b
	// when b joined; then a has to serve another first.)
	var onlyA []string
	waitFor(t, "both workers at work, a on a host b never served", func() bool {
		mu.Lock()
		defer mu.Unlock()
		onlyA = onlyA[:0]
		bs := 0
		for h, s := range served {
			if s["b"] {
				bs++
			} else if s["a"] {
				onlyA = append(onlyA, h)
			}
		}
		return len(onlyA) > 0 && bs > 0
	})
	a.cmd.Process.Signal(syscall.SIGSTOP)
	// b takes a's partitions once a's leases lapse: it sends to a host
	// that only a had served.
	waitFor(t, "b to take over a host of a", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, h := range onlyA {
			if served[h]["b"] {
				return true
			}
		}
		return false
	})
	a.cmd.Process.Signal(syscall.SIGCONT)
	a.wait(t)
	b.wait(t)
	checkEveryOnce(t, outputSeqs(t, js, "STOP_OUT"), n)
	mu.Lock()
	defer mu.Unlock()
	// The one request a may have had under way in its client when it was
	// stopped reaches the server only when a wakes: that one may overlap.
	if overlaps > 1 {
		t.Errorf("%d requests went to a host while the other worker had one under way there; at most the one a had started may", overlaps)
	}
}

// Workers die again and again: every sixth of the run, one of three is
// killed with SIGKILL and a new one started. Every message still ends as
// exactly one record in --out.
func TestQueueRepeatedKills(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	ns := natsServer(t, t.TempDir(), -1)
	const n = 6000
	queue := ns.ClientURL() + "/RK/urls"
	enqueueURLs(t, queue, hosts(t, 12, nil), n)
	js := jsConn(t, ns.ClientURL())
	args := []string{"--in", queue + "?idle=2s&lease=2s&ack_wait=2s", "--out", ns.ClientURL() + "/rk.out", "-c", "8"}
	workers := []*worker{startWorker(t, args...), startWorker(t, args...), startWorker(t, args...)}
	for k := 1; k <= 5; k++ {
		waitFor(t, fmt.Sprintf("%d/6 of the records", k), func() bool { return streamMsgs(js, "RK_OUT") >= uint64(k*n/6) })
		i := k % len(workers)
		workers[i].cmd.Process.Signal(syscall.SIGKILL)
		err := <-workers[i].done
		workers[i].done <- err // for its cleanup
		workers[i] = startWorker(t, args...)
	}
	for _, w := range workers {
		w.wait(t)
	}
	checkEveryOnce(t, outputSeqs(t, js, "RK_OUT"), n)
}

// Any NATS client can load the queue: plain publishes (no sluice code) on
// SUBJECT.<host with '.' as '_'>, to a stream made by `sluice enqueue`
// from no input. One worker writes one record per message: URL lines,
// NDJSON objects and a line that is not a URL. The messages of each host
// are stored in one partition, which the server chose.
func TestQueueForeignProducer(t *testing.T) {
	ns := natsServer(t, t.TempDir(), -1)
	js := jsConn(t, ns.ClientURL())
	queue := ns.ClientURL() + "/FOREIGN/crawl.urls"
	if _, stderr, code := runSluice(t, "", "enqueue", "--to", queue+"?partitions=8"); code != 0 {
		t.Fatalf("enqueue of nothing: exit %d: %s", code, stderr)
	}
	ctx := context.Background()
	base := hosts(t, 3, nil)
	want := map[string]bool{}
	for i := range 30 {
		u := fmt.Sprintf("%s/r?i=%d", base[i%3], i)
		body := u
		if i%2 == 1 {
			body = fmt.Sprintf(`{"url":%q,"n":%d}`, u, i)
		}
		token := strings.ReplaceAll(strings.TrimPrefix(base[i%3], "http://"), ".", "_")
		if _, err := js.Publish(ctx, "crawl.urls."+token, []byte(body)); err != nil {
			t.Fatal(err)
		}
		want[u] = true
	}
	if _, err := js.Publish(ctx, "crawl.urls._", []byte("not a url")); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, "FOREIGN")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(">"))
	if err != nil {
		t.Fatal(err)
	}
	for subject, n := range info.State.Subjects {
		if parts := strings.Split(subject, "."); len(parts) != 4 || n != 10 && parts[3] != "_" {
			t.Errorf("stored %d messages as %s; want crawl.urls.<partition>.<token>, 10 of each host", n, subject)
		}
	}

	stdout, stderr, code := runSluice(t, "", "--in", queue+"?idle=1s&lease=2s")
	if code != 0 {
		t.Fatalf("worker: exit %d: %s", code, stderr)
	}
	invalid := 0
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var r outRecord
		switch err := json.Unmarshal([]byte(line), &r); {
		case err != nil:
			t.Fatalf("%q: %v", line, err)
		case r.Error != nil && r.Error.Kind == "invalid_input":
			invalid++
		case !want[r.URL] || r.Status != 200:
			t.Errorf("record %s: not one of the messages, or not 200", line)
		}
		delete(want, r.URL)
	}
	if len(want) != 0 || invalid != 1 {
		t.Errorf("%d messages without a record, %d invalid_input records (want 0, 1):\n%s", len(want), invalid, stdout)
	}
}
