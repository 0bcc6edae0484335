package natsq

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice/record"
)

// PartitionsKey is the stream metadata key that holds the partition count;
// DefaultPartitions is the count of a stream enqueue makes unless told.
const (
	PartitionsKey     = "sluice_partitions"
	DefaultPartitions = 16
)

// HostToken is the subject token that carries a host key (lower case,
// with the port unless it is the scheme's default, as in record.HostKey):
// each '.' becomes '_', as does anything a subject token cannot hold. Two
// hosts may share a token (a_b.test and a.b.test): they share a partition
// then, which costs nothing but spread. A line without a host has "_".
func HostToken(hostKey string) string {
	if hostKey == "" {
		return "_"
	}
	return strings.Map(func(c rune) rune {
		if c == '.' || c == '*' || c == '>' || c <= ' ' || c == 0x7f {
			return '_'
		}
		return c
	}, hostKey)
}

// InputSubject is the subject a producer publishes a record of host key
// hostKey to: SUBJECT.<HostToken>. The stream maps it to its partition.
func InputSubject(subject, hostKey string) string { return subject + "." + HostToken(hostKey) }

// InQueue says whether a message on subject would go into the queue of
// queueSubject (SUBJECT.*).
func InQueue(queueSubject, subject string) bool {
	rest, ok := strings.CutPrefix(subject, queueSubject+".")
	return ok && rest != "" && !strings.Contains(rest, ".")
}

// partitionTransform maps SUBJECT.<token> to SUBJECT.<n>.<token> as the
// message is stored, n the partition the server computes from the token:
// FNV-1a (32 bit) of it, modulo n (nats-server's partition()).
func partitionTransform(subject string, n int) *jetstream.SubjectTransformConfig {
	return &jetstream.SubjectTransformConfig{
		Source:      subject + ".*",
		Destination: fmt.Sprintf("%s.{{partition(%d,1)}}.{{wildcard(1)}}", subject, n),
	}
}

// PartitionSubject is the filter of partition p's messages, as stored.
func PartitionSubject(subject string, p int) string { return subject + "." + strconv.Itoa(p) + ".*" }

// ConsumerName is the durable consumer that delivers partition p.
func ConsumerName(durable string, p int) string { return durable + "-" + strconv.Itoa(p) }

// LeaseBucket is the key-value bucket of a stream's workers and leases.
func LeaseBucket(stream string) string { return "sluice_" + stream }

// MsgID is the Nats-Msg-Id of the output of the message at seq in stream.
func MsgID(stream string, seq uint64) string { return stream + ":" + strconv.FormatUint(seq, 10) }

// EnsureQueue returns the stream of q, making it when it does not exist:
// work-queue retention (a message is gone once acked), subjects
// q.Subject.*, stored partitioned by the server (partitionTransform) in
// q.Partitions partitions, q.Replicas copies. An existing stream must have
// been made this way (its metadata says how many partitions it has, its
// transform maps to them).
func EnsureQueue(ctx context.Context, js jetstream.JetStream, q QueueURL) (jetstream.Stream, int, error) {
	s, err := js.Stream(ctx, q.Stream)
	created := false
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		created = true
		s, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:             q.Stream,
			Subjects:         []string{q.Subject + ".*"},
			SubjectTransform: partitionTransform(q.Subject, q.Partitions),
			Retention:        jetstream.WorkQueuePolicy,
			Storage:          jetstream.FileStorage,
			Replicas:         q.Replicas,
			Metadata:         map[string]string{PartitionsKey: strconv.Itoa(q.Partitions)},
		})
	}
	if err != nil {
		return nil, 0, fmt.Errorf("stream %s: %w", q.Stream, err)
	}
	c := s.CachedInfo().Config
	n, err := strconv.Atoi(c.Metadata[PartitionsKey])
	switch {
	case (err != nil || n < 1) && created:
		if derr := js.DeleteStream(ctx, q.Stream); derr != nil { // useless without its partition count
			return nil, 0, fmt.Errorf("stream %s: the NATS server did not keep the stream's metadata (sluice needs nats-server 2.10 or later), and removing it failed: %w", q.Stream, derr)
		}
		return nil, 0, fmt.Errorf("stream %s: the NATS server did not keep the stream's metadata: sluice needs nats-server 2.10 or later", q.Stream)
	case err != nil || n < 1:
		return nil, 0, fmt.Errorf("stream %s has no %s in its metadata: make it with `sluice enqueue`", q.Stream, PartitionsKey)
	case c.SubjectTransform == nil || *c.SubjectTransform != *partitionTransform(q.Subject, n):
		return nil, 0, fmt.Errorf("stream %s does not partition %s.* on the server as this sluice does (an older sluice made it, or its subject is another): let its workers drain it, then delete it (nats stream rm %s)", q.Stream, q.Subject, q.Stream)
	}
	return s, n, nil
}

