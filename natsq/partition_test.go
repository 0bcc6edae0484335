package natsq

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The server partitions what any client publishes on SUBJECT.<token>: a
// plain nats.go publish (no sluice code) is stored as SUBJECT.<n>.<token>,
// n = FNV-1a 32 of the token modulo the partitions, the numbers computed
// apart from Go (a few lines of Python), which a producer can rely on.
func TestServerPartitions(t *testing.T) {
	js := jetStream(t)
	ctx := context.Background()
	q := QueueURL{Stream: "Q", Subject: "crawl.urls", Partitions: 16, Replicas: 1}
	if _, n, err := EnsureQueue(ctx, js, q); err != nil || n != 16 {
		t.Fatalf("EnsureQueue = %d, %v", n, err)
	}
	want := map[string]string{
		"crawl.urls.example_com":      "crawl.urls.3.example_com",
		"crawl.urls.127_0_0_1:8080":   "crawl.urls.11.127_0_0_1:8080",
		"crawl.urls._":                "crawl.urls.14._",
		"crawl.urls.xn--bcher-kva_de": "crawl.urls.10.xn--bcher-kva_de",
	}
	for subj := range want {
		if _, err := js.Publish(ctx, subj, []byte("http://x/")); err != nil {
			t.Fatalf("publish %s: %v", subj, err)
		}
	}
	if _, err := js.Publish(ctx, "crawl.urls.3.example_com", []byte("http://x/")); err == nil {
		t.Error("a publish straight to a partition's subject was stored: producers could pick partitions")
	}
	s, err := js.Stream(ctx, "Q")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(">"))
	if err != nil {
		t.Fatal(err)
	}
	for in, stored := range want {
		if info.State.Subjects[stored] != 1 {
			t.Errorf("%s: not stored as %s; the stream holds %v", in, stored, info.State.Subjects)
		}
	}

	// The same stream again is fine; another subject, or a stream made without
	// the server's partitioning (an older sluice), is refused with the way out.
	if _, _, err := EnsureQueue(ctx, js, q); err != nil {
		t.Errorf("EnsureQueue on its own stream: %v", err)
	}
	q.Subject = "other"
	if _, _, err := EnsureQueue(ctx, js, q); err == nil || !strings.Contains(err.Error(), "nats stream rm Q") {
		t.Errorf("EnsureQueue with another subject = %v", err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "OLD", Subjects: []string{"old.*"},
		Metadata: map[string]string{PartitionsKey: "16"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := EnsureQueue(ctx, js, QueueURL{Stream: "OLD", Subject: "old", Partitions: 16}); err == nil || !strings.Contains(err.Error(), "older sluice") {
		t.Errorf("EnsureQueue on an old stream = %v", err)
	}
}

// jetStream is a JetStream context on a server in this process, shut down
// when the test ends.
func jetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
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
	nc, err := nats.Connect(s.ClientURL())
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

// Latest reads what the bucket's stream leader holds: the last write of a
// key and its revision, and a key never written, or deleted, is not found.
func TestLatest(t *testing.T) {
	js := jetStream(t)
	ctx := context.Background()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, "k", []byte("one")); err != nil {
		t.Fatal(err)
	}
	rev, err := kv.Put(ctx, "k", []byte("two"))
	if err != nil {
		t.Fatal(err)
	}
	if v, r, err := Latest(ctx, js, "b", "k"); string(v) != "two" || r != rev || err != nil {
		t.Errorf("Latest = %q, %d, %v; want \"two\", %d", v, r, err, rev)
	}
	if _, _, err := Latest(ctx, js, "b", "never"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("Latest of a key never written: %v", err)
	}
	if err := kv.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Latest(ctx, js, "b", "k"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("Latest of a deleted key: %v", err)
	}
}
