// Command sluice is a Unix filter for the web: URL lines (or NDJSON objects
// with a url field) in on stdin, one NDJSON record per input record out on
// stdout. `sluice enqueue` loads a NATS JetStream work queue for workers
// started with `sluice --in`; `sluice report` sums up an output;
// `sluice completion SHELL` prints a completion script.
//
// main only dispatches, handles signals and turns errors into exit
// statuses: internal/config reads the flags, internal/pipeline runs.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"sluice/internal/config"
	"sluice/internal/pipeline"
	"sluice/internal/report"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailure     = 1 // output could not be written, or input could not be read
	exitUsage       = 2
	exitInterrupted = 130
)

func main() {
	// With SIGPIPE delivered to a channel, a write to a closed stdout fails
	// with EPIPE instead of killing the process, so the run can end in order.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	// The run sees the first SIGINT or SIGTERM only once the default action
	// is back, so a second signal after anything the first one did exits
	// at once.
	sig, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	context.AfterFunc(sig, func() {
		stop()
		cancel()
	})
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "enqueue":
			os.Exit(enqueue(ctx, os.Args[2:]))
		case "report":
			os.Exit(runReport(os.Args[2:]))
		case "completion":
			code, _ := usage("sluice completion", config.WriteCompletion(os.Args[2:], os.Stdout))
			os.Exit(code)
		case "__complete": // what a completion script asks
			config.WriteCandidates(os.Args[2:], os.Stdout)
			os.Exit(exitOK)
		}
	}
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	cfg, err := config.Parse(args, os.Stdout)
	if code, done := usage("sluice", err); done {
		return code
	}
	if !cfg.Verbose {
		log.SetOutput(io.Discard) // net/http logs a few oddities through log; stderr stays quiet
	}
	if !cfg.ProgressSet {
		cfg.Progress = term.IsTerminal(int(os.Stderr.Fd()))
	}
	pipeline.SetGC(cfg.Fetch.Concurrency)
	return exitCode("sluice", pipeline.Run(ctx, cfg, os.Stdin, os.Stdout, os.Stderr))
}

func enqueue(ctx context.Context, args []string) int {
	e, err := config.ParseEnqueue(args, os.Stdout)
	if code, done := usage("sluice enqueue", err); done {
		return code
	}
	return exitCode("sluice enqueue", pipeline.Enqueue(ctx, e, os.Stdin, os.Stderr))
}

func runReport(args []string) int {
	o, err := config.ParseReport(args, os.Stdout)
	if code, done := usage("sluice report", err); done {
		return code
	}
	return exitCode("sluice report", report.Run(o, os.Stdin, os.Stdout))
}

// usage reports whether parsing the command line ended the run, and with
// what status: after --help, or a bad flag.
func usage(cmd string, err error) (int, bool) {
	switch {
	case errors.Is(err, config.ErrHelpShown):
		return exitOK, true
	case err != nil:
		fmt.Fprintf(os.Stderr, "%s: %v\nTry '%s --help' for more information.\n", cmd, err, cmd)
		return exitUsage, true
	}
	return 0, false
}

func exitCode(cmd string, err error) int {
	var out *pipeline.OutputError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, pipeline.ErrInterrupted):
		return exitInterrupted
	case errors.As(err, &out) && errors.Is(out.Err, syscall.EPIPE):
		return exitFailure // the reader went away (| head): nothing to say
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", cmd, err)
	return exitFailure
}
