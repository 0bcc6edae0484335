package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// completionLines are what each shell's test types before a TAB.
var completionLines = []string{"sluice --ext", "sluice --extract t", "sluice --extract title,", "sluice --scope d", "sluice completion ", "sluice report --f"}

// shellEnv is the environment of a shell whose PATH starts with the
// sluice binary's directory, in a home of its own.
func shellEnv(t *testing.T) []string {
	bin := sluiceBin(t)
	return append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"), "HOME="+t.TempDir())
}

// bash, with Debian's bash-completion loaded before the script: TAB after
// each line offers what sluice says.
func TestCompletionBash(t *testing.T) {
	needTool(t, "bash", "apt install bash")
	if _, err := os.Stat("/usr/share/bash-completion/bash_completion"); err != nil {
		if os.Getenv("SLUICE_REQUIRE_TOOLS") != "" {
			t.Fatal("bash-completion is not installed, and SLUICE_REQUIRE_TOOLS is set")
		}
		t.Skip("bash-completion is not installed (apt install bash-completion)")
	}
	cmd := exec.Command("bash", append([]string{"testdata/complete.bash"}, completionLines...)...)
	cmd.Env = shellEnv(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := []string{"--extract|", "title|text|tls|", "title,links|title,meta|title,text|title,headers|title,jsonld|title,tls|", "domain|", "bash|zsh|fish|", "--format|"}
	if got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("bash completes\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// zsh, an interactive one on a terminal (zpty) with compinit and the script
// in its fpath: TAB completes a line the one way it can, and lists the
// candidates when there are several.
func TestCompletionZsh(t *testing.T) {
	needTool(t, "zsh", "apt install zsh")
	env := shellEnv(t)
	dir := t.TempDir()
	script, err := exec.Command(sluiceBin(t), "completion", "zsh").Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "_sluice"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	lines := filepath.Join(t.TempDir(), "lines")
	cmd := exec.Command("zsh", append([]string{"-f", "testdata/complete.zsh", dir, lines}, completionLines...)...)
	cmd.Env = env
	term, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, term)
	}
	got, err := os.ReadFile(lines)
	if err != nil {
		t.Fatal(err)
	}
	// What each line became: one candidate completes it, several leave
	// it as it was, listed below it.
	want := "<sluice --extract >\n<sluice --extract t>\n<sluice --extract title,>\n<sluice --scope domain >\n<sluice completion >\n<sluice report --format >\n"
	if string(got) != want {
		t.Errorf("zsh left the lines\n%swant\n%s", got, want)
	}
	listing := regexp.MustCompile(`\x1b\[[0-9;?]*[a-zA-Z]`).ReplaceAllString(string(term), "")
	// zsh lists in columns, so a list longer than a row is read down them.
	for _, list := range []*regexp.Regexp{regexp.MustCompile(`text +title +tls`), regexp.MustCompile(`title,headers +title,links +title,text *\r?\n *title,jsonld +title,meta +title,tls`), regexp.MustCompile(`bash +fish +zsh`)} {
		if !list.MatchString(listing) {
			t.Errorf("zsh did not list %s:\n%q", list, listing)
		}
	}
}

// fish's own completion engine (complete -C) with the script sourced.
func TestCompletionFish(t *testing.T) {
	needTool(t, "fish", "apt install fish")
	var prog strings.Builder
	prog.WriteString("sluice completion fish | source\n")
	for _, l := range completionLines {
		prog.WriteString("complete -C '" + l + "' | string join '|'\n")
	}
	prog.WriteString("true\n") // string join fails when it has one word to join
	cmd := exec.Command("fish", "--no-config", "-c", prog.String())
	cmd.Env = shellEnv(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := "--extract\ntext|title|tls\ntitle,headers|title,jsonld|title,links|title,meta|title,text|title,tls\ndomain\nbash|fish|zsh\n--format\n"
	if string(out) != want {
		t.Errorf("fish completes\n%swant\n%s", out, want)
	}
}

// --version names the commit the binary was built from, whether the tree
// had changes, and the Go that built it, from the build information.
func TestVersion(t *testing.T) {
	needTool(t, "git", "apt install git")
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not in a git tree: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "sluice")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	status, err := exec.Command("git", "status", "--porcelain").Output()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	v := string(out)
	for _, part := range []string{"sluice 0.1.0 (", "commit " + strings.TrimSpace(string(head)) + " of ", runtime.Version() + ")\n"} {
		if !strings.Contains(v, part) {
			t.Errorf("--version %q lacks %q", v, part)
		}
	}
	if modified := len(status) > 0; strings.Contains(v, ", modified") != modified {
		t.Errorf("--version %q; the tree has changes: %v", v, modified)
	}
}

// The man page, as man renders it, has every flag of every command as
// its --help gives it, the same name and value, the same meaning and
// default, and no other flag. (docs/flags.md and sluice.1 are made from
// the same definitions: internal/config's TestDocsMade.)
func TestManPageAgreesWithHelp(t *testing.T) {
	needTool(t, "man", "apt install man-db")
	cmd := exec.Command("man", "-l", "-P", "cat", "sluice.1")
	cmd.Env = append(os.Environ(), "LC_ALL=C", "MANWIDTH=100")
	page, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l sluice.1: %v", err)
	}
	space := regexp.MustCompile(`\s+`)
	flat := func(s string) string { return space.ReplaceAllString(strings.TrimSpace(s), " ") }
	man := flat(string(page))
	flagLine := regexp.MustCompile(`^ {2,6}(-\w, )?--[\w-]+`)
	src, err := os.ReadFile("sluice.1")
	if err != nil {
		t.Fatal(err)
	}
	manFlags := len(regexp.MustCompile(`(?m)^\.TP\n\.B \\-`).FindAll(src, -1)) // a flag's heading
	helpFlags := 0
	ascii := strings.NewReplacer("×", "x", "…", "...", "[=true|false]", "")
	for _, sub := range [][]string{nil, {"enqueue"}, {"report"}} {
		out, err := exec.Command(sluiceBin(t), append(sub, "--help")...).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(ascii.Replace(string(out)), "\n") {
			if !flagLine.MatchString(l) {
				continue
			}
			helpFlags++
			name, meaning, ok := strings.Cut(strings.TrimSpace(l), "  ")
			if !ok {
				t.Errorf("a --help line without a meaning: %q", l)
				continue
			}
			if want := flat(name) + " " + flat(meaning); !strings.Contains(man, want) {
				t.Errorf("sluice %v --help has %q; the man page does not", sub, want)
			}
		}
	}
	if helpFlags < 100 || manFlags != helpFlags {
		t.Errorf("--help lists %d flags, the man page %d", helpFlags, manFlags)
	}
}
