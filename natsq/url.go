package natsq

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

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
	Replicas   int           // replicas=N: copies of the streams and bucket sluice makes, on a cluster (default 1)
	Idle       time.Duration // idle=DURATION: stop once the whole queue has had nothing to deliver this long (default: never)
}

// ParseQueueURL reads nats://HOST:PORT/STREAM/SUBJECT with the options
// durable, batch, ack_wait, lease, idle, partitions and replicas. HOST:PORT
// may be several, comma-separated (a cluster's servers). Its errors never
// repeat the URL, which may hold a password.
func ParseQueueURL(raw string) (QueueURL, error) {
	u, server, err := parse(raw)
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
		Partitions: DefaultPartitions, Replicas: 1,
	}
	for k, vs := range u.Query() {
		if err := q.set(k, vs[len(vs)-1]); err != nil {
			return QueueURL{}, fmt.Errorf("option %s: %v", k, err)
		}
	}
	return q, nil
}

func (q *QueueURL) set(k, v string) error {
	var err error
	switch k {
	case "durable":
		if !isName(v) {
			return errors.New("want letters, digits, - and _")
		}
		q.Durable = v
	case "batch":
		q.Batch, err = positive(v, 10000)
	case "partitions":
		q.Partitions, err = positive(v, 1024)
	case "replicas":
		q.Replicas, err = positive(v, 5)
	case "ack_wait":
		q.AckWait, err = duration(v, time.Second)
	case "idle":
		q.Idle, err = duration(v, time.Nanosecond)
	case "lease":
		q.Lease, err = duration(v, time.Second)
	default:
		err = errors.New("unknown option (durable, batch, ack_wait, lease, idle, partitions, replicas)")
	}
	return err
}

func duration(v string, least time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		return 0, err
	case d < least && least == time.Nanosecond:
		return 0, errors.New("want a positive duration")
	case d < least:
		return 0, fmt.Errorf("want at least %v", least)
	}
	return d, nil
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

// SubjectURL is --out's nats://HOST:PORT/SUBJECT[?max_age=D&max_bytes=N&replicas=N]:
// the server to dial, the subject, and limits for the stream that stores
// it (0: none set).
type SubjectURL struct {
	Server, Subject string
	MaxAge          time.Duration // older records are dropped
	MaxBytes        int64         // the oldest records are dropped past this size
	Replicas        int           // copies of a stream --out makes (0: the broker's default, 1)
}

// ParseSubjectURL reads --out's URL.
func ParseSubjectURL(raw string) (SubjectURL, error) {
	u, server, err := parse(raw)
	if err != nil {
		return SubjectURL{}, err
	}
	o := SubjectURL{Server: server, Subject: strings.Trim(u.Path, "/")}
	if (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" || !isSubject(o.Subject) {
		return SubjectURL{}, errors.New("want nats://HOST:PORT/SUBJECT[?max_age=24h&max_bytes=N&replicas=3] (a subject without wildcards)")
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "max_age":
			if o.MaxAge, err = time.ParseDuration(v); err != nil || o.MaxAge <= 0 {
				return SubjectURL{}, fmt.Errorf("max_age=%s: want a positive duration such as 24h", v)
			}
		case "max_bytes":
			if o.MaxBytes, err = strconv.ParseInt(v, 10, 64); err != nil || o.MaxBytes <= 0 {
				return SubjectURL{}, fmt.Errorf("max_bytes=%s: want a positive number of bytes", v)
			}
		case "replicas":
			if o.Replicas, err = positive(v, 5); err != nil {
				return SubjectURL{}, fmt.Errorf("replicas=%s: %v", v, err)
			}
		default:
			return SubjectURL{}, fmt.Errorf("unknown option %q (max_age, max_bytes, replicas)", k)
		}
	}
	return o, nil
}

// parse parses a nats:// URL and gives the server part to dial, user and
// password included. Its errors never repeat the URL (url.Parse's would,
// password and all).
func parse(raw string) (*url.URL, string, error) {
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

// Redact drops the user and password from a nats:// URL, for messages.
func Redact(server string) string {
	u, err := url.Parse(server)
	if err != nil || u.User == nil {
		return server
	}
	u.User = nil
	return u.String()
}
