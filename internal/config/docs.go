package config

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/pflag"
)

// The reference made from the flag definitions (Commands), as --help is:
// docs/flags.md, the man page sluice.1, and the flag table that ends each
// topic's page in docs/. `go run ./internal/cmd/gendocs` writes them all;
// TestDocsMade fails when the files in the tree are not what the
// definitions make.

// FlagName is how a flag is written in the reference: "-c, --concurrency
// int", as --help writes it.
func FlagName(f *pflag.Flag) string {
	name := "--" + f.Name
	if f.Shorthand != "" {
		name = "-" + f.Shorthand + ", " + name
	}
	kind, _ := pflag.UnquoteUsage(f)
	switch {
	case f.NoOptDefVal != "":
		// a switch: --help writes "[=true|false]"
	case kind != "":
		name += " " + kind
	}
	return name
}

// FlagMeaning is the flag's usage as --help writes it, and the default
// --help writes after it ("" for none): pflag's own line for the flag is
// read, so that the two cannot differ.
func FlagMeaning(f *pflag.Flag) (meaning, def string) {
	_, usage := pflag.UnquoteUsage(f)
	one := pflag.NewFlagSet("", pflag.ContinueOnError)
	one.AddFlag(f)
	line := one.FlagUsages()
	rest := line[strings.LastIndex(line, usage)+len(usage):]
	if d, ok := strings.CutPrefix(strings.TrimSpace(rest), "(default "); ok {
		def = strings.TrimSuffix(d, ")")
	}
	return usage, def
}

// WriteFlagsMarkdown writes docs/flags.md.
func WriteFlagsMarkdown(w io.Writer) {
	fmt.Fprint(w, "# Flags\n\n"+
		"<!-- Made by `go run ./internal/cmd/gendocs` from the flag definitions, as `sluice --help`\n"+
		"and the man page (sluice.1) are; edit internal/config, not this file. -->\n\n"+
		"Every flag of every command, by group, as `sluice --help` gives them. A flag that takes a\n"+
		"value takes it as `--flag value` or `--flag=value`; a switch is on as `--flag` and off as\n"+
		"`--flag=false`.\n")
	for _, c := range Commands() {
		fmt.Fprintf(w, "\n## %s\n\n```\n%s```\n", c.Name, c.Usage)
		for _, g := range c.Groups {
			if len(c.Groups) > 1 {
				fmt.Fprintf(w, "\n### %s\n", g.Title)
			}
			fmt.Fprintln(w)
			flagTable(w, g.Flags)
		}
	}
}

// flagTable writes a markdown table of flags.
func flagTable(w io.Writer, flags []*pflag.Flag) {
	fmt.Fprint(w, "| flag | default | meaning |\n|---|---|---|\n")
	for _, f := range flags {
		meaning, def := FlagMeaning(f)
		if def != "" {
			def = "`" + def + "`"
		}
		fmt.Fprintf(w, "| `%s` | %s | %s |\n", FlagName(f), def, strings.ReplaceAll(meaning, "|", `\|`))
	}
}

// flagsMark opens a docs page's flag table: <!-- flags: GROUP -->, GROUP a
// group of sluice's flags (as --help titles it) or a command ("sluice
// enqueue"); <!-- end flags --> closes it.
var flagsMark = regexp.MustCompile(`(?s)<!-- flags: ([^>]*?) -->\n.*?<!-- end flags -->`)

// FillFlagTables fills each flag table of a docs page from the
// definitions, and says which groups it has.
func FillFlagTables(page string) (string, []string, error) {
	tables := map[string][]*pflag.Flag{}
	for _, c := range Commands() {
		tables[c.Name] = c.Flags()
		if c.Name == "sluice" {
			for _, g := range c.Groups {
				tables[g.Title] = g.Flags
			}
		}
	}
	var named []string
	var err error
	filled := flagsMark.ReplaceAllStringFunc(page, func(m string) string {
		title := flagsMark.FindStringSubmatch(m)[1]
		flags, ok := tables[title]
		if !ok {
			err = fmt.Errorf("no group or command %q of flags", title)
			return m
		}
		named = append(named, title)
		var b strings.Builder
		fmt.Fprintf(&b, "<!-- flags: %s -->\n## Flags: %s\n\n", title, strings.TrimSuffix(title, " (NATS JetStream; see sluice enqueue --help)"))
		flagTable(&b, flags)
		b.WriteString("<!-- end flags -->")
		return b.String()
	})
	return filled, named, err
}

// WriteManPage writes sluice.1.
func WriteManPage(w io.Writer) {
	cmds := Commands()
	fmt.Fprintf(w, ".\\\" Made by go run ./internal/cmd/gendocs from the flag definitions; edit internal/config.\n"+
		".TH SLUICE 1 \"\" \"sluice %s\" \"User Commands\"\n.nh\n.ad l\n"+
		".SH NAME\nsluice \\- a Unix filter for the web: URL records in, one NDJSON record out for each\n"+
		".SH SYNOPSIS\n", roff(Version))
	for _, c := range cmds {
		first, _, _ := strings.Cut(c.Usage, "\n")
		fmt.Fprintf(w, ".B %s\n%s\n.br\n", c.Name, roff(strings.TrimPrefix(strings.TrimPrefix(first, "Usage: "), c.Name+" ")))
	}
	fmt.Fprintf(w, ".SH DESCRIPTION\n%s", manText(cmds[0].Usage))
	fmt.Fprint(w, ".SH OPTIONS\n")
	for _, g := range cmds[0].Groups {
		fmt.Fprintf(w, ".SS %s\n", roff(g.Title))
		manFlags(w, g.Flags)
	}
	fmt.Fprint(w, ".SH COMMANDS\n")
	for _, c := range cmds[1:] {
		fmt.Fprintf(w, ".SS %s\n%s", c.Name, manText(c.Usage))
		for _, g := range c.Groups {
			manFlags(w, g.Flags)
		}
	}
	fmt.Fprint(w, ".SH EXIT STATUS\n"+
		".TP\n0\nevery record was written (records of failed requests included)\n"+
		".TP\n1\nthe output could not be written, or the input could not be read\n"+
		".TP\n2\na bad flag or argument\n"+
		".TP\n130\ninterrupted (SIGINT or SIGTERM); the records read so far were written\n"+
		".SH SEE ALSO\n"+
		"The guides in docs/ beside the source, docs/flags.md (this page's flags), and\n"+
		".BR jq (1).\n")
}

// manText is a usage text, but for its first line, as man paragraphs.
func manText(usage string) string {
	_, rest, _ := strings.Cut(usage, "\n")
	var b strings.Builder
	for _, para := range strings.Split(strings.TrimSpace(rest), "\n\n") {
		if strings.HasPrefix(para, "  ") { // an indented block: as it is
			fmt.Fprintf(&b, ".PP\n.nf\n%s\n.fi\n", roff(para))
			continue
		}
		fmt.Fprintf(&b, ".PP\n%s\n", roff(para))
	}
	return b.String()
}

func manFlags(w io.Writer, flags []*pflag.Flag) {
	for _, f := range flags {
		meaning, def := FlagMeaning(f)
		if def != "" {
			meaning += " (default " + def + ")"
		}
		fmt.Fprintf(w, ".TP\n.B %s\n%s\n", roff(FlagName(f)), roff(meaning))
	}
}

// roff escapes s for a man page: backslashes and dashes, a line that
// would start with a control character, and what not every terminal's
// device has (an ellipsis; groff's multiplication sign is).
func roff(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`, "…", "...", "×", `\[mu]`).Replace(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}
