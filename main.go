// Command sluice is a Unix filter for the web: URL lines (or NDJSON objects
// with a url field) in on stdin, one NDJSON record per input record out on
// stdout.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reugn/go-streams"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"golang.org/x/time/rate"

	"sluice/record"
	"sluice/sinks"
	"sluice/sources"
	"sluice/stages"
)

const version = "0.1.0"

// Config is everything the flags decide.
type Config struct {
	Files      []string // inputs in order; empty or "-" means stdin
	URLField   string
	Grace      time.Duration
	Verbose    bool
	Stats      bool
	Fetch      stages.FetchConfig
	Limits     stages.Limits
	Retry      stages.RetryPolicy
	Extract    stages.ExtractConfig
	Parsers    int    // extract workers
	Ordered    bool   // output in input order
	Resume     string // a previous run's output: skip what it finished
	Unique     bool   // skip repeated URLs
	StatsJSON  string // write the stats as JSON to this file
	Progress   bool   // draw a live status line on stderr
	CPUProfile string // write a CPU profile here (for tuning)

	In        *sources.QueueURL   // --in: a NATS JetStream work queue instead of files or stdin
	OutServer string              // --out: publish to NATS JetStream instead of stdout
	OutSubj   string              // --out's subject
	NATS      sources.NATSOptions // --nats-creds, --nats-tls-ca

	progressSet bool // --progress or --no-progress was given
}

// Exit statuses.
const (
	exitOK          = 0
	exitFailure     = 1 // output could not be written, or input could not be read
	exitUsage       = 2
	exitInterrupted = 130
)

var (
	errInterrupted = errors.New("interrupted")
	errHelpShown   = errors.New("help shown")
)

// outputError is a failure to write stdout.
type outputError struct{ err error }

func (e *outputError) Error() string { return "write output: " + e.err.Error() }

func main() {
	if len(os.Args) > 1 && os.Args[1] == "enqueue" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		go func() {
			<-ctx.Done()
			stop()
		}()
		os.Exit(enqueue(ctx, os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	cfg, err := parseFlags(os.Args[1:], os.Stdout)
	if errors.Is(err, errHelpShown) {
		os.Exit(exitOK)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "sluice: %v\nTry 'sluice --help' for more information.\n", err)
		os.Exit(exitUsage)
	}
	if !cfg.Verbose {
		log.SetOutput(io.Discard) // net/http logs a few oddities through log; stderr stays quiet
	}
	if !cfg.progressSet {
		cfg.Progress = term.IsTerminal(int(os.Stderr.Fd()))
	}
	setGCFloor()
	// With SIGPIPE delivered to a channel, a write to a closed stdout fails
	// with EPIPE instead of killing the process, so run can end in order.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal gets the default action: exit at once
	}()
	os.Exit(exitCode(run(ctx, cfg, os.Stdin, os.Stdout, os.Stderr), os.Stderr))
}

// gcFloor is garbage the collector lets build up before a cycle, however
// small the live heap: see setGCFloor.
const gcFloor = 8 << 20

// ballast holds gcFloor bytes that count as live heap and are never used.
var ballast []byte

// setGCFloor makes the collector run at most once per gcFloor bytes
// allocated, instead of every 4 MiB. sluice's live heap is about 1 MiB
// while it fetches without extraction, so with Go's defaults it collected
// every 4 MiB (a hundred cycles for 50,000 URLs), and each cycle scans the
// stacks of every worker and connection goroutine and shrinks the idle
// ones, which then grow again. The heap goal is twice the live heap, and a
// ballast of pointer-free memory counts as live: the goal becomes
// 2 × (live + 8 MiB). Its pages are never written, so they are not
// resident; what grows is the garbage allowed between cycles.
//
// Measured side by side (50k URLs, -c 64, 9 alternating runs), client CPU:
// 1.38 s without, 1.20 s with 8 MiB, 1.17 s with 16 MiB (plain pool 1.22
// s). Peak RSS, 10k / 1M URLs: 19.5 / 24 MB without, 25 / 35 MB with
// 8 MiB, 34 / 43 MB with 16 MiB, and one 1M run of three at 60 MB. 8 MiB
// keeps most of the gain with room under the 64 MiB the memory target
// allows.
//
// The ballast comes after the first cycle, not at start: a heap that
// suddenly passes its 4 MiB goal starts a cycle at once, and at start that
// cost a short run (one URL) a millisecond, 15% of its time. A run too
// short to collect even once never gets a ballast.
//
// GOGC=400 did as much, but multiplies the garbage allowed with the live
// heap, which extraction fills with bodies. A GOGC or GOMEMLIMIT in the
// environment is left to rule alone.
func setGCFloor() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	// The cleanup runs once a cycle has found the sentinel unreachable.
	runtime.AddCleanup(new([64]byte), func(struct{}) { ballast = make([]byte, gcFloor) }, struct{}{})
}

