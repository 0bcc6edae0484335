package natsq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
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

// Partition is the partition of a host among n: FNV-1a (32 bit) of the host
// key (lower case, with the port unless it is the scheme's default, as in
// record.HostKey) modulo n. A line without a usable URL goes to partition 0.
func Partition(hostKey string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(hostKey))
	return int(h.Sum32() % uint32(n))
}

// PartitionSubject is the subject of partition p's messages.
func PartitionSubject(subject string, p int) string { return subject + "." + strconv.Itoa(p) }

// ConsumerName is the durable consumer that delivers partition p.
func ConsumerName(durable string, p int) string { return durable + "-" + strconv.Itoa(p) }

// LeaseBucket is the key-value bucket of a stream's workers and leases.
func LeaseBucket(stream string) string { return "sluice_" + stream }

// MsgID is the Nats-Msg-Id of the output of the message at seq in stream.
func MsgID(stream string, seq uint64) string { return stream + ":" + strconv.FormatUint(seq, 10) }

// EnsureQueue returns the stream of q, making it when it does not exist:
// work-queue retention (a message is gone once acked), subjects
// q.Subject.*, q.Partitions partitions. An existing stream must have been
// made this way (its metadata says how many partitions it has).
func EnsureQueue(ctx context.Context, js jetstream.JetStream, q QueueURL) (jetstream.Stream, int, error) {
	s, err := js.Stream(ctx, q.Stream)
	created := false
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		created = true
		s, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:      q.Stream,
			Subjects:  []string{q.Subject + ".*"},
			Retention: jetstream.WorkQueuePolicy,
			Storage:   jetstream.FileStorage,
			Metadata:  map[string]string{PartitionsKey: strconv.Itoa(q.Partitions)},
		})
	}
	if err != nil {
		return nil, 0, fmt.Errorf("stream %s: %w", q.Stream, err)
	}
	n, err := strconv.Atoi(s.CachedInfo().Config.Metadata[PartitionsKey])
	switch {
	case (err != nil || n < 1) && created:
		if derr := js.DeleteStream(ctx, q.Stream); derr != nil { // useless without its partition count
			return nil, 0, fmt.Errorf("stream %s: the NATS server did not keep the stream's metadata (sluice needs nats-server 2.10 or later), and removing it failed: %w", q.Stream, derr)
		}
		return nil, 0, fmt.Errorf("stream %s: the NATS server did not keep the stream's metadata: sluice needs nats-server 2.10 or later", q.Stream)
	case err != nil || n < 1:
		return nil, 0, fmt.Errorf("stream %s has no %s in its metadata: make it with `sluice enqueue`", q.Stream, PartitionsKey)
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

// EnsureOutput returns the name of the stream that stores subject, making
// one when none does: named after the subject, keeping duplicates out for
// dedup (the broker's default is 2 minutes).
func EnsureOutput(ctx context.Context, js jetstream.JetStream, subject string, dedup time.Duration) (string, error) {
	name, err := js.StreamNameBySubject(ctx, subject)
	if err == nil {
		return name, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return "", fmt.Errorf("stream for %s: %w", subject, err)
	}
	name = streamName(subject)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{subject}, Storage: jetstream.FileStorage, Duplicates: dedup,
	})
	if err != nil {
		return "", fmt.Errorf("make stream %s for %s: %w", name, subject, err)
	}
	return name, nil
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
		if r.MsgID != "" {
			msg.Header.Set(jetstream.MsgIDHeader, r.MsgID)
		}
		return msg, nil
	}
}

// EnqueueMsg makes the queue message of an input record read from lines:
// the line as it was (the NDJSON object, or the URL) on Subject.<n>, n the
// partition of its host. A line that is not a usable URL still goes in (to
// partition 0), so that a worker writes its invalid_input record; only a
// line sluice could not keep (longer than the line limit) is refused.
func EnqueueMsg(q QueueURL, parts int) func(*record.Record) (*nats.Msg, error) {
	return func(r *record.Record) (*nats.Msg, error) {
		body := r.Input
		if body == nil {
			body = []byte(r.URL)
		}
		if len(body) == 0 && r.Err != nil {
			return nil, fmt.Errorf("input record %d: %s", r.Seq, r.Err.Message)
		}
		p := 0
		if r.Host != "" {
			p = Partition(r.Host, parts)
		}
		msg := nats.NewMsg(PartitionSubject(q.Subject, p))
		msg.Data = body
		return msg, nil
	}
}
