package natsq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options are the connection's credentials and TLS.
type Options struct {
	Creds string // a .creds file (JWT and NKey seed)
	TLSCA string // a CA certificate file to verify the server with
}

// MaxPending is how many asynchronous publishes may wait for the broker's
// ack at once; the NATS sink stops taking records past it (backpressure).
const MaxPending = 256

// Dial connects to server for as long as the process runs: it reconnects
// forever, buffering what is published meanwhile. Errors never include the
// server's user and password.
func Dial(server string, opt Options) (*nats.Conn, error) {
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

// Connect dials server and opens JetStream on it for the queue and the NATS
// sink. Its close flushes what is still buffered (the last acks) first and
// returns the flush's error: acks that did not reach the broker redeliver
// their messages.
func Connect(server string, opt Options) (js jetstream.JetStream, close func() error, err error) {
	nc, err := Dial(server, opt)
	if err != nil {
		return nil, nil, err
	}
	js, err = jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(MaxPending),
		jetstream.WithPublishAsyncTimeout(5*time.Second))
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return js, func() error {
		defer nc.Close()
		if err := nc.FlushTimeout(5 * time.Second); err != nil {
			return fmt.Errorf("flush to %s: %w", Redact(server), err)
		}
		return nil
	}, nil
}

// Retry runs a setup call (making or looking up a stream or a bucket) and
// runs it again while the broker answers with a timeout, for up to 30
// seconds: a cluster may be electing a leader or taking a node back (it
// answers 503, "temporarily unavailable"), and two workers making one
// replicated bucket at once were seen to both time out while the bucket
// got made. Other errors, and ctx's end, return.
func Retry(ctx context.Context, call func() error) error {
	wait, end := 250*time.Millisecond, time.Now().Add(30*time.Second)
	for {
		err := call()
		if err == nil || !timedOut(err) || time.Now().After(end) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 4*time.Second)
	}
}

func timedOut(err error) bool {
	var api *jetstream.APIError
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.As(err, &api) && api.Code == 503 && api.ErrorCode != jetstream.JSErrCodeJetStreamNotEnabled
}

// Latest reads key of the key-value bucket from its stream's leader and
// returns its value and revision. A bucket of several replicas answers
// KeyValue.Get from any of them (a direct get), and one that lags may not
// have a write confirmed a moment ago: the key a refused create-only
// write says exists, or the revision an update must name. The leader has
// every write it confirmed. A key deleted or purged is ErrKeyNotFound,
// as Get has it.
func Latest(ctx context.Context, js jetstream.JetStream, bucket, key string) ([]byte, uint64, error) {
	leader, err := js.Conn().JetStream(nats.Context(ctx))
	if err != nil {
		return nil, 0, err
	}
	m, err := leader.GetLastMsg("KV_"+bucket, "$KV."+bucket+"."+key)
	if errors.Is(err, nats.ErrMsgNotFound) {
		return nil, 0, jetstream.ErrKeyNotFound
	}
	if err != nil {
		return nil, 0, err
	}
	if op := m.Header.Get("KV-Operation"); op == "DEL" || op == "PURGE" {
		return nil, 0, jetstream.ErrKeyNotFound
	}
	return m.Data, m.Sequence, nil
}
