package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/time/rate"

	"sluice/natsq"
	"sluice/record"
	"sluice/stages/extract"
	"sluice/stages/schedule"
)

// inputs orders the run's inputs: the -u URLs, then the arguments. An
// argument is a file unless no file of that name exists and it reads as an
// http(s) URL (curl's and httpx -u's habit); a file that cannot be opened
// is reported when the run opens it.
func inputs(urls, args []string) ([]Input, error) {
	var in []Input
	for _, u := range urls {
		if !isWebURL(u) {
			return nil, fmt.Errorf("invalid argument %q for -u, --url: want an http:// or https:// URL", u)
		}
		in = append(in, Input{URL: u})
	}
	for _, a := range args {
		if a != "-" && isWebURL(a) {
			if _, err := os.Stat(a); errors.Is(err, fs.ErrNotExist) {
				in = append(in, Input{URL: a})
				continue
			}
		}
		in = append(in, Input{Path: a})
	}
	return in, nil
}

// isWebURL reports whether s is an absolute http(s) URL with a host.
func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https")) && u.Host != ""
}

// queue reads --in and --out. Their messages never repeat the URL, which
// may hold a password.
func (f *flags) queue() error {
	cfg := &f.cfg
	if f.in != "" {
		q, err := natsq.ParseQueueURL(f.in)
		if err != nil {
			return fmt.Errorf("invalid argument for --in: %v", err)
		}
		cfg.In = &q
		switch {
		case len(cfg.Inputs) > 0:
			return errors.New("--in reads from the queue: give no input files or URLs with it")
		case cfg.Ordered, cfg.Resume != "", cfg.Unique:
			return errors.New("--ordered, --resume and --unique are for line input, not with --in (the queue keeps track of what is done)")
		}
	}
	if f.out != "" {
		out, err := natsq.ParseSubjectURL(f.out)
		if err != nil {
			return fmt.Errorf("invalid argument for --out: %v", err)
		}
		cfg.Out = &out
		switch {
		case cfg.Ordered || cfg.Resume != "":
			return errors.New("--ordered and --resume are for output to stdout, not with --out")
		case cfg.In != nil && cfg.In.Server != out.Server:
			return errors.New("--in and --out must name the same NATS server")
		case cfg.In != nil && natsq.InQueue(cfg.In.Subject, out.Subject):
			return fmt.Errorf("--out's subject %s is one of the queue's (%s.*): its records would be queued again", out.Subject, cfg.In.Subject)
		}
	}
	return nil
}

// extraction fills cfg.Extract, compiling every selector now so that a bad
// one is a usage error, and tells the fetch stage what to keep.
func (f *flags) extraction() error {
	cfg := &f.cfg
	if err := cfg.Extract.ParseExtractList(f.extract); err != nil {
		return fmt.Errorf("invalid argument %q for --extract: %v", f.extract, err)
	}
	for _, group := range []struct {
		flag  string
		specs []string
		all   bool
	}{{"--select", f.selects, false}, {"--select-all", f.selectAlls, true}} {
		for _, spec := range group.specs {
			sel, err := extract.ParseSelect(spec, group.all)
			if err != nil {
				return fmt.Errorf("invalid argument for %s: %v", group.flag, err)
			}
			cfg.Extract.Selects = append(cfg.Extract.Selects, sel)
		}
	}
	e := &cfg.Extract
	var err error
	if e.Hashes, err = extract.ParseHashList(f.hashList); err != nil {
		return fmt.Errorf("invalid argument %q for --hash: %v", f.hashList, err)
	}
	for _, spec := range f.jq {
		q, err := extract.ParseJQ(spec)
		if err != nil {
			return fmt.Errorf("invalid argument for --jq: %v", err)
		}
		e.JQ = append(e.JQ, q)
	}
	if e.JQTimeout <= 0 {
		return fmt.Errorf("invalid argument %v for --jq-timeout: must be positive", e.JQTimeout)
	}
	e.JQResultMax = int(min(max(int64(f.maxBody), 64<<10), 1<<30))
	e.TextMax = int(min(int64(f.textMax), 1<<30))
	cfg.Fetch.KeepBody = e.NeedsBody()
	cfg.Fetch.KeepHeader = e.Headers
	return nil
}

