package config

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"sluice/internal/report"
)

// reportUsage heads `sluice report --help`.
const reportUsage = "Usage: sluice report [flags] [file ...]\n\n" +
	"Sums up sluice's NDJSON output, from the files or stdin ('-' is stdin):\n" +
	"records by outcome, latency percentiles (within 1%), throughput when the\n" +
	"records have timings (--trace), bytes, retries, and the slowest and most\n" +
	"failing hosts. Lines that are not sluice records are counted and left out.\n"

func reportFlagSet(o *report.Options, help *bool) *pflag.FlagSet {
	fs := pflag.NewFlagSet("sluice report", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.StringVar(&o.Format, "format", "text", "text, json or md")
	fs.StringVar(&o.Plot, "plot", "", "draw the latency histogram and the outcomes to this .png or .svg file")
	fs.IntVar(&o.Hosts, "hosts", 10, "rows in the tables of the slowest and the most failing hosts")
	fs.BoolVarP(help, "help", "h", false, "show this help")
	return fs
}

// ParseReport reads `sluice report`'s command line (without "report").
// Help goes to stdout and returns ErrHelpShown; a bad flag returns an error
// naming it.
func ParseReport(args []string, stdout io.Writer) (report.Options, error) {
	var o report.Options
	var help bool
	fs := reportFlagSet(&o, &help)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if help {
		fmt.Fprint(stdout, reportUsage+"\n"+fs.FlagUsages())
		return o, ErrHelpShown
	}
	switch ext := strings.ToLower(filepath.Ext(o.Plot)); {
	case o.Format != "text" && o.Format != "json" && o.Format != "md":
		return o, fmt.Errorf("invalid argument %q for --format: text, json or md", o.Format)
	case o.Hosts < 0:
		return o, fmt.Errorf("invalid argument %d for --hosts: must not be negative", o.Hosts)
	case o.Plot != "" && ext != ".png" && ext != ".svg":
		return o, fmt.Errorf("invalid argument %q for --plot: the name must end in .png or .svg", o.Plot)
	}
	o.Files = fs.Args()
	return o, nil
}
