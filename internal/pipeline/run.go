package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reugn/go-streams"

	"sluice/flow"
	"sluice/internal/config"
	"sluice/internal/metrics"
	"sluice/natsq"
	"sluice/record"
	"sluice/sinks"
	"sluice/sources"
	"sluice/stages/cache"
	"sluice/stages/crawl"
	"sluice/stages/fetch"
	"sluice/stages/render"
	"sluice/stages/schedule"
	"sluice/stages/transport"
)

// ErrInterrupted is Run's error after a signal (exit status 130).
var ErrInterrupted = errors.New("interrupted")

// OutputError is a failure to write the output.
type OutputError struct{ Err error }

func (e *OutputError) Error() string { return "write output: " + e.Err.Error() }
func (e *OutputError) Unwrap() error { return e.Err }

// source and output are what a run needs of sources.Lines or
// sources.Queue, and of sinks.NDJSON or sinks.NATS.
type source interface {
	streams.Source
	Count() int64
	BytesRead() int64
	Err() error
}

type output interface {
	flow.Writer
	Count() int64
	Errors() int64
	Err() error
}

// run is one assembled pipeline; build makes it, flow runs it.
type run struct {
	cfg      config.Config
	life     *flow.Lifetime
	in       *inputs // nil with --in
	src      source
	queue    *sources.Queue // with --in
	schedule *schedule.Schedule
	frontier *crawl.Frontier // --follow; nil without
	fetcher  *fetch.Fetcher
	stats    *metrics.Stats     // nil without --stats or --stats-json
	observe  schedule.Observers // told of every attempt: stats, metrics
	metrics  *metrics.Metrics   // nil without --metrics
	finished *record.Finished   // --resume's
	out      output
	sink     *flow.Sink
	closers  []func() error   // called last first
	cache    *cache.Store     // --cache; nil without
	warc     *sinks.WARC      // --warc; nil without
	archived *flow.Chain      // --warc: the sink's writer, the archive ahead of out
	renderer *render.Renderer // --render; nil without
}

