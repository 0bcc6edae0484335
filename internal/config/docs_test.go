package config

import (
	"bytes"
	"os"
	"testing"
)

// docs/flags.md and sluice.1 are what the flag definitions make: a flag
// changed without `go run ./internal/cmd/gendocs` fails here.
func TestDocsMade(t *testing.T) {
	var md, man bytes.Buffer
	WriteFlagsMarkdown(&md)
	WriteManPage(&man)
	for name, want := range map[string][]byte{"../../docs/flags.md": md.Bytes(), "../../sluice.1": man.Bytes()} {
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what the flag definitions make: run go run ./internal/cmd/gendocs", name)
		}
	}
}
