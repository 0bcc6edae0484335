package config

import (
	"fmt"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"sluice/internal/report"
)

// A Command is one of sluice's commands as its documentation shows it:
// its usage text and its flags by group. --help, the man page,
// docs/flags.md and the completions are all made from these.
type Command struct {
	Name   string // "sluice", "sluice enqueue", ...
	Usage  string // what --help prints above the flags
	Groups []Group
}

// A Group is a titled run of a command's flags.
type Group struct {
	Title string
	Flags []*pflag.Flag
}

// Commands are sluice's commands: the main one first.
func Commands() []Command {
	var f flags
	fs := f.flagSet()
	main := Command{Name: "sluice", Usage: usage}
	for _, g := range helpGroups {
		grp := Group{Title: g.title}
		for _, name := range g.flags {
			grp.Flags = append(grp.Flags, fs.Lookup(name))
		}
		main.Groups = append(main.Groups, grp)
	}
	var e enqueueFlags
	var o report.Options
	var help bool
	return []Command{
		main,
		{Name: "sluice enqueue", Usage: enqueueUsage, Groups: []Group{{Title: "Flags", Flags: flagsOf(e.flagSet())}}},
		{Name: "sluice report", Usage: reportUsage, Groups: []Group{{Title: "Flags", Flags: flagsOf(reportFlagSet(&o, &help))}}},
		{Name: "sluice completion", Usage: completionUsage},
	}
}

func flagsOf(fs *pflag.FlagSet) []*pflag.Flag {
	var all []*pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) { all = append(all, f) })
	return all
}

// Flags are the command's flags in order.
func (c Command) Flags() []*pflag.Flag {
	var all []*pflag.Flag
	for _, g := range c.Groups {
		all = append(all, g.Flags...)
	}
	return all
}

