package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A first run killed with SIGKILL, its output ending in a partial line;
// then `sluice --resume out.ndjson < in >> out.ndjson`: the file ends with
// every seq finished exactly once, nothing glued to the partial line, and
// only the missing records fetched again.
func TestResumeAfterKill(t *testing.T) {
	srv := newSlowServer(t, 0)
	slow := newSlowServer(t, time.Hour)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out.ndjson")
	var b strings.Builder
	for i := range 60 {
		if i%3 == 2 {
			fmt.Fprintf(&b, "%s/%d\n", slow.URL, i) // never finishes in the first run
		} else {
			fmt.Fprintf(&b, "%s/%d\n", srv.URL, i)
		}
	}
	os.WriteFile(in, []byte(b.String()), 0o644)

	// First run: the fast two thirds finish, then SIGKILL.
	f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	first := exec.Command(sluiceBin(t), "-c", "30", "--host-concurrency", "30", in)
	first.Stdout = f
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "20 requests hanging", func() bool { return slow.inFlight.Load() == 20 })
	waitFor(t, "40 records written", func() bool {
		data, _ := os.ReadFile(out)
		return strings.Count(string(data), "\n") >= 40
	})
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	f.Close()
	// As if the kill had landed mid-write: a partial line at the end.
	f, _ = os.OpenFile(out, os.O_WRONLY|os.O_APPEND, 0o644)
	f.WriteString(`{"seq":41,"url":"http://partial`)
	f.Close()

	// Second run, resuming; the slow server answers at once now.
	slow.Close()
	fixed := newSlowServer(t, 0)
	again := strings.ReplaceAll(b.String(), slow.URL, fixed.URL)
	os.WriteFile(in, []byte(again), 0o644)
	f, _ = os.OpenFile(out, os.O_WRONLY|os.O_APPEND, 0o644)
	second := exec.Command(sluiceBin(t), "--resume", out, "--stats", in)
	second.Stdout = f
	var stderr strings.Builder
	second.Stderr = &stderr
	if err := second.Run(); err != nil {
		t.Fatalf("resumed run: %v\n%s", err, stderr.String())
	}
	f.Close()

	data, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	seen := map[int64]int{}
	partial := 0
	for _, line := range lines {
		var r outRecord
		if json.Unmarshal([]byte(line), &r) != nil {
			partial++
			if line != `{"seq":41,"url":"http://partial` {
				t.Errorf("an unreadable line other than the partial one: %q", line)
			}
			continue
		}
		seen[r.Seq]++
	}
	if partial != 1 {
		t.Errorf("%d unreadable lines; want just the partial one, on a line of its own", partial)
	}
	for seq := int64(1); seq <= 60; seq++ {
		if seen[seq] != 1 {
			t.Errorf("seq %d appears %d times in the file; want once", seq, seen[seq])
		}
	}
	if !strings.Contains(stderr.String(), "40 skipped as done before (--resume)") {
		t.Errorf("stats do not count the 40 resumed records:\n%s", stderr.String())
	}
}

// --unique fetches and writes each URL once; --stats-json says what
// happened.
func TestUniqueAndStatsJSON(t *testing.T) {
	srv := newSite(t)
	statsFile := filepath.Join(t.TempDir(), "stats.json")
	in := strings.Repeat(srv.URL+"/page/1\n"+srv.URL+"/page/2\n", 5) + "not a url\nnot a url\n"
	stdout, stderr, code := runSluice(t, in, "--unique", "--stats-json", statsFile)
	recs := parseOutputLoose(t, stdout)
	if code != 0 || stderr != "" || len(recs) != 4 {
		t.Fatalf("exit %d, stderr %q, %d records; want 0, nothing, 4 (2 URLs once, 2 invalid lines)", code, stderr, len(recs))
	}
	var stats struct {
		Records struct {
			Read, Written int64
			Skipped       map[string]int64
		}
		Total struct{ Requests int64 }
		Hosts map[string]struct{ Statuses map[string]int64 }
	}
	data, err := os.ReadFile(statsFile)
	if err != nil || json.Unmarshal(data, &stats) != nil {
		t.Fatalf("--stats-json file: %v\n%s", err, data)
	}
	if stats.Records.Read != 12 || stats.Records.Written != 4 || stats.Records.Skipped["duplicate"] != 8 || stats.Total.Requests != 2 {
		t.Errorf("stats = %+v; want 12 read, 4 written, 8 duplicates, 2 requests", stats)
	}
}

// parseOutputLoose parses lines whose seqs may have gaps (skipped records).
func parseOutputLoose(t *testing.T, stdout string) []outRecord {
	t.Helper()
	var recs []outRecord
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var r outRecord
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		recs = append(recs, r)
	}
	return recs
}
