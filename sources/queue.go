package sources

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice/record"
)

// The queue's scheme, shared by `sluice enqueue`, the workers and any other
// producer: a JetStream stream STREAM holds one message per input record
// (a URL line or an NDJSON object, as on stdin) on the subject
// SUBJECT.<n>, where n is the partition of the record's host (Partition).
// The number of partitions is fixed when the stream is made and kept in
// the stream's metadata under PartitionsKey. Each partition is worked by
// one worker at a time, which holds a lease on it in the key-value bucket
// LeaseBucket(STREAM); so the per-host limits of that worker are the
// cluster's.
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

// LeaseBucket is the key-value bucket of a stream's workers and leases.
func LeaseBucket(stream string) string { return "sluice_" + stream }

// QueueURL is a parsed nats://HOST:PORT/STREAM/SUBJECT?options.
type QueueURL struct {
	Server     string        // nats://[user:password@]HOST:PORT
	Stream     string        // the stream name
	Subject    string        // the subject prefix: messages are on Subject.<n>
	Durable    string        // durable=NAME: consumers are NAME-<n> (default "sluice")
	Batch      int           // batch=N: most messages asked for in one pull (default 64)
	AckWait    time.Duration // ack_wait=DURATION: redelivery after a silent worker (default 30s)
	Lease      time.Duration // lease=DURATION: a dead worker's partitions are free after this (default 10s)
	Partitions int           // partitions=N: for a stream enqueue makes (default 16)
	Idle       time.Duration // idle=DURATION: stop once the whole queue has been empty this long (default: never)
}

// ParseQueueURL reads nats://HOST:PORT/STREAM/SUBJECT with the options
// durable, batch, ack_wait, lease, idle and partitions.
func ParseQueueURL(raw string) (QueueURL, error) {
	u, server, err := parseNATS(raw)
	if err != nil {
		return QueueURL{}, err
	}
	if u.Scheme != "nats" && u.Scheme != "tls" {
		return QueueURL{}, fmt.Errorf("scheme %q: want nats://HOST:PORT/STREAM/SUBJECT", u.Scheme)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if u.Host == "" || len(parts) != 2 || !isName(parts[0]) || !isSubject(parts[1]) {
		return QueueURL{}, errors.New("want nats://HOST:PORT/STREAM/SUBJECT (a stream name, and a subject without wildcards)")
	}
	q := QueueURL{
		Server: server, Stream: parts[0], Subject: parts[1],
		Durable: "sluice", Batch: 64, AckWait: 30 * time.Second, Lease: 10 * time.Second,
		Partitions: DefaultPartitions,
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		var err error
		switch k {
		case "durable":
			if !isName(v) {
				err = errors.New("want letters, digits, - and _")
			}
			q.Durable = v
		case "batch":
			q.Batch, err = positive(v, 10000)
		case "partitions":
			q.Partitions, err = positive(v, 1024)
		case "ack_wait":
			q.AckWait, err = time.ParseDuration(v)
			if err == nil && q.AckWait < time.Second {
				err = errors.New("want at least 1s")
			}
		case "idle":
			q.Idle, err = time.ParseDuration(v)
			if err == nil && q.Idle <= 0 {
				err = errors.New("want a positive duration")
			}
		case "lease":
			q.Lease, err = time.ParseDuration(v)
			if err == nil && q.Lease < time.Second {
				err = errors.New("want at least 1s")
			}
		default:
			err = errors.New("unknown option (durable, batch, ack_wait, lease, idle, partitions)")
		}
		if err != nil {
			return QueueURL{}, fmt.Errorf("option %s: %v", k, err)
		}
	}
	return q, nil
}

func positive(v string, most int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		return 0, fmt.Errorf("want a number from 1 to %d", most)
	}
	return n, nil
}

// isName: a stream, consumer or bucket name part.
func isName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// ParseSubjectURL reads --out's nats://HOST:PORT/SUBJECT into the server to
// dial and the subject.
func ParseSubjectURL(raw string) (server, subject string, err error) {
	u, server, err := parseNATS(raw)
	if err != nil {
		return "", "", err
	}
	subject = strings.Trim(u.Path, "/")
	if (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" || u.RawQuery != "" || !isSubject(subject) {
		return "", "", errors.New("want nats://HOST:PORT/SUBJECT (a subject without wildcards)")
	}
	return server, subject, nil
}

// parseNATS parses a nats:// URL and gives the server part to dial, user
// and password included. Its errors never repeat the URL (url.Parse's
// would, password and all).
func parseNATS(raw string) (*url.URL, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", errors.New("not a URL")
	}
	return u, (&url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host}).String(), nil
}

// isSubject: dot-separated tokens, no wildcards.
func isSubject(s string) bool {
	for _, tok := range strings.Split(s, ".") {
		if tok == "" || strings.ContainsAny(tok, "*> \t\r\n/") {
			return false
		}
	}
	return true
}

// NATSOptions are the connection's credentials and TLS.
type NATSOptions struct {
	Creds string // a .creds file (JWT and NKey seed)
	TLSCA string // a CA certificate file to verify the server with
}

// DialNATS connects to server for as long as the process runs: it
// reconnects forever, buffering what is published meanwhile. Errors never
// include the server's user and password.
func DialNATS(server string, opt NATSOptions) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("sluice"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectBufSize(64 << 20),
		nats.RetryOnFailedConnect(false),
	}
	if opt.Creds != "" {
		opts = append(opts, nats.UserCredentials(opt.Creds))
	}
	if opt.TLSCA != "" {
		opts = append(opts, nats.RootCAs(opt.TLSCA))
	}
	nc, err := nats.Connect(server, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %v", Redact(server), err)
	}
	return nc, nil
}

// Redact drops the user and password from a nats:// URL, for messages.
func Redact(server string) string {
	u, err := url.Parse(server)
	if err != nil || u.User == nil {
		return server
	}
	u.User = nil
	return u.String()
}

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
		js.DeleteStream(ctx, q.Stream) // useless without its partition count
		return nil, 0, fmt.Errorf("stream %s: the NATS server did not keep the stream's metadata: sluice needs nats-server 2.10 or later", q.Stream)
	case err != nil || n < 1:
		return nil, 0, fmt.Errorf("stream %s has no %s in its metadata: make it with `sluice enqueue`", q.Stream, PartitionsKey)
	}
	return s, n, nil
}

// newID is a worker's name in the lease bucket.
func newID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
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
		msg := nats.NewMsg(q.Subject + "." + strconv.Itoa(p))
		msg.Data = body
		return msg, nil
	}
}