func exitCode(err error, stderr io.Writer) int {
	var out *outputError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.As(err, &out) && errors.Is(out.err, syscall.EPIPE):
		return exitFailure // the reader went away (| head): nothing to say
	}
	fmt.Fprintf(stderr, "sluice: %v\n", err)
	return exitFailure
}

// run reads the inputs through the pipeline to stdout. Cancelling ctx (the
// first SIGINT or SIGTERM) stops intake at once; requests in flight get
// cfg.Grace to finish, then are cancelled; every record read is written.
// No goroutine started here outlives run, except a read blocked on an idle
// stdin, which cannot be interrupted (see sources.Lines).
func run(ctx context.Context, cfg Config, stdin io.Reader, stdout, stderr io.Writer) error {
	var readers []io.Reader
	if cfg.In == nil {
		// No reading ahead while every worker is busy, for line input only.
		// A queue worker holds at most a window of messages, and those the
		// schedule has not taken wait in a pull, where nothing tells the
		// broker they are being worked (InProgress): the schedule must take
		// all it is given, as it did before the stop existed.
		cfg.Limits.Workers = cfg.Fetch.Concurrency
		var closeInputs func()
		var err error
		if readers, closeInputs, err = openInputs(cfg.Files, stdin); err != nil {
			return err
		}
		defer closeInputs()
	}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	var finished *record.Finished
	var prefix []byte
	if cfg.Resume != "" {
		var err error
		if finished, prefix, err = readResume(cfg.Resume); err != nil {
			return err
		}
	}
	var stats *stages.Stats
	if cfg.Stats || cfg.StatsJSON != "" {
		stats = stages.NewStats()
		cfg.Fetch.Stats = stats
	}
	fetcher, err := stages.NewFetcher(cfg.Fetch)
	if err != nil {
		return err
	}
	defer fetcher.Close()

	intake, stopIntake := context.WithCancel(ctx)
	defer stopIntake()
	schedule, err := stages.NewSchedule(intake.Done(), cfg.Limits, stats)
	if err != nil {
		return err
	}
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	defer graceTimer(ctx, cfg.Grace, cancelWork)()

	opt := sinks.NDJSONOptions{Prefix: prefix, OnError: func(error) {
		stopIntake() // nobody reads our output: stop reading and fetching
		cancelWork()
	}}
	if cfg.Verbose {
		opt.Log = stderr
	}
	var js jetstream.JetStream
	if cfg.In != nil || cfg.OutServer != "" {
		server := cfg.OutServer
		if cfg.In != nil {
			server = cfg.In.Server
			if cfg.OutServer != "" && cfg.OutServer != server {
				return errors.New("--in and --out must name the same NATS server")
			}
		}
		var closeConn func()
		if js, closeConn, err = connectJetStream(server, cfg.NATS); err != nil {
			return err
		}
		defer closeConn()
	}
	var sink sink
	if cfg.OutServer != "" {
		if _, err := sinks.EnsureOutput(ctx, js, cfg.OutSubj, 0); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		sink = sinks.NewNATS(work, js, sinks.RecordMsg(cfg.OutSubj))
	} else {
		sink = sinks.NewNDJSON(stdout, opt)
	}
	var src source
	if cfg.In != nil {
		q, err := sources.NewQueue(intake, js, *cfg.In, cfg.Limits.Window, cfg.URLField)
		if err != nil {
			return fmt.Errorf("--in: %w", err)
		}
		defer q.Close()
		src = q
	} else {
		src = sources.NewLines(intake, readers, sources.Options{URLField: cfg.URLField})
	}
	var entry streams.Flow = schedule // where records from the source go in
	var order *stages.Order
	if cfg.Ordered {
		order = stages.NewOrder(cfg.Limits.Window)
		entry = order.Gate()
		entry.Via(schedule)
	}
	if finished != nil || cfg.Unique {
		marks := stages.SkipFlow(stages.NewSkipper(finished, cfg.Unique))
		marks.Via(entry)
		entry = marks
	}
	src.Via(entry)
	retry := stages.Retry(intake.Done(), schedule, cfg.Retry, stats)
	flow := schedule.Via(stages.FetchFlow(work, intake.Done(), fetcher, cfg.Fetch.Concurrency, retry))
	if cfg.Extract.Extracting() {
		flow = flow.Via(stages.ExtractFlow(stages.NewExtractor(cfg.Extract), cfg.Parsers))
	}
	if order != nil {
		flow = flow.Via(order.Flow())
	}
	var progress *sinks.Progress
	if cfg.Progress {
		progress = sinks.StartProgress(stderr, inputSize(readers), func() sinks.Counts {
			sk := sink.Skipped()
			return sinks.Counts{
				Done: sink.Count() + sk["resume"] + sk["duplicate"], InFlight: fetcher.InFlight(),
				Waiting: schedule.Waiting(), Errors: sink.Errors(), Requests: fetcher.Attempts(),
				Read: src.Count(), BytesRead: src.BytesRead(),
			}
		})
	}
	flow.To(sink)
	if progress != nil {
		progress.Stop() // before anything else goes to stderr
	}

	skipped := sink.Skipped()
	if cfg.Stats {
		if err := stats.Write(stderr, 50); err != nil {
			return fmt.Errorf("write stats: %w", err)
		}
	}
	if cfg.StatsJSON != "" {
		records := map[string]any{"read": src.Count(), "written": sink.Count(), "skipped": skipped}
		if err := writeFile(cfg.StatsJSON, func(w io.Writer) error { return stats.WriteJSON(w, records) }); err != nil {
			return fmt.Errorf("--stats-json: %w", err)
		}
	}
	if cfg.Verbose || cfg.Stats {
		// The pipeline has ended: what still runs is the runtime's, main's
		// signal watcher, idle connections about to close, and a read
		// blocked on an idle stdin, if any.
		if cfg.In != nil {
			fmt.Fprintf(stderr, "sluice: done: %d records taken from the queue, %d written, %d handed back (canceled), %d goroutines\n",
				src.Count(), sink.Count(), sink.Requeued(), runtime.NumGoroutine())
		} else {
			fmt.Fprintf(stderr, "sluice: done: %d records read, %d written, %d skipped as done before (--resume), %d as repeats (--unique), %d goroutines\n",
				src.Count(), sink.Count(), skipped["resume"], skipped["duplicate"], runtime.NumGoroutine())
		}
		if ns, ok := sink.(*sinks.NATS); ok {
			fmt.Fprintf(stderr, "sluice: published %d records, %d of them dropped by the stream as duplicates\n", ns.Count(), ns.Duplicates())
		}
	}
	switch {
	case ctx.Err() != nil:
		return errInterrupted
	case sink.Err() != nil:
		return &outputError{sink.Err()}
	}
	return src.Err()
}

