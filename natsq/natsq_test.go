package natsq

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

func TestParseQueueURL(t *testing.T) {
	q, err := ParseQueueURL("nats://u:pw@127.0.0.1:4222,127.0.0.1:4223/WORK/urls?durable=d1&batch=8&ack_wait=3s&lease=2s&idle=1s&partitions=4&replicas=3")
	want := QueueURL{Server: "nats://u:pw@127.0.0.1:4222,127.0.0.1:4223", Stream: "WORK", Subject: "urls", Durable: "d1", Batch: 8,
		AckWait: 3 * time.Second, Lease: 2 * time.Second, Partitions: 4, Replicas: 3, Idle: time.Second}
	if err != nil || q != want {
		t.Errorf("ParseQueueURL = %+v, %v; want %+v", q, err, want)
	}
	q, err = ParseQueueURL("tls://h:1/S/a.b")
	if err != nil || q.Durable != "sluice" || q.Batch != 64 || q.AckWait != 30*time.Second || q.Partitions != DefaultPartitions || q.Replicas != 1 || q.Idle != 0 {
		t.Errorf("defaults = %+v, %v", q, err)
	}
	for _, bad := range []string{
		"http://h:1/S/s", "nats://h:1/S", "nats://h:1/S/s/x", "nats://h:1/S!/s", "nats://h:1/S/a.*",
		"nats://u:s3cret@h:1/S/s?batch=0", "nats://u:s3cret@h:1/S/s?ack_wait=10ms", "nats://u:s3cret@h:1/S/s?idle=-1s",
		"nats://u:s3cret@h:1/S/s?bogus=1", "nats://u:s3cret@h:1/S/s?durable=a.b", "nats://u:s3cret@h:%zz/S/s",
		"nats://u:s3cret@h:1/S/s?replicas=0", "nats://u:s3cret@h:1/S/s?replicas=7",
	} {
		_, err := ParseQueueURL(bad)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseQueueURL(%q) = %v; want an error without the password", bad, err)
		}
	}
}

func TestParseSubjectURL(t *testing.T) {
	o, err := ParseSubjectURL("nats://u:pw@127.0.0.1:4222/crawl.out")
	if err != nil || o != (SubjectURL{Server: "nats://u:pw@127.0.0.1:4222", Subject: "crawl.out"}) {
		t.Errorf("ParseSubjectURL = %+v, %v", o, err)
	}
	o, err = ParseSubjectURL("nats://127.0.0.1:4222/crawl.out?max_age=24h&max_bytes=1073741824&replicas=3")
	if err != nil || o.MaxAge != 24*time.Hour || o.MaxBytes != 1<<30 || o.Replicas != 3 {
		t.Errorf("with limits: %+v, %v", o, err)
	}
	for _, bad := range []string{"nats://h:1/", "nats://h:1/a.>", "nats://h:1/a?x=1", "ftp://h:1/a",
		"nats://h:1/a?max_age=0s", "nats://h:1/a?max_age=soon", "nats://h:1/a?max_bytes=-1", "nats://h:1/a?max_bytes=1GiB", "nats://h:1/a?replicas=0"} {
		if _, err := ParseSubjectURL(bad); err == nil {
			t.Errorf("ParseSubjectURL(%q) = nil error", bad)
		}
	}
}

// A host's subject token is part of the scheme other producers follow.
func TestHostToken(t *testing.T) {
	for host, want := range map[string]string{
		"example.com": "example_com", "127.0.0.1:8080": "127_0_0_1:8080", "[::1]:8080": "[::1]:8080",
		"": "_", "a_b.test": "a_b_test", "a*b>c d": "a_b_c_d",
	} {
		if got := HostToken(host); got != want {
			t.Errorf("HostToken(%q) = %q; want %q", host, got, want)
		}
	}
	if InputSubject("crawl.urls", "example.com") != "crawl.urls.example_com" || ConsumerName("sluice", 3) != "sluice-3" ||
		PartitionSubject("urls", 3) != "urls.3.*" || MsgID("WORK", 42) != "WORK:42" {
		t.Error("the names of the scheme changed")
	}
	if Redact("nats://u:pw@h:1") != "nats://h:1" {
		t.Errorf("Redact = %q", Redact("nats://u:pw@h:1"))
	}
}

// An input's Nats-Msg-Id is part of the scheme other producers follow:
// the --id-field value, or the first 32 hex digits of the line's SHA-256
// (the values come from sha256sum).
func TestMsgIDOf(t *testing.T) {
	obj := `{"url":"http://a.test/","id":"k1"}`
	for _, tc := range []struct{ line, field, want string }{
		{"http://a.test/x", "", "b48b4715f4efc77b25fd77eb2e8f6283"},
		{"http://a.test/x", "id", "b48b4715f4efc77b25fd77eb2e8f6283"},
		{obj, "", "f9cae052b5ac2556c84b948c76e9c63b"},
		{obj, "id", "k1"},
		{`{"url":"http://a.test/","id":42}`, "id", "42"},
		{`{"url":"http://a.test/","id":"a\u00e9"}`, "id", "aé"},
		{obj, "nope", "f9cae052b5ac2556c84b948c76e9c63b"},
		{`{"id":null}`, "id", hashOf(`{"id":null}`)},
	} {
		if got := MsgIDOf([]byte(tc.line), tc.field); got != tc.want {
			t.Errorf("MsgIDOf(%s, %q) = %q; want %q", tc.line, tc.field, got, tc.want)
		}
	}
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// A seen key's value reads back as it was written, and the least depth is
// the nearer of the two.
func TestSeenValue(t *testing.T) {
	for _, s := range []Seen{{By: "seed:CRAWL:1"}, {By: "CRAWL:7", Depth: 3}, {By: "CRAWL:7", Depth: 3, Least: 1, LeastBy: "CRAWL:9"}} {
		got, ok := ParseSeen(s.Value())
		if !ok || got != s {
			t.Errorf("%q read back as %+v, %v; want %+v", s.Value(), got, ok, s)
		}
	}
	if d := (Seen{By: "A:1", Depth: 3, Least: 1, LeastBy: "A:2"}).LeastDepth(); d != 1 {
		t.Errorf("least depth %d; want 1", d)
	}
	for _, bad := range []string{"", "A:1", "A:1 x", "A:1 2 3", "A:1 2 x A:2"} {
		if _, ok := ParseSeen([]byte(bad)); ok {
			t.Errorf("%q read as a seen value", bad)
		}
	}
}
