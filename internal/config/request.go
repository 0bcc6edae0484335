package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"sluice/record"
)

// requestBody reads -d, --data-binary and --json into the default body
// and its Content-Type, as curl does: -d and --data-binary join with '&'
// (-d drops the line breaks of a @FILE), --json values join as they are and
// ask for JSON back with Accept unless -H sets it.
func (f *flags) requestBody() error {
	if len(f.json) > 0 && len(f.data)+len(f.dataBinary) > 0 {
		return errors.New("--json cannot be given with -d, --data or --data-binary: one body for all records")
	}
	var parts []string
	for _, d := range []struct {
		flag   string
		values []string
		strip  bool
	}{{"-d, --data", f.data, true}, {"--data-binary", f.dataBinary, false}, {"--json", f.json, false}} {
		for _, v := range d.values {
			b, err := dataValue(v, d.strip)
			if err != nil {
				return fmt.Errorf("invalid argument for %s: %v", d.flag, err)
			}
			parts = append(parts, b)
		}
	}
	switch {
	case len(f.json) > 0:
		f.cfg.Fetch.Body = []byte(strings.Join(parts, ""))
		f.cfg.Fetch.BodyType = "application/json"
		if f.cfg.Fetch.Header.Get("Accept") == "" {
			f.cfg.Fetch.Header.Set("Accept", "application/json")
		}
	case len(parts) > 0:
		f.cfg.Fetch.Body = []byte(strings.Join(parts, "&"))
		f.cfg.Fetch.BodyType = "application/x-www-form-urlencoded"
	}
	return nil
}

// dataValue is a body flag's value: the text itself, or with a leading '@'
// the content of that file, without CR and LF when strip is set.
func dataValue(v string, strip bool) (string, error) {
	path, ok := strings.CutPrefix(v, "@")
	if !ok {
		return v, nil
	}
	if path == "-" {
		return "", errors.New("@- would read the body from stdin, which carries the input records")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if strip {
		return strings.NewReplacer("\r", "", "\n", "").Replace(string(b)), nil
	}
	return string(b), nil
}

// redact checks --redact's header names.
func (f *flags) redact() error {
	for _, name := range f.redactNames {
		if !record.IsToken(strings.TrimSpace(name)) {
			return fmt.Errorf("invalid argument %q for --redact: not a header name", name)
		}
		f.cfg.Parser.Redact = append(f.cfg.Parser.Redact, strings.TrimSpace(name))
	}
	return nil
}