// enqueue is `sluice enqueue --to nats://HOST:PORT/STREAM/SUBJECT [file ...]`:
// it loads input lines into a work queue for `sluice --in`, making the
// stream when it is absent, and returns the exit status.
func enqueue(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("sluice enqueue", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	to := fs.String("to", "", "the queue: nats://HOST:PORT/STREAM/SUBJECT[?partitions=N] (N for a new stream, default 16)")
	urlField := fs.String("url-field", "url", "field of an NDJSON input object that holds the URL")
	var nopt sources.NATSOptions
	fs.StringVar(&nopt.Creds, "nats-creds", "", "NATS credentials file (JWT and NKey seed)")
	fs.StringVar(&nopt.TLSCA, "nats-tls-ca", "", "CA certificate file to verify the NATS server with")
	help := fs.BoolP("help", "h", false, "show this help")
	usage := func(err error) int {
		fmt.Fprintf(stderr, "sluice enqueue: %v\nTry 'sluice enqueue --help' for more information.\n", err)
		return exitUsage
	}
	if err := fs.Parse(args); err != nil {
		return usage(err)
	}
	if *help {
		fmt.Fprint(stdout, "Usage: sluice enqueue --to nats://HOST:PORT/STREAM/SUBJECT [flags] [file ...]\n\n"+
			"Loads URL lines, or NDJSON objects with a URL field, from the files or stdin\n"+
			"into a NATS JetStream work queue for workers started with sluice --in. Each\n"+
			"line becomes one message on SUBJECT.<partition of its host>. The README's\n"+
			"\"Running on many machines\" has the scheme.\n\n"+fs.FlagUsages())
		return exitOK
	}
	q, err := sources.ParseQueueURL(*to)
	switch {
	case *to == "":
		return usage(errors.New("--to is required"))
	case err != nil:
		return usage(fmt.Errorf("invalid argument for --to: %v", err))
	case *urlField == "":
		return usage(errors.New("invalid argument \"\" for --url-field: must not be empty"))
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "sluice enqueue: %v\n", err)
		return exitFailure
	}
	readers, closeInputs, err := openInputs(fs.Args(), stdin)
	if err != nil {
		return fail(err)
	}
	defer closeInputs()
	js, closeConn, err := connectJetStream(q.Server, nopt)
	if err != nil {
		return fail(err)
	}
	defer closeConn()
	_, parts, err := sources.EnsureQueue(ctx, js, q)
	if err != nil {
		return fail(err)
	}
	src := sources.NewLines(ctx, readers, sources.Options{URLField: *urlField})
	// What was read is published even after a signal; a second one exits.
	sink := sinks.NewNATS(context.WithoutCancel(ctx), js, sources.EnqueueMsg(q, parts))
	src.To(sink)
	fmt.Fprintf(stderr, "sluice enqueue: %d records to stream %s (%d partitions)\n", sink.Count(), q.Stream, parts)
	switch {
	case sink.Err() != nil:
		return fail(sink.Err())
	case src.Err() != nil:
		return fail(src.Err())
	case ctx.Err() != nil:
		return exitInterrupted
	}
	return exitOK
}

