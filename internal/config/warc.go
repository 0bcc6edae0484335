package config

import (
	"fmt"
	"net/textproto"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"sluice/record"
)

// WARCConfig is --warc and its companions.
type WARCConfig struct {
	Dir     string   // "": no archive
	Prefix  string   // file names start with it
	MaxSize int64    // a file is closed before a record would take it past this
	CDX     bool     // a CDXJ index beside each file
	Secrets bool     // --warc-secrets: write secret request headers as sent
	Command []string // the command line, secrets left out, for each file's warcinfo record
}

// warcFlags are --warc's companions, for "needs --warc".
var warcCompanions = []string{"warc-max-size", "warc-prefix", "warc-cdx", "warc-secrets"}

func (f *flags) defineWARC(fs *pflag.FlagSet) {
	w := &f.cfg.WARC
	f.warcMaxSize = sizeValue(1 << 30)
	fs.StringVar(&w.Dir, "warc", "", "archive every HTTP exchange (redirects, robots.txt and sitemaps too) as WARC/1.1 files in `DIR`, beside the records; each record's warc field points at its response")
	fs.Var(&f.warcMaxSize, "warc-max-size", "with --warc, start a new file before one would grow past this (e.g. 1GiB, 100MiB)")
	fs.StringVar(&w.Prefix, "warc-prefix", "sluice", "with --warc, what the files' names start with: `PREFIX`-TIMESTAMP-SERIAL-HOST.warc.gz")
	fs.BoolVar(&w.CDX, "warc-cdx", false, "with --warc, write a CDXJ index (as pywb and ReplayWeb.page read) beside each file, as records are written")
	fs.BoolVar(&w.Secrets, "warc-secrets", false, "with --warc, write Authorization, Cookie, Proxy-Authorization and --redact headers as sent, not as [redacted]")
}

// warcConfig checks --warc's flags and notes the command line for the
// files' warcinfo records.
func (f *flags) warcConfig(fs *pflag.FlagSet, args []string) error {
	w := &f.cfg.WARC
	if w.Dir == "" {
		for _, name := range warcCompanions {
			if fs.Changed(name) {
				return fmt.Errorf("--%s needs --warc DIR", name)
			}
		}
		return nil
	}
	w.MaxSize = int64(f.warcMaxSize)
	switch {
	case w.MaxSize < 64<<10:
		return fmt.Errorf("invalid argument %d for --warc-max-size: must be at least 64KiB", w.MaxSize)
	case w.Prefix == "" || strings.ContainsAny(w.Prefix, "/\\\x00"):
		return fmt.Errorf("invalid argument %q for --warc-prefix: must be a non-empty file name part", w.Prefix)
	}
	w.Command = echoCommand(args, f.cfg.Parser.Secrets())
	return nil
}

// echoCommand is the command line as a warcinfo record says it: the
// values of secret headers (-H), inline request bodies (-d, --data-binary,
// --json: they may hold passwords) and URL passwords replaced by
// record.Redacted.
func echoCommand(args []string, secrets []string) []string {
	secret := map[string]bool{}
	for _, s := range secrets {
		secret[textproto.CanonicalMIMEHeaderKey(s)] = true
	}
	header := func(v string) string {
		name, _, ok := strings.Cut(v, ":")
		if ok && secret[textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))] {
			return name + ": " + record.Redacted
		}
		return v
	}
	body := func(v string) string {
		if strings.HasPrefix(v, "@") {
			return v
		}
		return record.Redacted
	}
	bodyFlags := []string{"-d", "--data", "--data-binary", "--json"}
	out := make([]string, 0, len(args)+1)
	out = append(out, "sluice")
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, inline := strings.Cut(a, "=")
		switch {
		case (a == "-H" || a == "--header") && i+1 < len(args):
			out = append(out, a, header(args[i+1]))
			i++
			continue
		case inline && name == "--header":
			a = name + "=" + header(value)
		case strings.HasPrefix(a, "-H") && len(a) > 2:
			a = "-H" + header(a[2:])
		case slices.Contains(bodyFlags, a) && i+1 < len(args):
			out = append(out, a, body(args[i+1]))
			i++
			continue
		case inline && slices.Contains(bodyFlags, name):
			a = name + "=" + body(value)
		case strings.HasPrefix(a, "-d") && len(a) > 2:
			a = "-d" + body(a[2:])
		}
		out = append(out, hidePassword(a))
	}
	return out
}

// hidePassword replaces the password of a URL's userinfo (nats://u:p@h).
func hidePassword(a string) string {
	scheme, rest, ok := strings.Cut(a, "://")
	if !ok {
		return a
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return a
	}
	user, _, hasPass := strings.Cut(authority[:at], ":")
	if !hasPass {
		return a
	}
	return scheme + "://" + user + ":" + record.Redacted + rest[at:]
}
