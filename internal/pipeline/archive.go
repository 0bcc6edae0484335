package pipeline

import (
	"fmt"
	"os"
	"strings"

	"sluice/flow"
	"sluice/internal/config"
	"sluice/sinks"
	"sluice/stages/warc"
)

// archive makes --warc's writer and the fetch stage's archiver; output puts
// the writer ahead of the output in the sink's chain.
func (r *run) archive() error {
	w := r.cfg.WARC
	if w.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(w.Dir, 0o777); err != nil {
		return fmt.Errorf("--warc: %w", err)
	}
	host, err := os.Hostname() // the kernel's name: nothing is looked up
	if err != nil || host == "" {
		host = "localhost"
	}
	fields := warcInfo(r.cfg, host)
	r.warc = sinks.NewWARC(sinks.WARCOptions{
		Dir: w.Dir, Prefix: w.Prefix, Host: fileSafe(host), MaxSize: w.MaxSize, CDX: w.CDX,
		Info: func(name string) []byte { return warc.Info(name, fields) },
	})
	var secrets []string
	if !w.Secrets {
		secrets = r.cfg.Parser.Secrets()
	}
	r.cfg.Fetch.Archive = warc.NewArchiver(warc.Config{Secrets: secrets, Loose: r.warc.Loose})
	return nil
}

// chain puts the archive ahead of out: a record is written to out once
// its exchanges are in the WARC files. A failed archive write stops the run.
func (r *run) chain(out flow.Writer) flow.Writer {
	if r.warc == nil {
		return out
	}
	r.archived = flow.NewChain(out, func(error) { r.life.Fail() }, r.warc)
	return r.archived
}

// archiveErr is the run's error when the archive failed: the records not
// written for it are to be fetched again (--resume, --state).
func (r *run) archiveErr() error {
	if r.warc == nil {
		return nil
	}
	err := r.archived.Err()
	if err == nil {
		err = r.warc.Close()
	}
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w (%d records not written: they are not archived)", err, r.archived.Lost())
}

// warcInfo is the block of each file's warcinfo record: its fields.
func warcInfo(cfg config.Config, host string) []byte {
	robots := "ignore"
	if cfg.Limits.Robots != nil {
		robots = "obey"
	}
	fields := [][2]string{
		{"software", "sluice/" + config.Version},
		{"format", "WARC File Format 1.1"},
		{"conformsTo", "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"},
		{"hostname", host},
		{"http-header-user-agent", cfg.Fetch.Header.Get("User-Agent")},
		{"robots", robots},
		{"command", shellJoin(cfg.WARC.Command)},
	}
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(f[0] + ": " + oneLine(f[1]) + "\r\n")
	}
	return []byte(b.String())
}

// shellJoin writes args as a shell would read them back.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+./:,@%") == "" {
			quoted[i] = a
		} else {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}

// oneLine keeps a warc-fields value on its line.
func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

// fileSafe is a host name as a file name's part.
func fileSafe(s string) string {
	return strings.Map(func(c rune) rune {
		if c == '/' || c == '\\' || c == 0 || c == ' ' {
			return '_'
		}
		return c
	}, s)
}