// source and sink are what run needs of sources.Lines or sources.Queue,
// and of sinks.NDJSON or sinks.NATS.
type source interface {
	streams.Source
	Count() int64
	BytesRead() int64
	Err() error
}

type sink interface {
	streams.Sink
	Count() int64
	Errors() int64
	Requeued() int64
	Skipped() map[string]int64
	Err() error
}

// connectJetStream connects to a NATS server for the queue and the NATS
// sink; closing flushes what is still buffered (the last acks) first.
func connectJetStream(server string, opt sources.NATSOptions) (jetstream.JetStream, func(), error) {
	nc, err := sources.DialNATS(server, opt)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(sinks.NATSMaxPending),
		jetstream.WithPublishAsyncTimeout(5*time.Second))
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return js, func() {
		nc.FlushTimeout(5 * time.Second)
		nc.Close()
	}, nil
}

// inputSize is the total size of the inputs when all are regular files, for
// the progress line's percentage; -1 when any is a pipe or a terminal.
func inputSize(readers []io.Reader) int64 {
	var total int64
	for _, r := range readers {
		f, ok := r.(*os.File)
		if !ok {
			return -1
		}
		info, err := f.Stat()
		if err != nil || !info.Mode().IsRegular() {
			return -1
		}
		total += info.Size()
	}
	return total
}

// readResume reads --resume's file: the seqs it finished, and a newline to
// write first when the file ends in a partial line (a run killed mid-write).
func readResume(name string) (*record.Finished, []byte, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return &record.Finished{}, nil, nil // nothing done yet: the first run
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--resume: %w", err)
	}
	defer f.Close()
	finished, clean, err := record.ReadFinished(f)
	if err != nil {
		return nil, nil, fmt.Errorf("--resume: read %s: %w", name, err)
	}
	if !clean {
		return finished, []byte("\n"), nil
	}
	return finished, nil, nil
}

