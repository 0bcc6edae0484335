// Package config turns sluice's command line into a Config: the flags, their
// --help groups, the parsing of sizes, rates and durations, and the checks
// that make a bad flag a usage error naming it. It starts nothing; the only
// files it touches are the ones it must see to tell an input file from a URL,
// and the body files of -d @FILE, --data-binary @FILE and --json @FILE.
package config

import (
	"errors"
	"time"

	"sluice/natsq"
	"sluice/record"
	"sluice/stages/crawl"
	"sluice/stages/extract"
	"sluice/stages/fetch"
	"sluice/stages/render"
	"sluice/stages/schedule"
	"sluice/stages/transport"
)

// Version is sluice's version, for --version and the User-Agent.
const Version = "0.1.0"

// ErrHelpShown is returned after --help or --version was written: exit 0.
var ErrHelpShown = errors.New("help shown")

// Input is one input of a run: a file ("-" for stdin), or one URL given as
// an argument or with -u, read as if it were an input line.
type Input struct {
	Path string
	URL  string
}

// Config is everything the flags decide.
type Config struct {
	Inputs     []Input       // in order; none means stdin
	Parser     record.Parser // --url-field, --redact
	Grace      time.Duration
	Verbose    bool
	Stats      bool
	Fetch      fetch.Config
	Transport  transport.Config
	Limits     schedule.Limits
	Retry      schedule.RetryPolicy
	Extract    extract.Config
	Crawl      crawl.Config // --follow and its companions
	Parsers    int          // extract workers
	Ordered    bool         // output in input order
	Resume     string       // a previous run's output: skip what it finished
	Unique     bool         // skip repeated URLs
	StatsJSON  string       // write the stats as JSON to this file
	Progress   bool         // draw a live status line on stderr
	CPUProfile string       // write a CPU profile here (for tuning)
	Drop       []string     // output fields not written (--fields, --omit)

	Cache CacheConfig // --cache and its companions
	WARC  WARCConfig  // --warc and its companions

	Render render.Config // --render and its companions

	Metrics      string // --metrics: serve /metrics and /healthz on this address
	MetricsHosts int    // --metrics-hosts: a host label for the N busiest hosts

	In   *natsq.QueueURL   // --in: a NATS JetStream work queue instead of files or stdin
	Out  *natsq.SubjectURL // --out: publish to NATS JetStream instead of stdout
	NATS natsq.Options     // --nats-creds, --nats-tls-ca

	// ProgressSet is true when --progress or --no-progress was given;
	// otherwise main decides by whether stderr is a terminal.
	ProgressSet bool
}

// CacheConfig is --cache DIR, --cache-max, --cache-wait; --cache-fresh is
// the fetch stage's (Fetch.CacheFresh).
type CacheConfig struct {
	Dir  string // "": no cache
	Max  int64
	Wait bool
}

// Enqueue is what `sluice enqueue`'s flags decide.
type Enqueue struct {
	Queue    natsq.QueueURL
	URLField string
	IDField  string // the field whose value is an input's Nats-Msg-Id; "": a hash of the line
	NATS     natsq.Options
	Inputs   []Input
	Crawl    *crawl.Config // --follow: the crawl's settings, Given the flags given; nil without
}
