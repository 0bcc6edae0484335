package config

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// docs/flags.md, sluice.1 and the flag tables of the topic pages are what
// the flag definitions make: a flag changed without `go run
// ./internal/cmd/gendocs` fails here. Every group of sluice's flags, and
// enqueue's, ends some topic page.
func TestDocsMade(t *testing.T) {
	var md, man bytes.Buffer
	WriteFlagsMarkdown(&md)
	WriteManPage(&man)
	want := map[string][]byte{"../../docs/flags.md": md.Bytes(), "../../sluice.1": man.Bytes()}
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	var named []string
	for _, p := range pages {
		if filepath.Base(p) == "flags.md" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		filled, groups, err := FillFlagTables(string(b))
		if err != nil {
			t.Errorf("%s: %v", p, err)
		}
		want[p], named = []byte(filled), append(named, groups...)
	}
	for name, w := range want {
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, w) {
			t.Errorf("%s is not what the flag definitions make: run go run ./internal/cmd/gendocs", name)
		}
	}
	cmds := Commands()
	for _, g := range append(cmds[0].Groups, Group{Title: "sluice enqueue"}) {
		if !slices.Contains(named, g.Title) {
			t.Errorf("no page of docs/ ends with the flags of %q", g.Title)
		}
	}
}