// writeFile writes a file through fn, reporting a failure to close it.
func writeFile(name string, fn func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// graceTimer cancels the work cancelWork stands for once grace has passed
// after ctx is done. The returned function ends the timer's goroutine.
func graceTimer(ctx context.Context, grace time.Duration, cancelWork func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			cancelWork()
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// openInputs opens every file up front, so a typo fails before any output.
func openInputs(files []string, stdin io.Reader) ([]io.Reader, func(), error) {
	if len(files) == 0 {
		return []io.Reader{stdin}, func() {}, nil
	}
	var readers []io.Reader
	var opened []*os.File
	closeAll := func() {
		for _, f := range opened {
			f.Close() // read-only: nothing to lose on close
		}
	}
	for _, name := range files {
		if name == "-" {
			readers = append(readers, stdin)
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("open input: %w", err)
		}
		opened = append(opened, f)
		readers = append(readers, f)
	}
	return readers, closeAll, nil
}

// parseFlags turns the command line into a Config. Help and version go to
// stdout and return errHelpShown; a bad flag returns an error naming it.
func parseFlags(args []string, stdout io.Writer) (Config, error) {
	var (
		cfg                   Config
		headers               []string
		userAgent             string
		maxBody               = sizeValue(10 << 20)
		showHelp, showVersion bool
		globalRate            string
		hostRates, hostConcs  []string
		retryOn               string
		extract               string
		selects, selectAlls   []string
		textMax               = sizeValue(stages.DefaultTextMax)
	)
	fs := pflag.NewFlagSet("sluice", pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // we print the error once, our way
	fs.SortFlags = false
	fs.StringVar(&cfg.URLField, "url-field", "url", "field of an NDJSON input object that holds the URL")
	fs.IntVarP(&cfg.Fetch.Concurrency, "concurrency", "c", 50, "parallel requests")
	fs.DurationVar(&cfg.Fetch.Timeout, "timeout", 10*time.Second, "time limit for one attempt, from connect to the last body byte")
	fs.Var(&maxBody, "max-body", "read at most this much of a body (e.g. 1048576, 512KiB, 10MiB); longer bodies are marked truncated")
	fs.IntVar(&cfg.Fetch.MaxRedirects, "max-redirects", 10, "redirects to follow; 0 returns 3xx responses as they are")
	fs.StringVarP(&cfg.Fetch.Method, "method", "X", "GET", "request method")
	fs.StringArrayVarP(&headers, "header", "H", nil, "extra request header 'Name: value' (repeatable)")
	fs.StringVar(&userAgent, "user-agent", "sluice/"+version, "User-Agent header")
	fs.BoolVar(&cfg.Fetch.Insecure, "insecure", false, "do not verify TLS certificates")
	fs.BoolVar(&cfg.Fetch.DenyPrivate, "deny-private", false, "refuse loopback, private, link-local and metadata addresses, checked after DNS (also on redirects); ignores proxies")
	fs.BoolVar(&cfg.Fetch.FailStatus, "fail-status", false, "record status >= 400 as an error of kind http")
	fs.StringVar(&globalRate, "rate", "0", "requests per second over all hosts: 10, 10/s, 600/m, 3600/h; 0 for no limit")
	fs.IntVar(&cfg.Limits.Burst, "burst", 0, "size of the --rate token bucket (default 10 ms worth of --rate, at least 1)")
	fs.StringArrayVar(&hostRates, "host-rate", nil, "requests per second to each host, or HOST=RATE for one host (repeatable)")
	fs.StringArrayVar(&hostConcs, "host-concurrency", nil, "parallel requests to each host, or HOST=N for one host (repeatable; default -c/4, at least 1)")
	fs.IntVar(&cfg.Limits.Window, "window", 0, "records held at once, waiting, in flight or between retries (default max(8192, 16 × -c))")
	fs.BoolVar(&cfg.Limits.AutoThrottle, "auto-throttle", false, "adapt each host's rate: cut on 429/503/timeouts, raise back toward --host-rate on success")
	fs.IntVar(&cfg.Retry.Retries, "retries", 2, "attempts after the first for a retryable failure")
	fs.StringVar(&retryOn, "retry-on", "429,502,503,504", "statuses to retry, comma-separated (network errors and timeouts are always retried)")
	fs.DurationVar(&cfg.Retry.Base, "retry-base", 500*time.Millisecond, "first retry waits up to this long, doubling per attempt (full jitter)")
	fs.DurationVar(&cfg.Retry.Max, "retry-max", 30*time.Second, "longest wait before a retry, Retry-After included; also caps a host's Retry-After pause")
	fs.BoolVar(&cfg.Retry.Unsafe, "retry-unsafe", false, "also retry methods other than GET, HEAD and OPTIONS")
	fs.BoolVar(&cfg.Stats, "stats", false, "print counts per host and in total to stderr at the end")
	fs.BoolVar(&cfg.Progress, "progress", false, "draw a live status line on stderr (default: when stderr is a terminal)")
	noProgress := fs.Bool("no-progress", false, "never draw the status line")
	fs.StringVar(&cfg.StatsJSON, "stats-json", "", "write the counts of --stats as JSON to this file at the end")
	fs.StringVar(&cfg.Resume, "resume", "", "a previous run's output: skip input records it finished (all but canceled); append to it with >>")
	fs.BoolVar(&cfg.Unique, "unique", false, "skip repeated URLs (remembers the last 1,000,000 distinct ones)")
	fs.BoolVar(&cfg.Ordered, "ordered", false, "write records in input order (a reorder buffer of --window records; a slow record holds back the rest)")
	fs.StringVar(&extract, "extract", "", "what to take from pages, comma-separated: title, links, meta, text, headers")
	fs.StringArrayVar(&selects, "select", nil, "NAME=SELECTOR[@attr]: the text (or attribute) of the first match, under fields (repeatable)")
	fs.StringArrayVar(&selectAlls, "select-all", nil, "NAME=SELECTOR[@attr]: an array of every match, under fields (repeatable)")
	fs.BoolVar(&cfg.Extract.LinksSameHost, "links-same-host", false, "with --extract links, keep only links to the page's own host")
	fs.BoolVar(&cfg.Extract.Body, "body", false, "include the body: as body when it is UTF-8 text, else as body_base64")
	fs.Var(&textMax, "text-max", "longest --extract text, and text of a selected element")
	fs.IntVar(&cfg.Parsers, "parse-workers", runtime.NumCPU(), "pages parsed in parallel (CPU work, apart from -c)")
	fs.DurationVar(&cfg.Grace, "grace", 5*time.Second, "after SIGINT/SIGTERM, time for requests in flight to finish")
	fs.BoolVarP(&cfg.Verbose, "verbose", "v", false, "log one line per record to stderr")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a Go CPU profile of the run to this file (for tuning; see go tool pprof)")
	in := fs.String("in", "", "take records from a NATS JetStream work queue instead of files or stdin: nats://HOST:PORT/STREAM/SUBJECT[?durable=NAME&batch=N&ack_wait=30s&lease=10s&idle=5s]")
	out := fs.String("out", "", "publish records to NATS JetStream instead of stdout: nats://HOST:PORT/SUBJECT")
	fs.StringVar(&cfg.NATS.Creds, "nats-creds", "", "NATS credentials file (JWT and NKey seed)")
	fs.StringVar(&cfg.NATS.TLSCA, "nats-tls-ca", "", "CA certificate file to verify the NATS server with")
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	fs.BoolVarP(&showHelp, "help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if showHelp {
		fmt.Fprint(stdout, "Usage: sluice [flags] [file ...]\n\n"+
			"Reads URL lines, or NDJSON objects with a URL field, from the files or stdin\n"+
			"('-' is stdin), fetches them, and writes one NDJSON record per input line\n"+
			"to stdout. The README has the output fields and examples.\n")
		grouped := map[string]bool{}
		for _, g := range helpGroups {
			gs := pflag.NewFlagSet(g.title, pflag.ContinueOnError)
			gs.SortFlags = false
			for _, name := range g.flags {
				gs.AddFlag(fs.Lookup(name))
				grouped[name] = true
			}
			fmt.Fprintf(stdout, "\n%s:\n%s", g.title, gs.FlagUsages())
		}
		other := pflag.NewFlagSet("Other", pflag.ContinueOnError)
		fs.VisitAll(func(f *pflag.Flag) {
			if !grouped[f.Name] {
				other.AddFlag(f) // a flag someone forgot to group: still shown
			}
		})
		if other.HasFlags() {
			fmt.Fprintf(stdout, "\nOther:\n%s", other.FlagUsages())
		}
		return cfg, errHelpShown
	}
	if showVersion {
		fmt.Fprintf(stdout, "sluice %s\n", version)
		return cfg, errHelpShown
	}
	cfg.Files = fs.Args()
	if err := parseQueue(&cfg, *in, *out); err != nil {
		return cfg, err
	}
	cfg.progressSet = fs.Changed("progress") || fs.Changed("no-progress")
	if *noProgress {
		cfg.Progress = false
	}
	cfg.Fetch.MaxBody = int64(maxBody)
	switch {
	case cfg.Fetch.Concurrency < 1:
		return cfg, fmt.Errorf("invalid argument %d for -c, --concurrency: must be at least 1", cfg.Fetch.Concurrency)
	case cfg.Fetch.Timeout <= 0:
		return cfg, fmt.Errorf("invalid argument %v for --timeout: must be positive", cfg.Fetch.Timeout)
	case cfg.Fetch.MaxRedirects < 0:
		return cfg, fmt.Errorf("invalid argument %d for --max-redirects: must be 0 or more", cfg.Fetch.MaxRedirects)
	case cfg.Grace < 0:
		return cfg, fmt.Errorf("invalid argument %v for --grace: must not be negative", cfg.Grace)
	case !isToken(cfg.Fetch.Method):
		return cfg, fmt.Errorf("invalid argument %q for -X, --method: not an HTTP method", cfg.Fetch.Method)
	case cfg.URLField == "":
		return cfg, errors.New("invalid argument \"\" for --url-field: must not be empty")
	case cfg.Limits.Burst < 0:
		return cfg, fmt.Errorf("invalid argument %d for --burst: must not be negative", cfg.Limits.Burst)
	case cfg.Limits.Window < 0:
		return cfg, fmt.Errorf("invalid argument %d for --window: must be at least 1", cfg.Limits.Window)
	case cfg.Retry.Retries < 0:
		return cfg, fmt.Errorf("invalid argument %d for --retries: must not be negative", cfg.Retry.Retries)
	case cfg.Retry.Base < 0:
		return cfg, fmt.Errorf("invalid argument %v for --retry-base: must not be negative", cfg.Retry.Base)
	case cfg.Retry.Max < cfg.Retry.Base:
		return cfg, fmt.Errorf("invalid argument %v for --retry-max: must be at least --retry-base", cfg.Retry.Max)
	}
	if err := parseLimits(&cfg, globalRate, hostRates, hostConcs); err != nil {
		return cfg, err
	}
	if err := parseExtract(&cfg, extract, selects, selectAlls); err != nil {
		return cfg, err
	}
	cfg.Extract.TextMax = int(min(int64(textMax), 1<<30))
	switch {
	case cfg.Parsers < 1:
		return cfg, fmt.Errorf("invalid argument %d for --parse-workers: must be at least 1", cfg.Parsers)
	case textMax < 1:
		return cfg, fmt.Errorf("invalid argument %d for --text-max: must be at least 1", textMax)
	}
	cfg.Retry.Method = cfg.Fetch.Method
	cfg.Retry.Statuses = map[int]bool{}
	for _, f := range strings.Split(retryOn, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		code, err := strconv.Atoi(f)
		if err != nil || code < 100 || code > 599 {
			return cfg, fmt.Errorf("invalid argument %q for --retry-on: %q is not an HTTP status (want e.g. 429,503)", retryOn, f)
		}
		cfg.Retry.Statuses[code] = true
	}
	cfg.Fetch.Header = http.Header{}
	cfg.Fetch.Header.Set("User-Agent", userAgent)
	for i, h := range headers {
		name, value, err := parseHeader(h)
		if err != nil {
			return cfg, fmt.Errorf("invalid argument for -H, --header (number %d): %v (want 'Name: value')", i+1, err)
		}
		if strings.EqualFold(name, "User-Agent") {
			cfg.Fetch.Header.Del(name)
		}
		cfg.Fetch.Header.Add(name, value)
	}
	return cfg, nil
}

// helpGroups orders --help by purpose. Every flag is in exactly one group
// (TestHelpGroups checks).
var helpGroups = []struct {
	title string
	flags []string
}{
	{"Input", []string{"url-field", "unique", "resume"}},
	{"Fetching", []string{"concurrency", "timeout", "max-body", "max-redirects", "method", "header", "user-agent",
		"insecure", "deny-private", "fail-status", "grace"}},
	{"Politeness and retries", []string{"rate", "burst", "host-rate", "host-concurrency", "window", "auto-throttle",
		"retries", "retry-on", "retry-base", "retry-max", "retry-unsafe"}},
	{"Extraction", []string{"extract", "select", "select-all", "links-same-host", "body", "text-max", "parse-workers"}},
	{"Output", []string{"ordered", "progress", "no-progress", "stats", "stats-json", "verbose", "cpuprofile", "version", "help"}},
	{"Many machines (NATS JetStream; see sluice enqueue --help)", []string{"in", "out", "nats-creds", "nats-tls-ca"}},
}

// parseQueue reads --in and --out. Their messages never repeat the URL,
// which may hold a password.
func parseQueue(cfg *Config, in, out string) error {
	if in != "" {
		q, err := sources.ParseQueueURL(in)
		if err != nil {
			return fmt.Errorf("invalid argument for --in: %v", err)
		}
		cfg.In = &q
		switch {
		case len(cfg.Files) > 0:
			return errors.New("--in reads from the queue: give no input files with it")
		case cfg.Ordered, cfg.Resume != "", cfg.Unique:
			return errors.New("--ordered, --resume and --unique are for line input, not with --in (the queue keeps track of what is done)")
		}
	}
	if out != "" {
		var err error
		if cfg.OutServer, cfg.OutSubj, err = sources.ParseSubjectURL(out); err != nil {
			return fmt.Errorf("invalid argument for --out: %v", err)
		}
		if cfg.Ordered || cfg.Resume != "" {
			return errors.New("--ordered and --resume are for output to stdout, not with --out")
		}
	}
	return nil
}

// parseExtract fills cfg.Extract, compiling every selector now so that a bad
// one is a usage error, and tells the fetch stage what to keep.
func parseExtract(cfg *Config, list string, selects, selectAlls []string) error {
	if err := cfg.Extract.ParseExtractList(list); err != nil {
		return fmt.Errorf("invalid argument %q for --extract: %v", list, err)
	}
	for _, group := range []struct {
		flag  string
		specs []string
		all   bool
	}{{"--select", selects, false}, {"--select-all", selectAlls, true}} {
		for _, spec := range group.specs {
			sel, err := stages.ParseSelect(spec, group.all)
			if err != nil {
				return fmt.Errorf("invalid argument for %s: %v", group.flag, err)
			}
			cfg.Extract.Selects = append(cfg.Extract.Selects, sel)
		}
	}
	e := &cfg.Extract
	cfg.Fetch.KeepBody = e.Body || e.Title || e.Links || e.Meta || e.Text || len(e.Selects) > 0
	cfg.Fetch.KeepHeader = e.Headers
	return nil
}

// parseLimits fills cfg.Limits from the politeness flags.
func parseLimits(cfg *Config, globalRate string, hostRates, hostConcs []string) error {
	l := &cfg.Limits
	var err error
	if l.Rate, err = stages.ParseRate(globalRate); err != nil {
		return fmt.Errorf("invalid argument for --rate: %v", err)
	}
	if l.Window == 0 {
		l.Window = stages.DefaultWindow(cfg.Fetch.Concurrency)
	}
	l.PauseMax = cfg.Retry.Max
	l.HostRate, l.HostRates = rate.Inf, map[string]rate.Limit{}
	for _, v := range hostRates {
		host, value := stages.ParseHostSetting(v)
		r, err := stages.ParseRate(value)
		if err != nil {
			return fmt.Errorf("invalid argument %q for --host-rate: %v", v, err)
		}
		if host == "" {
			l.HostRate = r
		} else {
			l.HostRates[hostKey(host)] = r
		}
	}
	l.HostConcurrency, l.HostConcs = stages.DefaultHostConcurrency(cfg.Fetch.Concurrency), map[string]int{}
	for _, v := range hostConcs {
		host, value := stages.ParseHostSetting(v)
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 {
			return fmt.Errorf("invalid argument %q for --host-concurrency: want N or HOST=N with N at least 1", v)
		}
		if host == "" {
			l.HostConcurrency = n
		} else {
			l.HostConcs[hostKey(host)] = n
		}
	}
	return nil
}

// hostKey normalises a host given on the command line like the hosts of
// URLs: a default port (80, 443) names the bare host.
func hostKey(h string) string { return record.HostKey("http", record.HostKey("https", h)) }

// parseHeader splits "Name: value". Its errors quote nothing of h: a
// malformed argument may hold a secret anywhere.
func parseHeader(h string) (name, value string, err error) {
	name, value, ok := strings.Cut(h, ":")
	name = strings.TrimSpace(name)
	switch {
	case !ok:
		return "", "", errors.New("no ':' between name and value")
	case !isToken(name):
		return "", "", errors.New("the name is not a valid header name")
	case strings.ContainsAny(value, "\r\n\x00"):
		return "", "", errors.New("the value contains a line break or NUL")
	}
	return name, strings.TrimSpace(value), nil
}

// isToken reports whether s is an RFC 9110 token, as method and header names
// must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// sizeValue is a byte count written as 1048576, 512KiB, 10MiB, 1GB ...
type sizeValue int64

// String writes the size the way a user would: 10MiB, 64KiB, 1000.
func (s *sizeValue) String() string {
	n := int64(*s)
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}
func (s *sizeValue) Type() string { return "size" }
func (s *sizeValue) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = sizeValue(n)
	return nil
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1000,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1000 * 1000,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1000 * 1000 * 1000,
}

// parseSize reads a non-negative byte count with an optional unit: K, M, G
// and KiB, MiB, GiB are powers of 1024; KB, MB, GB powers of 1000.
func parseSize(v string) (int64, error) {
	s := strings.TrimSpace(v)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("size %q does not start with a number", v)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is too large", v)
	}
	unit, ok := sizeUnits[strings.ToLower(strings.TrimSpace(s[i:]))]
	if !ok {
		return 0, fmt.Errorf("size %q has an unknown unit (use B, KiB, MiB, GiB, KB, MB or GB)", v)
	}
	if n > (1<<63-1)/unit {
		return 0, fmt.Errorf("size %q is too large", v)
	}
	return n * unit, nil
}
