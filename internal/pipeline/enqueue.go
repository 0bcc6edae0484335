package pipeline

import (
	"context"
	"fmt"
	"io"

	"github.com/nats-io/nats.go/jetstream"

	"sluice/flow"
	"sluice/internal/config"
	"sluice/natsq"
	"sluice/record"
	"sluice/sinks"
	"sluice/sources"
)

// Enqueue is `sluice enqueue`: it loads input lines into the work queue
// e.Queue for `sluice --in`, making the stream when it is absent. What was
// read is published even after a signal (a second one exits); it returns
// ErrInterrupted then.
func Enqueue(ctx context.Context, e config.Enqueue, stdin io.Reader, stderr io.Writer) error {
	in, err := openInputs(e.Inputs, stdin)
	if err != nil {
		return err
	}
	defer in.close()
	js, closeConn, err := natsq.Connect(e.Queue.Server, e.NATS)
	if err != nil {
		return err
	}
	defer closeConn() // the publishes were acked: a failed flush loses nothing
	var parts int
	var stream jetstream.Stream
	if err := natsq.Retry(ctx, func() (err error) {
		stream, parts, err = natsq.EnsureQueue(ctx, js, e.Queue)
		return err
	}); err != nil {
		return err
	}
	if e.Crawl != nil {
		s, _, err := natsq.StartCrawl(ctx, js, e.Queue.Stream, stream.CachedInfo().Config.Replicas, crawlSettings(*e.Crawl), e.Crawl.Given)
		if err != nil {
			return fmt.Errorf("--follow: %w", err)
		}
		fmt.Fprintf(stderr, "sluice enqueue: the crawl of stream %s: %s\n", e.Queue.Stream, s)
	}
	src := sources.NewLines(ctx, in.readers, sources.Options{Parser: record.Parser{URLField: e.URLField}})
	out := sinks.NewNATS(context.WithoutCancel(ctx), js, natsq.EnqueueMsg(e.Queue, e.IDField))
	src.To(flow.NewSink(out))
	fmt.Fprintf(stderr, "sluice enqueue: %d records to stream %s (%d partitions)", out.Count(), e.Queue.Stream, parts)
	if d := out.Duplicates(); d > 0 {
		fmt.Fprintf(stderr, ", %d of them dropped as already there (same Nats-Msg-Id within the duplicate window)", d)
	}
	fmt.Fprintln(stderr)
	switch {
	case out.Err() != nil:
		return out.Err()
	case src.Err() != nil:
		return src.Err()
	case ctx.Err() != nil:
		return ErrInterrupted
	}
	return nil
}
