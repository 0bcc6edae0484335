package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"sluice/record"
	"sluice/stages/extract"
	"sluice/stages/robots"
)

// flags holds what the flag set fills before Parse turns it into a Config.
type flags struct {
	cfg                   Config
	urls                  []string
	headers               []string
	data, dataBinary      []string
	json                  []string
	redactNames           []string
	methodSet             bool
	cacheMaxSet           bool
	robots                bool
	userAgent             string
	maxBody, cacheMax     sizeValue
	showHelp, showVersion bool
	noProgress            bool
	globalRate            string
	hostRates, hostConcs  []string
	retryOn               string
	extract               string
	hashList              string
	jq                    []string
	fields, omit          []string
	resolve, dnsServers   []string
	selects, selectAlls   []string
	textMax               sizeValue
	in, out               string
	crawl                 crawlFlags
	warcMaxSize           sizeValue
	renderLoad            string
}

// flagSet is sluice's flag set, filling f: the one source of --help, the
// man page, docs/flags.md and the shell completions (Commands).
func (f *flags) flagSet() *pflag.FlagSet {
	fs := pflag.NewFlagSet("sluice", pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // the caller prints the error once, its way
	fs.SortFlags = false
	f.define(fs)
	return fs
}

func (f *flags) define(fs *pflag.FlagSet) {
	cfg := &f.cfg
	f.maxBody, f.textMax, f.cacheMax = sizeValue(10<<20), sizeValue(extract.DefaultTextMax), sizeValue(1<<30)
	fs.StringArrayVarP(&f.urls, "url", "u", nil, "fetch this URL, as if it were an input line (repeatable; read before any file, and then stdin is not read)")
	fs.StringVar(&cfg.Parser.URLField, "url-field", "url", "field of an NDJSON input object that holds the URL")
	fs.IntVarP(&cfg.Fetch.Concurrency, "concurrency", "c", 50, "parallel requests")
	fs.DurationVar(&cfg.Fetch.Timeout, "timeout", 10*time.Second, "time limit for one attempt, from connect to the last body byte")
	fs.Var(&f.maxBody, "max-body", "read at most this much of a body (e.g. 1048576, 512KiB, 10MiB); longer bodies are marked truncated")
	fs.IntVar(&cfg.Fetch.MaxRedirects, "max-redirects", 10, "redirects to follow; 0 returns 3xx responses as they are")
	fs.StringVarP(&cfg.Fetch.Method, "method", "X", "GET", "request method (POST when a body is sent); a record's \"method\" overrides it")
	fs.StringArrayVarP(&f.headers, "header", "H", nil, "extra request header 'Name: value' (repeatable); a record's \"headers\" override it by name")
	fs.StringArrayVarP(&f.data, "data", "d", nil, "request body, or @FILE without its line breaks, sent as a form, as curl does (repeatable: joined with &)")
	fs.StringArrayVar(&f.dataBinary, "data-binary", nil, "request body, or @FILE byte for byte (repeatable: joined with &)")
	fs.StringArrayVar(&f.json, "json", nil, "JSON request body, or @FILE; sends Content-Type and Accept application/json (repeatable: concatenated)")
	fs.StringSliceVar(&f.redactNames, "redact", nil, "headers whose values the input echo hides, besides Authorization, Cookie and Proxy-Authorization (comma-separated)")
	fs.StringVar(&f.userAgent, "user-agent", "sluice/"+Version, "User-Agent header")
	fs.BoolVar(&cfg.Transport.Insecure, "insecure", false, "do not verify TLS certificates")
	fs.StringArrayVar(&f.resolve, "resolve", nil, "HOST:PORT:ADDR: connect to ADDR for HOST:PORT without DNS, keeping HOST for SNI, certificate and Host, as curl does (repeatable)")
	fs.StringArrayVar(&f.dnsServers, "dns-server", nil, "ADDR[:PORT]: resolve host names through this DNS server (repeatable: tried in order), caching each answer for its TTL")
	fs.StringVar(&cfg.Transport.CACert, "cacert", "", "PEM file of CA certificates to trust besides the system's")
	fs.BoolVar(&cfg.Transport.CACertOnly, "cacert-only", false, "trust only the --cacert certificates, not the system's")
	fs.StringVar(&cfg.Transport.ClientCert, "cert", "", "PEM client certificate for mutual TLS (with --key)")
	fs.StringVar(&cfg.Transport.ClientKey, "key", "", "PEM private key of --cert")
	fs.BoolVar(&cfg.Transport.DenyPrivate, "deny-private", false, "refuse loopback, private, link-local and metadata addresses, checked after DNS (also on redirects); ignores proxies")
	fs.BoolVar(&cfg.Fetch.FailStatus, "fail-status", false, "record status >= 400 as an error of kind http")
	fs.StringVar(&f.globalRate, "rate", "0", "requests per second over all hosts: 10, 10/s, 600/m, 3600/h; 0 for no limit")
	fs.IntVar(&cfg.Limits.Burst, "burst", 0, "size of the --rate token bucket (default 10 ms worth of --rate, at least 1)")
	fs.StringArrayVar(&f.hostRates, "host-rate", nil, "requests per second to each host, or HOST=RATE for one host (repeatable)")
	fs.StringArrayVar(&f.hostConcs, "host-concurrency", nil, "parallel requests to each host, or HOST=N for one host (repeatable; default -c: no cap of its own)")
	fs.IntVar(&cfg.Limits.Window, "window", 0, "records held at once, waiting, in flight or between retries (default max(8192, 16 × -c))")
	fs.BoolVar(&f.robots, "robots", false, "obey each host's robots.txt (RFC 9309) for the --user-agent product token, fetched first through the same limits; its Crawl-delay too")
	fs.BoolVar(&cfg.Limits.AutoThrottle, "auto-throttle", false, "adapt each host's rate: cut on 429/503/timeouts, raise back toward --host-rate on success")
	fs.IntVar(&cfg.Retry.Retries, "retries", 2, "attempts after the first for a retryable failure")
	fs.StringVar(&f.retryOn, "retry-on", "429,502,503,504", "statuses to retry, comma-separated (network errors and timeouts are always retried)")
	fs.DurationVar(&cfg.Retry.Base, "retry-base", 500*time.Millisecond, "first retry waits up to this long, doubling per attempt (full jitter)")
	fs.DurationVar(&cfg.Retry.Max, "retry-max", 30*time.Second, "longest wait before a retry, Retry-After included; also caps a host's Retry-After pause")
	fs.BoolVar(&cfg.Retry.Unsafe, "retry-unsafe", false, "also retry requests whose method is not idempotent (POST, PATCH, ...) and that have no Idempotency-Key header")
	fs.BoolVar(&cfg.Fetch.Trace, "trace", false, "write timings (dns, connect, tls, ttfb, wait, transfer, total) and the local and remote addresses of the last attempt")
	fs.BoolVar(&cfg.Fetch.TLSInfo, "tls-info", false, "write the TLS version, cipher, ALPN, SNI and the leaf certificate, also when it was refused (as --extract tls)")
	fs.BoolVar(&cfg.Fetch.RedirectChain, "redirect-chain", false, "write each redirect before the final response, as redirects: [{url, status}]")
	fs.StringVar(&cfg.Cache.Dir, "cache", "", "keep responses in this directory and revalidate them on the next run (If-None-Match, If-Modified-Since); records say cache: miss, revalidated, changed, unchanged, fresh or stale")
	fs.Var(&f.cacheMax, "cache-max", "most bytes --cache keeps; the least recently used responses go first")
	fs.BoolVar(&cfg.Fetch.CacheFresh, "cache-fresh", false, "with --cache, do not request a response still fresh under RFC 9111 (max-age, Expires): use it as kept")
	fs.DurationVar(&cfg.Fetch.CacheStaleIfError, "cache-stale-if-error", 0, "with --cache, answer a failed request (no answer, or 500, 502, 503, 504) with the kept response when it is stale by at most this (RFC 5861); the record says cache: stale")
	fs.BoolVar(&cfg.Cache.Wait, "cache-wait", false, "with --cache, wait for another sluice using the directory to end, instead of failing")
	fs.BoolVar(&cfg.Stats, "stats", false, "print counts per host and in total to stderr at the end")
	fs.BoolVar(&cfg.Progress, "progress", false, "draw a live status line on stderr (default: when stderr is a terminal)")
	fs.BoolVar(&f.noProgress, "no-progress", false, "never draw the status line")
	fs.StringVar(&cfg.Metrics, "metrics", "", "HOST:PORT: serve Prometheus metrics on /metrics, and /healthz, while the run lasts (e.g. 127.0.0.1:9090)")
	fs.IntVar(&cfg.MetricsHosts, "metrics-hosts", 0, "with --metrics, a host label on the request counts for the N busiest hosts, the rest as \"other\"")
	fs.StringVar(&cfg.StatsJSON, "stats-json", "", "write the counts of --stats as JSON to this file at the end")
	fs.StringVar(&cfg.Resume, "resume", "", "a previous run's output: skip input records it finished (all but canceled); append to it with >>")
	fs.BoolVar(&cfg.Unique, "unique", false, "skip repeated URLs (remembers the last 1,000,000 distinct ones)")
	fs.StringSliceVar(&f.fields, "fields", nil, "write only these top-level output fields, comma-separated (seq always); docs/output.md lists them")
	fs.StringSliceVar(&f.omit, "omit", nil, "do not write these top-level output fields, comma-separated")
	fs.BoolVar(&cfg.Ordered, "ordered", false, "write records in input order (a reorder buffer of --window records; a slow record holds back the rest)")
	fs.StringVar(&f.extract, "extract", "", "what to take from pages, comma-separated: title, links, meta, text, headers, jsonld, tls (as --tls-info)")
	fs.StringArrayVar(&f.selects, "select", nil, "NAME=SELECTOR[@attr]: the text (or attribute) of the first match, under fields (repeatable)")
	fs.StringArrayVar(&f.selectAlls, "select-all", nil, "NAME=SELECTOR[@attr]: an array of every match, under fields (repeatable)")
	fs.BoolVar(&cfg.Extract.LinksSameHost, "links-same-host", false, "with --extract links, keep only links to the page's own host")
	fs.BoolVar(&cfg.Extract.Body, "body", false, "include the body: as body when it is UTF-8 text, else as body_base64")
	fs.StringVar(&f.hashList, "hash", "", "hashes of the body read, under hash: sha256, md5, mmh3 (the favicon hash of Shodan and httpx), comma-separated")
	fs.StringArrayVar(&f.jq, "jq", nil, "EXPR or NAME=EXPR: a jq expression on a JSON body; the result goes under json, or fields.NAME (repeatable)")
	fs.BoolVar(&cfg.Extract.JQAny, "jq-any", false, "run --jq on any body, not only application/json and +json ones")
	fs.DurationVar(&cfg.Extract.JQTimeout, "jq-timeout", extract.DefaultJQTimeout, "time limit for one --jq expression on one body")
	fs.Var(&f.textMax, "text-max", "longest --extract text, and text of a selected element")
	fs.IntVar(&cfg.Parsers, "parse-workers", runtime.NumCPU(), "pages parsed in parallel (CPU work, apart from -c)")
	fs.DurationVar(&cfg.Grace, "grace", 5*time.Second, "after SIGINT/SIGTERM, time for requests in flight to finish")
	fs.BoolVarP(&cfg.Verbose, "verbose", "v", false, "log one line per record to stderr")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a Go CPU profile of the run to this file (for tuning; see go tool pprof)")
	fs.StringVar(&f.in, "in", "", "take records from a NATS JetStream work queue instead of files or stdin: nats://HOST:PORT/STREAM/SUBJECT[?durable=NAME&batch=N&ack_wait=30s&lease=10s&idle=5s]")
	fs.StringVar(&f.out, "out", "", "publish records to NATS JetStream instead of stdout: nats://HOST:PORT/SUBJECT[?max_age=24h&max_bytes=N]")
	fs.StringVar(&cfg.NATS.Creds, "nats-creds", "", "NATS credentials file (JWT and NKey seed)")
	fs.StringVar(&cfg.NATS.TLSCA, "nats-tls-ca", "", "CA certificate file to verify the NATS server with")
	fs.BoolVar(&f.showVersion, "version", false, "print the version and exit")
	fs.BoolVarP(&f.showHelp, "help", "h", false, "show this help")
	f.defineCrawl(fs)
	f.defineWARC(fs)
	f.defineRender(fs)
}

// helpGroups orders --help by purpose. Every flag is in exactly one group
// (TestHelpGroups checks).
var helpGroups = []struct {
	title string
	flags []string
}{
	{"Input", []string{"url", "url-field", "unique", "resume"}},
	{"Crawling", append([]string{"follow"}, crawlCompanions...)},
	{"Fetching", []string{"concurrency", "timeout", "max-body", "max-redirects", "method", "header", "data", "data-binary", "json",
		"user-agent", "redact", "deny-private", "fail-status", "grace"}},
	{"Connections and TLS", []string{"insecure", "resolve", "dns-server", "cacert", "cacert-only", "cert", "key"}},
	{"Politeness and retries", []string{"rate", "burst", "host-rate", "host-concurrency", "window", "robots", "auto-throttle",
		"retries", "retry-on", "retry-base", "retry-max", "retry-unsafe"}},
	{"Extraction", []string{"extract", "select", "select-all", "links-same-host", "body", "hash", "jq", "jq-any", "jq-timeout", "text-max", "parse-workers"}},
	{"Output", []string{"trace", "tls-info", "redirect-chain", "fields", "omit", "ordered", "progress", "no-progress", "stats", "stats-json", "verbose", "cpuprofile", "version", "help"}},
	{"Archiving (WARC)", append([]string{"warc"}, warcCompanions...)},
	{"Rendering (headless Chromium)", append([]string{"render"}, renderCompanions...)},
	{"Re-runs (an HTTP cache)", []string{"cache", "cache-max", "cache-fresh", "cache-stale-if-error", "cache-wait"}},
	{"Watching a run", []string{"metrics", "metrics-hosts"}},
	{"Many machines (NATS JetStream; see sluice enqueue --help)", []string{"in", "out", "nats-creds", "nats-tls-ca"}},
}

const usage = "Usage: sluice [flags] [file | URL ...]\n\n" +
	"Reads URL lines, or NDJSON objects with a URL field, from the files or stdin\n" +
	"('-' is stdin), fetches them, and writes one NDJSON record per input line\n" +
	"to stdout. An argument that is no file but an http(s) URL is fetched as if\n" +
	"it were an input line, as with -u. docs/ (and man sluice) has the output\n" +
	"fields and examples. 'sluice report' sums up an output (sluice report\n" +
	"--help); 'sluice enqueue' loads a work queue; 'sluice completion SHELL'\n" +
	"prints a completion script for bash, zsh or fish.\n"

// Parse turns the command line (without the program name) into a Config.
// Help and version go to stdout and return ErrHelpShown; a bad flag returns
// an error naming it.
func Parse(args []string, stdout io.Writer) (Config, error) {
	var f flags
	fs := f.flagSet()
	if err := fs.Parse(args); err != nil {
		return f.cfg, err
	}
	switch {
	case f.showHelp:
		return f.cfg, writeHelp(stdout, fs)
	case f.showVersion:
		fmt.Fprintln(stdout, VersionLine())
		return f.cfg, ErrHelpShown
	}
	f.cfg.ProgressSet = fs.Changed("progress") || fs.Changed("no-progress")
	f.methodSet = fs.Changed("method")
	f.cacheMaxSet = fs.Changed("cache-max")
	f.changedCrawl(fs)
	if err := f.finish(fs.Args()); err != nil {
		return f.cfg, err
	}
	if err := f.renderConfig(fs); err != nil {
		return f.cfg, err
	}
	return f.cfg, f.warcConfig(fs, args)
}

// writeHelp writes --help, flags by group.
func writeHelp(w io.Writer, fs *pflag.FlagSet) error {
	fmt.Fprint(w, usage)
	grouped := map[string]bool{}
	for _, g := range helpGroups {
		gs := pflag.NewFlagSet(g.title, pflag.ContinueOnError)
		gs.SortFlags = false
		for _, name := range g.flags {
			gs.AddFlag(fs.Lookup(name))
			grouped[name] = true
		}
		fmt.Fprintf(w, "\n%s:\n%s", g.title, gs.FlagUsages())
	}
	other := pflag.NewFlagSet("Other", pflag.ContinueOnError)
	fs.VisitAll(func(f *pflag.Flag) {
		if !grouped[f.Name] {
			other.AddFlag(f) // a flag someone forgot to group: still shown
		}
	})
	if other.HasFlags() {
		fmt.Fprintf(w, "\nOther:\n%s", other.FlagUsages())
	}
	return ErrHelpShown
}

// finish checks what the flag set filled and completes the Config.
func (f *flags) finish(args []string) error {
	cfg := &f.cfg
	var err error
	if cfg.Inputs, err = inputs(f.urls, args); err != nil {
		return err
	}
	if err := f.queue(); err != nil {
		return err
	}
	if f.noProgress {
		cfg.Progress = false
	}
	cfg.Fetch.MaxBody = int64(f.maxBody)
	cfg.Cache.Max = int64(f.cacheMax)
	if err := f.check(); err != nil {
		return err
	}
	if err := f.limits(); err != nil {
		return err
	}
	if err := f.extraction(); err != nil {
		return err
	}
	if err := f.crawlConfig(); err != nil {
		return err
	}
	if err := f.retries(); err != nil {
		return err
	}
	if !f.methodSet {
		cfg.Fetch.Method = "" // GET, or POST for a request with a body
	}
	if err := f.requestHeaders(); err != nil {
		return err
	}
	if f.robots {
		cfg.Limits.Robots = robots.NewRobots(cfg.Fetch.Header.Get("User-Agent"))
	}
	if err := f.redact(); err != nil {
		return err
	}
	if err := f.outputFields(); err != nil {
		return err
	}
	if err := f.connections(); err != nil {
		return err
	}
	return f.requestBody()
}

// check refuses values out of range, naming the flag.
func (f *flags) check() error {
	cfg := &f.cfg
	switch {
	case cfg.Fetch.Concurrency < 1:
		return fmt.Errorf("invalid argument %d for -c, --concurrency: must be at least 1", cfg.Fetch.Concurrency)
	case cfg.Fetch.Timeout <= 0:
		return fmt.Errorf("invalid argument %v for --timeout: must be positive", cfg.Fetch.Timeout)
	case cfg.Fetch.MaxRedirects < 0:
		return fmt.Errorf("invalid argument %d for --max-redirects: must be 0 or more", cfg.Fetch.MaxRedirects)
	case cfg.Grace < 0:
		return fmt.Errorf("invalid argument %v for --grace: must not be negative", cfg.Grace)
	case !record.IsToken(cfg.Fetch.Method):
		return fmt.Errorf("invalid argument %q for -X, --method: not an HTTP method", cfg.Fetch.Method)
	case cfg.Parser.URLField == "":
		return errors.New("invalid argument \"\" for --url-field: must not be empty")
	case cfg.Limits.Burst < 0:
		return fmt.Errorf("invalid argument %d for --burst: must not be negative", cfg.Limits.Burst)
	case cfg.Limits.Window < 0:
		return fmt.Errorf("invalid argument %d for --window: must be at least 1", cfg.Limits.Window)
	case cfg.Retry.Retries < 0:
		return fmt.Errorf("invalid argument %d for --retries: must not be negative", cfg.Retry.Retries)
	case cfg.Retry.Base < 0:
		return fmt.Errorf("invalid argument %v for --retry-base: must not be negative", cfg.Retry.Base)
	case cfg.Retry.Max < cfg.Retry.Base:
		return fmt.Errorf("invalid argument %v for --retry-max: must be at least --retry-base", cfg.Retry.Max)
	case cfg.Parsers < 1:
		return fmt.Errorf("invalid argument %d for --parse-workers: must be at least 1", cfg.Parsers)
	case f.textMax < 1:
		return fmt.Errorf("invalid argument %d for --text-max: must be at least 1", f.textMax)
	case cfg.MetricsHosts < 0:
		return fmt.Errorf("invalid argument %d for --metrics-hosts: must not be negative", cfg.MetricsHosts)
	case cfg.MetricsHosts > 0 && cfg.Metrics == "":
		return errors.New("--metrics-hosts needs --metrics")
	case cfg.Cache.Dir == "" && (cfg.Fetch.CacheFresh || cfg.Cache.Wait || f.cacheMaxSet || cfg.Fetch.CacheStaleIfError != 0):
		return errors.New("--cache-max, --cache-fresh, --cache-stale-if-error and --cache-wait need --cache DIR")
	case cfg.Fetch.CacheStaleIfError < 0:
		return fmt.Errorf("invalid argument %v for --cache-stale-if-error: must not be negative", cfg.Fetch.CacheStaleIfError)
	case f.cacheMax < 1<<20:
		return fmt.Errorf("invalid argument %d for --cache-max: must be at least 1MiB", f.cacheMax)
	}
	if cfg.Metrics != "" {
		if _, port, err := net.SplitHostPort(cfg.Metrics); err != nil || port == "" {
			return fmt.Errorf("invalid argument %q for --metrics: not HOST:PORT", cfg.Metrics)
		}
	}
	return nil
}

// retries reads --retry-on into the retry policy.
func (f *flags) retries() error {
	cfg := &f.cfg
	cfg.Retry.Statuses = map[int]bool{}
	for _, s := range strings.Split(f.retryOn, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		code, err := strconv.Atoi(s)
		if err != nil || code < 100 || code > 599 {
			return fmt.Errorf("invalid argument %q for --retry-on: %q is not an HTTP status (want e.g. 429,503)", f.retryOn, s)
		}
		cfg.Retry.Statuses[code] = true
	}
	return nil
}

// requestHeaders builds the headers sent with every request from
// --user-agent and -H.
func (f *flags) requestHeaders() error {
	h := http.Header{}
	h.Set("User-Agent", f.userAgent)
	for i, v := range f.headers {
		name, value, err := parseHeader(v)
		if err != nil {
			return fmt.Errorf("invalid argument for -H, --header (number %d): %v (want 'Name: value')", i+1, err)
		}
		if strings.EqualFold(name, "User-Agent") {
			h.Del(name)
		}
		h.Add(name, value)
	}
	f.cfg.Fetch.Header = h
	return nil
}

// parseHeader splits "Name: value". Its errors quote nothing of h: a
// malformed argument may hold a secret anywhere.
func parseHeader(h string) (name, value string, err error) {
	name, value, ok := strings.Cut(h, ":")
	name = strings.TrimSpace(name)
	switch {
	case !ok:
		return "", "", errors.New("no ':' between name and value")
	case !record.IsToken(name):
		return "", "", errors.New("the name is not a valid header name")
	case strings.ContainsAny(value, "\r\n\x00"):
		return "", "", errors.New("the value contains a line break or NUL")
	}
	return name, strings.TrimSpace(value), nil
}