// ConsumerConfig is partition p's consumer as the scheme makes it: explicit
// acks, redelivered after ackWait, never given up on.
func ConsumerConfig(q QueueURL, p int) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       ConsumerName(q.Durable, p),
		FilterSubject: PartitionSubject(q.Subject, p),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       q.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: -1,
	}
}

// EnsureOutput returns the name of the stream that stores out's subject,
// making one when none does: named after the subject, keeping duplicates
// out for dedup (the broker's default is 2 minutes). out's limits, when
// set, are given to the stream, a stream that exists too.
func EnsureOutput(ctx context.Context, js jetstream.JetStream, out SubjectURL, dedup time.Duration) (string, error) {
	name, err := js.StreamNameBySubject(ctx, out.Subject)
	switch {
	case err == nil:
		return name, limitOutput(ctx, js, name, out)
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return "", fmt.Errorf("stream for %s: %w", out.Subject, err)
	}
	name = streamName(out.Subject)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{out.Subject}, Storage: jetstream.FileStorage, Duplicates: dedup,
		MaxAge: out.MaxAge, MaxBytes: cmp.Or(out.MaxBytes, -1), Replicas: out.Replicas,
	})
	if err != nil {
		return "", fmt.Errorf("make stream %s for %s: %w", name, out.Subject, err)
	}
	return name, nil
}

// limitOutput sets out's limits on the stream name when they differ.
func limitOutput(ctx context.Context, js jetstream.JetStream, name string, out SubjectURL) error {
	if out.MaxAge == 0 && out.MaxBytes == 0 {
		return nil
	}
	s, err := js.Stream(ctx, name)
	if err != nil {
		return fmt.Errorf("stream %s: %w", name, err)
	}
	c := s.CachedInfo().Config
	if (out.MaxAge == 0 || c.MaxAge == out.MaxAge) && (out.MaxBytes == 0 || c.MaxBytes == out.MaxBytes) {
		return nil
	}
	c.MaxAge = cmp.Or(out.MaxAge, c.MaxAge)
	c.MaxBytes = cmp.Or(out.MaxBytes, c.MaxBytes)
	if _, err := js.UpdateStream(ctx, c); err != nil {
		return fmt.Errorf("set the limits of stream %s: %w", name, err)
	}
	return nil
}

var notName = regexp.MustCompile(`[^A-Za-z0-9_-]`)

func streamName(subject string) string {
	return strings.ToUpper(notName.ReplaceAllString(subject, "_"))
}

// RecordMsg makes the message of an output record: the record's JSON object
// on subject, with Nats-Msg-Id from its input message. The function is for
// one goroutine (the sink's). drop are the fields not written.
func RecordMsg(subject string, drop ...string) func(*record.Record) (*nats.Msg, error) {
	enc := record.NewEncoder(drop...)
	return func(r *record.Record) (*nats.Msg, error) {
		msg := nats.NewMsg(subject)
		msg.Data = bytes.Clone(bytes.TrimSuffix(enc.AppendLine(r), []byte("\n")))
		if id := r.MsgID(); id != "" {
			msg.Header.Set(jetstream.MsgIDHeader, id)
		}
		return msg, nil
	}
}

// EnqueueMsg makes the queue message of an input record read from lines:
// the line as it was (the NDJSON object, or the URL) on InputSubject, with
// Nats-Msg-Id MsgIDOf the line. A line that is not a usable URL still goes
// in, so that a worker writes its invalid_input record; only a line sluice
// could not keep (longer than the line limit) is refused.
func EnqueueMsg(q QueueURL, idField string) func(*record.Record) (*nats.Msg, error) {
	return func(r *record.Record) (*nats.Msg, error) {
		body := r.Input
		if body == nil {
			body = []byte(r.URL)
		}
		if len(body) == 0 && r.Err != nil {
			return nil, fmt.Errorf("input record %d: %s", r.Seq, r.Err.Message)
		}
		msg := nats.NewMsg(InputSubject(q.Subject, r.Host))
		msg.Data = body
		msg.Header.Set(jetstream.MsgIDHeader, MsgIDOf(body, idField))
		return msg, nil
	}
}

// MsgIDOf is an input line's Nats-Msg-Id: the text of its object's member
// idField (a string's content, else the JSON value), or when there is
// none, the first 128 bits of the line's SHA-256 in hex, so the same line
// loaded twice within the stream's duplicate window is kept once.
func MsgIDOf(line []byte, idField string) string {
	var id string
	if idField != "" && len(line) > 0 && line[0] == '{' {
		record.Members(line, func(k, v []byte) {
			if string(k) != idField || string(v) == "null" {
				return
			}
			if v[0] == '"' {
				id = record.StringOf(v)
			} else {
				id = string(v)
			}
		}, nil)
	}
	if id == "" {
		sum := sha256.Sum256(line)
		id = hex.EncodeToString(sum[:16])
	}
	return id
}
