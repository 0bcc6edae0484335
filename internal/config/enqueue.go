package config

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"sluice/internal/natsq"
	"sluice/stages"
)

// ParseEnqueue reads `sluice enqueue`'s command line (without "enqueue").
// Help goes to stdout and returns ErrHelpShown; a bad flag returns an error
// naming it.
func ParseEnqueue(args []string, stdout io.Writer) (Enqueue, error) {
	var e Enqueue
	fs := pflag.NewFlagSet("sluice enqueue", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	to := fs.String("to", "", "the queue: nats://HOST:PORT/STREAM/SUBJECT[?partitions=N] (N for a new stream, default 16)")
	fs.StringVar(&e.URLField, "url-field", "url", "field of an NDJSON input object that holds the URL")
	fs.StringVar(&e.IDField, "id-field", "", "field of an NDJSON input object whose value identifies it: an input with the ID of one already in the stream's duplicate window is dropped (default: the SHA-256 of the line)")
	fs.StringVar(&e.NATS.Creds, "nats-creds", "", "NATS credentials file (JWT and NKey seed)")
	fs.StringVar(&e.NATS.TLSCA, "nats-tls-ca", "", "CA certificate file to verify the NATS server with")
	follow := fs.Bool("follow", false, "start a crawl through the queue, or check the one it is: store the crawl's settings (the flags below) with the stream; workers started with sluice --in … --follow apply them")
	var crawl stages.CrawlConfig
	var include, exclude []string
	defineCrawlSettings(fs, &crawl, &include, &exclude)
	fs.IntVar(&crawl.MaxRedirects, "max-redirects", 10, "with --follow, redirects followed in a row")
	fs.DurationVar(&crawl.Revisit, "revisit", 0, "with --follow, a URL admitted this long ago may be crawled again (0: never)")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return e, err
	}
	if *help {
		fmt.Fprint(stdout, "Usage: sluice enqueue --to nats://HOST:PORT/STREAM/SUBJECT [flags] [file ...]\n\n"+
			"Loads URL lines, or NDJSON objects with a URL field, from the files or stdin\n"+
			"into a NATS JetStream work queue for workers started with sluice --in. Each\n"+
			"line becomes one message on SUBJECT.<partition of its host>. The README's\n"+
			"\"Running on many machines\" has the scheme. Each message's Nats-Msg-Id is\n"+
			"the --id-field value or the line's hash, so loading the same input twice\n"+
			"within the stream's duplicate window (2 minutes) does not double the work.\n"+
			"With --follow the lines are a crawl's seeds, and its settings are stored\n"+
			"with the stream first.\n\n"+fs.FlagUsages())
		return e, ErrHelpShown
	}
	for _, name := range CrawlSettings {
		switch {
		case !fs.Changed(name):
		case !*follow:
			return e, fmt.Errorf("--%s needs --follow", name)
		default:
			crawl.Given = append(crawl.Given, name)
		}
	}
	if *follow {
		if err := checkCrawlSettings(&crawl, include, exclude); err != nil {
			return e, err
		}
		e.Crawl = &crawl
	}
	q, err := natsq.ParseQueueURL(*to)
	switch {
	case *to == "":
		return e, errors.New("--to is required")
	case err != nil:
		return e, fmt.Errorf("invalid argument for --to: %v", err)
	case e.URLField == "":
		return e, errors.New("invalid argument \"\" for --url-field: must not be empty")
	}
	e.Queue = q
	for _, a := range fs.Args() {
		e.Inputs = append(e.Inputs, Input{Path: a})
	}
	return e, nil
}
