package config

import (
	"slices"
	"strings"
	"testing"
)

// What the word under the cursor can become, as the completion scripts
// ask for it; the forms bash splits "--flag=value" into included.
func TestComplete(t *testing.T) {
	for _, c := range []struct {
		words []string
		kind  string
		want  []string
	}{
		{[]string{"--ext"}, CompleteWords, []string{"--extract"}},
		{[]string{"--extract", "t"}, CompleteWords, []string{"title", "text", "tls"}},
		{[]string{"--extract", "title,t"}, CompleteWords, []string{"title,text", "title,tls"}},
		{[]string{"--extract=title,text,"}, CompleteWords, []string{"--extract=title,text,links", "--extract=title,text,meta", "--extract=title,text,headers", "--extract=title,text,jsonld", "--extract=title,text,tls"}},
		{[]string{"--scope", "=", "ho"}, CompleteWords, []string{"host"}},
		{[]string{"--scope", "="}, CompleteWords, []string{"host", "domain", "prefix", "any"}},
		{[]string{"--scope=p"}, CompleteWords, []string{"--scope=prefix"}},
		{[]string{"--render-wait", ""}, CompleteWords, []string{"idle", "load"}},
		{[]string{"--cache", ""}, CompleteDirs, nil},
		{[]string{"--cacert", "/et"}, CompleteFiles, nil},
		{[]string{"-c", ""}, CompleteWords, nil},       // a number: nothing to offer
		{[]string{"--follow", ""}, CompleteFiles, nil}, // a switch: the next word is an input
		{[]string{"urls.txt", "--dep"}, CompleteWords, []string{"--depth"}},
		{[]string{"rep"}, CompleteFiles, []string{"report"}}, // a subcommand, or a file named so
		{[]string{"enqueue", "--t"}, CompleteWords, []string{"--to"}},
		{[]string{"enqueue", "--scope", "a"}, CompleteWords, []string{"any"}},
		{[]string{"report", "--format", ""}, CompleteWords, []string{"text", "json", "md"}},
		{[]string{"report", "--plot", "x"}, CompleteFiles, nil},
		{[]string{"completion", "z"}, CompleteWords, []string{"zsh"}},
		{[]string{"--no-such", ""}, CompleteFiles, nil},
	} {
		kind, got := Complete(c.words)
		if kind != c.kind || !slices.Equal(got, c.want) {
			t.Errorf("Complete(%q) = %s %q; want %s %q", c.words, kind, got, c.kind, c.want)
		}
	}
}

// Every flag of every command is offered after "--", and no flag's
// fixed values name a flag that does not exist.
func TestCompleteEveryFlag(t *testing.T) {
	for i, cmd := range Commands() {
		words := []string{"--"}
		if i > 0 {
			words = []string{strings.TrimPrefix(cmd.Name, "sluice "), "--"}
		}
		_, got := Complete(words)
		for _, f := range cmd.Flags() {
			if !slices.Contains(got, "--"+f.Name) {
				t.Errorf("%s: --%s is not offered", cmd.Name, f.Name)
			}
		}
	}
	all := map[string]bool{}
	for _, cmd := range Commands() {
		for _, f := range cmd.Flags() {
			all[f.Name] = true
		}
	}
	for _, names := range [][]string{fileFlags, dirFlags, mapKeys(flagWords), mapKeys(flagLists)} {
		for _, n := range names {
			if !all[n] {
				t.Errorf("completion knows of --%s, which no command has", n)
			}
		}
	}
}

func mapKeys(m map[string][]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
