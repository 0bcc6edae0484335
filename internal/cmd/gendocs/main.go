// Command gendocs writes the reference made from sluice's flag
// definitions: docs/flags.md, the man page sluice.1, and the flag tables
// of the topic pages in docs/, at the top of the tree it is run in (go run
// ./internal/cmd/gendocs). TestDocsMade checks that the files in the tree
// are what it makes.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"sluice/internal/config"
)

func main() {
	var md, man bytes.Buffer
	config.WriteFlagsMarkdown(&md)
	config.WriteManPage(&man)
	files := map[string][]byte{"docs/flags.md": md.Bytes(), "sluice.1": man.Bytes()}
	pages, err := filepath.Glob("docs/*.md")
	check(err)
	for _, p := range pages {
		if p == "docs/flags.md" {
			continue
		}
		b, err := os.ReadFile(p)
		check(err)
		filled, _, err := config.FillFlagTables(string(b))
		check(err)
		files[p] = []byte(filled)
	}
	for name, b := range files {
		check(os.WriteFile(name, b, 0o644))
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
