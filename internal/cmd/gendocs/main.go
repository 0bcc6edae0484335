// Command gendocs writes the reference made from sluice's flag
// definitions: docs/flags.md and the man page sluice.1, at the top of the
// tree it is run in (go run ./internal/cmd/gendocs). TestDocsMade checks
// that the files in the tree are what it makes.
package main

import (
	"bytes"
	"fmt"
	"os"

	"sluice/internal/config"
)

func main() {
	var md, man bytes.Buffer
	config.WriteFlagsMarkdown(&md)
	config.WriteManPage(&man)
	for name, b := range map[string][]byte{"docs/flags.md": md.Bytes(), "sluice.1": man.Bytes()} {
		if err := os.WriteFile(name, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gendocs:", err)
			os.Exit(1)
		}
	}
}