// limits fills cfg.Limits from the politeness flags.
func (f *flags) limits() error {
	cfg := &f.cfg
	l := &cfg.Limits
	var err error
	if l.Rate, err = schedule.ParseRate(f.globalRate); err != nil {
		return fmt.Errorf("invalid argument for --rate: %v", err)
	}
	if l.Window == 0 {
		l.Window = schedule.DefaultWindow(cfg.Fetch.Concurrency)
	}
	l.PauseMax = cfg.Retry.Max
	l.HostRate, l.HostRates = rate.Inf, map[string]rate.Limit{}
	for _, v := range f.hostRates {
		host, value := schedule.ParseHostSetting(v)
		r, err := schedule.ParseRate(value)
		if err != nil {
			return fmt.Errorf("invalid argument %q for --host-rate: %v", v, err)
		}
		if host == "" {
			l.HostRate = r
		} else {
			l.HostRates[hostKey(host)] = r
		}
	}
	l.HostConcurrency, l.HostConcs = schedule.DefaultHostConcurrency(cfg.Fetch.Concurrency), map[string]int{}
	for _, v := range f.hostConcs {
		host, value := schedule.ParseHostSetting(v)
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

// outputFields turns --fields and --omit into the fields not written.
func (f *flags) outputFields() error {
	for _, flag := range []struct {
		name  string
		names []string
	}{{"--fields", f.fields}, {"--omit", f.omit}} {
		for _, name := range flag.names {
			switch {
			case !slices.Contains(record.Fields, name):
				return fmt.Errorf("invalid argument %q for %s: no such output field (want some of %s)", name, flag.name, strings.Join(record.Fields, ", "))
			case name == "seq" && flag.name == "--omit":
				return errors.New("invalid argument \"seq\" for --omit: seq is always written")
			}
		}
	}
	for _, name := range record.Fields[1:] { // all but seq
		if len(f.fields) > 0 && !slices.Contains(f.fields, name) || slices.Contains(f.omit, name) {
			f.cfg.Drop = append(f.cfg.Drop, name)
		}
	}
	if f.cfg.Resume != "" && slices.Contains(f.cfg.Drop, "error") {
		return errors.New("--resume needs the error field (it tells canceled records, which it fetches again): keep it in --fields, out of --omit")
	}
	return nil
}

// connections makes the transport's settings: -c and --timeout, and
// --resolve, --cacert-only, --cert and --key, checked. The
// certificate files are read when the fetcher is built: one that cannot be
// read stops the run before any output, with status 1.
func (f *flags) connections() error {
	fc := &f.cfg.Transport
	fc.Concurrency, fc.Timeout = f.cfg.Fetch.Concurrency, f.cfg.Fetch.Timeout
	for _, spec := range f.resolve {
		key, addr, err := parseResolve(spec)
		if err != nil {
			return fmt.Errorf("invalid argument %q for --resolve: %v (want HOST:PORT:ADDR, e.g. example.com:443:127.0.0.1)", spec, err)
		}
		if fc.Resolve == nil {
			fc.Resolve = map[string]string{}
		}
		fc.Resolve[key] = addr
	}
	for _, s := range f.dnsServers {
		addr, err := dnsServer(s)
		if err != nil {
			return fmt.Errorf("invalid argument %q for --dns-server: %v (want ADDR or ADDR:PORT, e.g. 127.0.0.1:5353 or [::1]:53)", s, err)
		}
		fc.DNSServers = append(fc.DNSServers, addr)
	}
	switch {
	case fc.CACertOnly && fc.CACert == "":
		return errors.New("--cacert-only needs --cacert: the certificates to trust")
	case (fc.ClientCert == "") != (fc.ClientKey == ""):
		return errors.New("--cert and --key go together: the client certificate and its private key")
	}
	if f.cfg.Extract.TLS {
		f.cfg.Fetch.TLSInfo = true // --extract tls is --tls-info
	}
	return nil
}

// parseResolve reads HOST:PORT:ADDR into the dial address to replace,
// "host:port" in lower case, and the one to dial instead.
func parseResolve(spec string) (key, addr string, err error) {
	host, rest, ok1 := strings.Cut(spec, ":")
	port, ip, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || host == "" {
		return "", "", errors.New("three parts needed")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	parsed := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]"))
	if parsed == nil {
		return "", "", fmt.Errorf("%q is not an IP address", ip)
	}
	return strings.ToLower(host) + ":" + port, net.JoinHostPort(parsed.String(), port), nil
}

// dnsServer reads ADDR[:PORT], an IP address with port 53 unless given.
func dnsServer(s string) (string, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(ip, 53).String(), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return "", errors.New("not an IP address with an optional port")
	}
	if ap.Port() == 0 {
		return "", errors.New("port 0")
	}
	return ap.String(), nil
}