// Run reads the inputs through the pipeline to stdout (or --out). Cancelling
// ctx (the first SIGINT or SIGTERM) stops intake at once; requests in flight
// get cfg.Grace to finish, then are cancelled; every record read is
// written. No goroutine started here outlives Run, except a read blocked on
// an idle stdin, which cannot be interrupted (see sources.Lines).
func Run(ctx context.Context, cfg config.Config, stdin io.Reader, stdout, stderr io.Writer) error {
	stopProfile, err := startProfile(cfg.CPUProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	life := flow.NewLifetime(ctx, cfg.Grace)
	defer life.End()
	r, err := build(ctx, life, cfg, stdin, stdout, stderr)
	if r != nil {
		defer r.close(stderr)
	}
	if err != nil {
		return err
	}
	r.flow(stderr)
	archiveErr := r.archiveErr()
	if err := r.report(stderr); err != nil {
		return err
	}
	if r.frontier != nil {
		switch n := r.frontier.Left(); {
		case ctx.Err() == nil: // stopped by a closed output (| head): quietly
		case n > 0 && r.cfg.Crawl.State != "":
			fmt.Fprintf(stderr, "sluice: stopped with %d admitted URLs not fetched, kept in --state %s: the same command goes on\n", n, r.cfg.Crawl.State)
		case n > 0:
			fmt.Fprintf(stderr, "sluice: stopped with %d admitted URLs not fetched\n", n)
		}
		if err := r.frontier.Err(); err != nil {
			fmt.Fprintf(stderr, "sluice: %v\n", err)
		}
	}
	switch {
	case ctx.Err() != nil:
		return ErrInterrupted
	case archiveErr != nil:
		return archiveErr
	case r.out.Err() != nil:
		return &OutputError{r.out.Err()}
	}
	return r.src.Err()
}

// openCache opens --cache's store for the fetcher; it is closed last.
func (r *run) openCache(stderr io.Writer) error {
	c := r.cfg.Cache
	if c.Dir == "" {
		return nil
	}
	warn := func(msg string) { fmt.Fprintln(stderr, "sluice:", msg) }
	store, err := cache.Open(c.Dir, cache.Options{Max: c.Max, Wait: c.Wait, Warn: warn})
	if err != nil {
		return fmt.Errorf("--cache: %w", err)
	}
	r.cache = store
	r.cfg.Fetch.Cache = store
	r.closers = append(r.closers, store.Close)
	return nil
}

// startProfile starts --cpuprofile; stop ends it.
func startProfile(name string) (stop func(), err error) {
	if name == "" {
		return func() {}, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// build makes every part of the run; nothing runs yet. The run it returns,
// even with an error, is to be closed.
func build(ctx context.Context, life *flow.Lifetime, cfg config.Config, stdin io.Reader, stdout, stderr io.Writer) (*run, error) {
	r := &run{cfg: cfg, life: life}
	fitOpenFiles(&r.cfg, stderr)
	// No reading ahead while every fetch worker is busy. For a queue
	// worker this is what keeps it from hoarding: it takes from the queue
	// what it can start soon, so that partitions move to a new worker
	// promptly (the messages a puller holds meanwhile are among the
	// unsettled ones, which get in-progress acks).
	r.cfg.Limits.Workers = r.cfg.Fetch.Concurrency
	if cfg.In == nil {
		// Lines hoard nothing: read a little ahead, so that a host coming
		// back soon keeps its connections (stages.DefaultLookahead).
		r.cfg.Limits.Lookahead = min(schedule.DefaultLookahead, r.cfg.Limits.Window)
		in, err := openInputs(cfg.Inputs, stdin)
		if err != nil {
			return r, err
		}
		r.in = in
		r.closers = append(r.closers, func() error { in.close(); return nil })
	}
	if cfg.Stats || cfg.StatsJSON != "" {
		r.stats = metrics.NewStats()
		r.observe = append(r.observe, r.stats)
	}
	if cfg.Metrics != "" {
		r.metrics = metrics.New(cfg.MetricsHosts, cfg.Fetch.Trace)
		r.observe = append(r.observe, r.metrics)
	}
	r.cfg.Fetch.Observe = r.observe
	if err := r.openCache(stderr); err != nil {
		return r, err
	}
	if err := r.archive(); err != nil {
		return r, err
	}
	var err error
	conns, err := transport.New(r.cfg.Transport)
	if err != nil {
		return r, err
	}
	if r.fetcher, err = fetch.NewFetcher(r.cfg.Fetch, conns); err != nil {
		return r, err
	}
	r.closers = append(r.closers, func() error { r.fetcher.Close(); return nil })
	r.cfg.Limits.HostDone, r.cfg.Limits.HostBack = conns.HostDone, conns.HostBack
	if r.schedule, err = schedule.NewSchedule(life.Intake.Done(), r.cfg.Limits, r.observe); err != nil {
		return r, err
	}
	if err := r.render(); err != nil {
		return r, err
	}
	js, err := r.connect()
	if err != nil {
		return r, err
	}
	if err := r.output(ctx, js, stdout, stderr); err != nil {
		return r, err
	}
	if err := r.crawl(); err != nil {
		return r, err
	}
	if err := r.source(js); err != nil {
		return r, err
	}
	return r, r.serveMetrics(stderr)
}

// render makes the render stage for --render: a browser must be on the
// machine; it starts with the first page.
func (r *run) render() error {
	if !r.cfg.Render.On {
		return nil
	}
	var err error
	if r.cfg.Render.Browser, err = render.FindBrowser(); err != nil {
		return err
	}
	r.schedule.EnablePermits()
	r.renderer = render.NewRenderer(r.life.Intake.Done(), r.cfg.Render, r.fetcher.FetchResource, r.schedule, r.fetcher.Timeout())
	r.closers = append(r.closers, func() error { r.renderer.Close(); return nil })
	return nil
}

// crawl makes the frontier for --follow and tells it of what the sink
// takes, and with --state of what it has durably written.
func (r *run) crawl() error {
	if !r.cfg.Crawl.Follow || r.cfg.In != nil { // with --in, the queue is the frontier (source)
		return nil
	}
	var err error
	if r.frontier, err = crawl.NewFrontier(r.life.Intake.Done(), r.cfg.Crawl, r.cfg.Parser.Parse); err != nil {
		return err
	}
	r.sink.Taken(r.frontier.Done)
	if r.cfg.Crawl.State != "" {
		r.sink.Durable(r.frontier.Written)
	}
	r.closers = append(r.closers, r.frontier.Close)
	return nil
}

// connect dials NATS for --in or --out.
func (r *run) connect() (jetstream.JetStream, error) {
	var server string
	switch {
	case r.cfg.In != nil:
		server = r.cfg.In.Server
	case r.cfg.Out != nil:
		server = r.cfg.Out.Server
	}
	if server == "" {
		return nil, nil
	}
	js, closeConn, err := natsq.Connect(server, r.cfg.NATS)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, closeConn)
	return js, nil
}

// output makes the writer and its sink: NDJSON to stdout, or --out.
func (r *run) output(ctx context.Context, js jetstream.JetStream, stdout, stderr io.Writer) error {
	if r.cfg.Out != nil {
		if err := natsq.Retry(ctx, func() error {
			_, err := natsq.EnsureOutput(ctx, js, *r.cfg.Out, 0)
			return err
		}); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		r.out = sinks.NewNATS(r.life.Work, js, natsq.RecordMsg(r.cfg.Out.Subject, r.cfg.Drop...))
	} else {
		opt := sinks.NDJSONOptions{OnError: func(error) { r.life.Fail() }, Drop: r.cfg.Drop} // OnError: nobody reads our output
		if r.cfg.Resume != "" {
			var err error
			if r.finished, opt.Prefix, err = readResume(r.cfg.Resume); err != nil {
				return err
			}
		}
		r.out = sinks.NewNDJSON(stdout, opt)
	}
	r.sink = flow.NewSink(r.chain(r.out))
	if r.cfg.Verbose {
		r.sink.LogTo(stderr)
	}
	return nil
}