// Lookup is the command's flag of that name; nil if none.
func (c Command) Lookup(name string) *pflag.Flag {
	for _, f := range c.Flags() {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// VersionLine is what --version prints: the release, and from the build
// information the module's version, the commit, whether the tree had
// changes, and the Go that built it.
func VersionLine() string {
	b, ok := debug.ReadBuildInfo()
	if !ok {
		return "sluice " + Version
	}
	parts := []string{"module " + b.Main.Version}
	setting := func(key string) string {
		for _, s := range b.Settings {
			if s.Key == key {
				return s.Value
			}
		}
		return ""
	}
	if rev := setting("vcs.revision"); rev != "" {
		c := "commit " + rev
		if t := setting("vcs.time"); t != "" {
			c += " of " + t
		}
		if setting("vcs.modified") == "true" {
			c += ", modified"
		}
		parts = append(parts, c)
	} else {
		parts = append(parts, "commit unknown (built without its git information: -buildvcs=false, or outside the tree)")
	}
	parts = append(parts, b.GoVersion)
	return fmt.Sprintf("sluice %s (%s)", Version, strings.Join(parts, ", "))
}

// What completion offers for a flag's value: one of fixed words, a list
// of them (comma-separated), a file or a directory. A flag not here takes
// a value completion knows nothing of.
var (
	flagWords = map[string][]string{
		"scope":       {"host", "domain", "prefix", "any"},
		"render-wait": {"idle", "load"},
		"render-load": {"scripts", "all"},
		"format":      {"text", "json", "md"},
	}
	flagLists = map[string][]string{
		"extract":  {"title", "links", "meta", "text", "headers", "jsonld", "tls"},
		"hash":     {"sha256", "md5", "mmh3"},
		"retry-on": {"429", "500", "502", "503", "504"},
	}
	fileFlags = []string{"resume", "cacert", "cert", "key", "stats-json", "cpuprofile", "nats-creds", "nats-tls-ca", "plot"}
	dirFlags  = []string{"cache", "state", "warc", "screenshot"}
)

// subcommands follow "sluice" as its first word.
var subcommands = []string{"enqueue", "report", "completion"}

// Shells are those `sluice completion` writes scripts for.
var Shells = []string{"bash", "zsh", "fish"}

// Completion kinds: what a shell adds to the words Complete returns.
const (
	CompleteWords = "words" // only the words
	CompleteFiles = "files" // file names
	CompleteDirs  = "dirs"  // directory names
)

// Complete is what the word under the cursor can become: words is the
// command line after "sluice", the last word the one being completed
// ("" for a new one). A value joined to its flag ("--scope=ho") comes as
// one word or, as bash splits it, as the flag, "=" and the value; the
// words returned replace the last word as given. The kind says whether
// the shell adds file or directory names.
func Complete(words []string) (kind string, out []string) {
	if len(words) == 0 {
		words = []string{""}
	}
	cmds := Commands()
	cmd := cmds[0]
	if len(words) > 1 {
		switch words[0] {
		case "enqueue", "report":
			i := slices.IndexFunc(cmds, func(c Command) bool { return c.Name == "sluice "+words[0] })
			cmd, words = cmds[i], words[1:]
		case "completion":
			if len(words) == 2 {
				return CompleteWords, prefixed(Shells, words[1])
			}
			return CompleteWords, nil
		}
	}
	cur := words[len(words)-1]
	prev := words[:len(words)-1]
	// bash's "--flag", "=", "value", and "--flag", "=" with the cursor
	// after the "=": readline replaces what follows it.
	if n := len(prev); n >= 2 && prev[n-1] == "=" && strings.HasPrefix(prev[n-2], "--") {
		return completeValue(cmd.Lookup(prev[n-2][2:]), "", cur)
	}
	if n := len(prev); n >= 1 && cur == "=" && strings.HasPrefix(prev[n-1], "--") {
		return completeValue(cmd.Lookup(prev[n-1][2:]), "", "")
	}
	if name, value, ok := strings.Cut(cur, "="); ok && strings.HasPrefix(name, "--") {
		return completeValue(cmd.Lookup(name[2:]), name+"=", value)
	}
	if n := len(prev); n >= 1 {
		if f := flagOf(cmd, prev[n-1]); f != nil && f.NoOptDefVal == "" {
			return completeValue(f, "", cur)
		}
	}
	if strings.HasPrefix(cur, "-") {
		var names []string
		for _, f := range cmd.Flags() {
			names = append(names, "--"+f.Name)
		}
		return CompleteWords, prefixed(names, cur)
	}
	if len(prev) == 0 && cmd.Name == "sluice" {
		if subs := prefixed(subcommands, cur); len(subs) > 0 && cur != "" {
			return CompleteFiles, subs
		}
	}
	return CompleteFiles, nil // input files
}

// flagOf is the flag word names ("--scope", "-c"), when it names one
// whose value is the next word.
func flagOf(cmd Command, word string) *pflag.Flag {
	switch {
	case strings.HasPrefix(word, "--") && !strings.Contains(word, "="):
		return cmd.Lookup(word[2:])
	case len(word) == 2 && word[0] == '-' && word[1] != '-':
		for _, f := range cmd.Flags() {
			if f.Shorthand == word[1:] {
				return f
			}
		}
	}
	return nil
}

// completeValue completes value, of flag f, each word returned with
// prefix before it.
func completeValue(f *pflag.Flag, prefix, value string) (string, []string) {
	if f == nil {
		return CompleteWords, nil
	}
	with := func(ws []string) []string {
		for i := range ws {
			ws[i] = prefix + ws[i]
		}
		return ws
	}
	switch {
	case slices.Contains(fileFlags, f.Name):
		return CompleteFiles, nil
	case slices.Contains(dirFlags, f.Name):
		return CompleteDirs, nil
	case flagWords[f.Name] != nil:
		return CompleteWords, with(prefixed(flagWords[f.Name], value))
	case flagLists[f.Name] != nil:
		// "title,li": the words not yet in the list, after what is there
		i := strings.LastIndex(value, ",")
		done, last := value[:i+1], value[i+1:]
		have := strings.Split(done, ",")
		var rest []string
		for _, w := range flagLists[f.Name] {
			if !slices.Contains(have, w) {
				rest = append(rest, done+w)
			}
		}
		return CompleteWords, with(prefixed(rest, done+last))
	}
	return CompleteWords, nil
}

// prefixed are the words that start with p.
func prefixed(words []string, p string) []string {
	var out []string
	for _, w := range words {
		if strings.HasPrefix(w, p) {
			out = append(out, w)
		}
	}
	return out
}
