package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"sluice/internal/site"
)

// shBlocks are the ```sh blocks of a Markdown file, each with the line it
// starts on.
func shBlocks(t *testing.T, name string) (blocks []string, lines []int) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var cur *strings.Builder
	for i, l := range strings.Split(string(b), "\n") {
		switch {
		case cur == nil && l == "```sh":
			cur = &strings.Builder{}
			lines = append(lines, i+1)
		case cur != nil && l == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(l + "\n")
		}
	}
	return blocks, lines
}

// Every example of the README and docs/ that runs against the local test
// site (it names http://127.0.0.1:8080) is run here, as a reader would
// run it after the README's two set-up commands: in bash with pipefail,
// in an empty directory, with sluice on PATH. The site is served on a
// port of the test's, a NATS server started for the blocks that name
// nats://127.0.0.1:4222, and the lines that start those servers
// (go run ./internal/cmd/...) are left out. Each block must succeed and
// print something.
func TestDocExamples(t *testing.T) {
	t.Parallel() // waits on brokers, browsers and timers more than it computes
	needTool(t, "jq", "apt install jq")
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	bin := sluiceBin(t)
	var natsOnce sync.Once
	var natsURL string
	files, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	setUp := regexp.MustCompile(`(?m)^go (build|run) .*\n`) // the reader's set-up: the test's own binaries and servers
	ran, parent := 0, t
	for _, file := range append([]string{"README.md"}, files...) {
		blocks, lines := shBlocks(t, file)
		for i, block := range blocks {
			if !strings.Contains(block, "127.0.0.1:8080") {
				continue
			}
			ran++
			t.Run(fmt.Sprintf("%s:%d", file, lines[i]), func(t *testing.T) {
				if strings.Contains(block, "--render") {
					needTool(t, "chromium", "apt install chromium")
				}
				script := setUp.ReplaceAllString(block, "")
				if !strings.Contains(script, "127.0.0.1:8080") {
					t.Skip("set-up commands only")
				}
				if strings.Contains(script, "nats://127.0.0.1:4222") {
					natsOnce.Do(func() { natsURL = natsServer(parent, parent.TempDir(), -1).url })
					script = strings.ReplaceAll(script, "nats://127.0.0.1:4222", natsURL)
				}
				script = strings.ReplaceAll(script, "http://127.0.0.1:8080", srv.URL)
				cmd := exec.Command("bash", "-c", "set -euo pipefail\n"+script)
				cmd.Dir = t.TempDir()
				cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"), "HOME="+t.TempDir())
				var stderr strings.Builder
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("%v\n%s\nstdout:\n%s\nstderr:\n%s", err, block, out, stderr.String())
				}
				if len(out) == 0 {
					t.Errorf("printed nothing:\n%s\nstderr:\n%s", block, stderr.String())
				}
			})
		}
	}
	if ran < 20 {
		t.Errorf("%d examples ran; the README and docs/ have more", ran)
	}
}
