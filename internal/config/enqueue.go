package config

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"sluice/natsq"
	"sluice/stages/crawl"
)

// enqueueUsage heads `sluice enqueue --help`.
const enqueueUsage = "Usage: sluice enqueue --to nats://HOST:PORT/STREAM/SUBJECT [flags] [file ...]\n\n" +
	"Loads URL lines, or NDJSON objects with a URL field, from the files or stdin\n" +
	"into a NATS JetStream work queue for workers started with sluice --in. Each\n" +
	"line becomes one message on SUBJECT.<partition of its host> (docs/many-machines.md\n" +
	"has the scheme). Each message's Nats-Msg-Id is the --id-field value or the\n" +
	"line's hash, so loading the same input twice within the stream's duplicate\n" +
	"window (2 minutes) does not double the work. With --follow the lines are a\n" +
	"crawl's seeds, and its settings are stored with the stream first.\n"

// enqueueFlags holds what `sluice enqueue`'s flag set fills.
type enqueueFlags struct {
	e                Enqueue
	to               string
	follow, help     bool
	crawl            crawl.Config
	include, exclude []string
}

func (f *enqueueFlags) flagSet() *pflag.FlagSet {
	fs := pflag.NewFlagSet("sluice enqueue", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.StringVar(&f.to, "to", "", "the queue: nats://HOST:PORT/STREAM/SUBJECT[?partitions=N] (N for a new stream, default 16)")
	fs.StringVar(&f.e.URLField, "url-field", "url", "field of an NDJSON input object that holds the URL")
	fs.StringVar(&f.e.IDField, "id-field", "", "field of an NDJSON input object whose value identifies it: an input with the ID of one already in the stream's duplicate window is dropped (default: the SHA-256 of the line)")
	fs.StringVar(&f.e.NATS.Creds, "nats-creds", "", "NATS credentials file (JWT and NKey seed)")
	fs.StringVar(&f.e.NATS.TLSCA, "nats-tls-ca", "", "CA certificate file to verify the NATS server with")
	fs.BoolVar(&f.follow, "follow", false, "start a crawl through the queue, or check the one it is: store the crawl's settings (the flags below) with the stream; workers started with sluice --in … --follow apply them")
	defineCrawlSettings(fs, &f.crawl, &f.include, &f.exclude)
	fs.IntVar(&f.crawl.MaxRedirects, "max-redirects", 10, "with --follow, redirects followed in a row")
	fs.DurationVar(&f.crawl.Revisit, "revisit", 0, "with --follow, a URL admitted this long ago may be crawled again (0: never)")
	fs.BoolVarP(&f.help, "help", "h", false, "show this help")
	return fs
}

// ParseEnqueue reads `sluice enqueue`'s command line (without "enqueue").
// Help goes to stdout and returns ErrHelpShown; a bad flag returns an error
// naming it.
func ParseEnqueue(args []string, stdout io.Writer) (Enqueue, error) {
	var f enqueueFlags
	fs := f.flagSet()
	if err := fs.Parse(args); err != nil {
		return f.e, err
	}
	if f.help {
		fmt.Fprint(stdout, enqueueUsage+"\n"+fs.FlagUsages())
		return f.e, ErrHelpShown
	}
	e, crawl := &f.e, &f.crawl
	for _, name := range CrawlSettings {
		switch {
		case !fs.Changed(name):
		case !f.follow:
			return *e, fmt.Errorf("--%s needs --follow", name)
		default:
			crawl.Given = append(crawl.Given, name)
		}
	}
	if f.follow {
		if err := checkCrawlSettings(crawl, f.include, f.exclude); err != nil {
			return *e, err
		}
		e.Crawl = crawl
	}
	q, err := natsq.ParseQueueURL(f.to)
	switch {
	case f.to == "":
		return *e, errors.New("--to is required")
	case err != nil:
		return *e, fmt.Errorf("invalid argument for --to: %v", err)
	case e.URLField == "":
		return *e, errors.New("invalid argument \"\" for --url-field: must not be empty")
	}
	e.Queue = q
	for _, a := range fs.Args() {
		e.Inputs = append(e.Inputs, Input{Path: a})
	}
	return *e, nil
}
