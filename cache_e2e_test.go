package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// cacheRun runs the binary with --cache DIR and args over urls, --ordered,
// and returns each record as a map, and stderr.
func cacheRun(t *testing.T, dir string, urls []string, args ...string) ([]map[string]any, string) {
	t.Helper()
	args = append([]string{"--cache", dir, "--ordered"}, args...)
	stdout, stderr, code := runSluice(t, strings.Join(urls, "\n")+"\n", args...)
	if code != 0 {
		t.Fatalf("sluice %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		recs = append(recs, m)
	}
	if len(recs) != len(urls) {
		t.Fatalf("%d records for %d URLs", len(recs), len(urls))
	}
	return recs, stderr
}

// The daily re-run: the first run finds nothing kept; the second asks
// each page whether it changed, and is told so by 304s, except for the
// page that changed, the page without validators (answered in full, the
// same), and the no-store page (never kept). Extraction of a revalidated
// page is the same as of the downloaded one. With --cache-fresh, pages
// still fresh are not asked for at all.
func TestCacheRevalidates(t *testing.T) {
	base := newSite(t).URL
	kinds := []string{"etag", "modified", "both", "neither", "no-store", "max-age", "changing"}
	var urls []string
	for _, k := range kinds {
		urls = append(urls, base+"/cache/"+k+"/1")
	}
	dir := t.TempDir()
	extract := []string{"--extract", "title,links,headers", "--hash", "sha256", "--stats", "--stats-json", filepath.Join(dir, "stats.json")}
	first, _ := cacheRun(t, filepath.Join(dir, "c"), urls, extract...)
	second, stderr := cacheRun(t, filepath.Join(dir, "c"), urls, extract...)
	third, _ := cacheRun(t, filepath.Join(dir, "c"), urls, "--cache-fresh")
	want := map[string][3]string{
		"etag":     {"miss", "revalidated", "revalidated"},
		"modified": {"miss", "revalidated", "fresh"}, // heuristic: a tenth of its age, up to a day
		"both":     {"miss", "revalidated", "fresh"},
		"neither":  {"miss", "unchanged", "unchanged"},
		"no-store": {"miss", "miss", "miss"},
		"max-age":  {"miss", "revalidated", "fresh"},
		"changing": {"miss", "changed", "changed"},
	}
	for i, k := range kinds {
		got := [3]string{}
		for run, recs := range [][]map[string]any{first, second, third} {
			got[run], _ = recs[i]["cache"].(string)
			if recs[i]["status"] != 200.0 {
				t.Errorf("%s, run %d: status %v", k, run+1, recs[i]["status"])
			}
		}
		if got != want[k] {
			t.Errorf("%s: cache %v; want %v", k, got, want[k])
		}
	}
	// Downloaded and revalidated: the same record, but for the cache and
	// timing fields, and the Date header of the new answer (a second may
	// have passed between the runs).
	for i, k := range kinds[:3] {
		a, b := first[i], second[i]
		for _, m := range []map[string]any{a, b} {
			for _, f := range []string{"cache", "elapsed_ms", "seq"} {
				delete(m, f)
			}
			delete(m["headers"].(map[string]any), "date") // --extract headers writes names in lower case
		}
		if ja, jb := mustJSON(t, a), mustJSON(t, b); ja != jb {
			t.Errorf("%s: downloaded %s\nrevalidated %s", k, ja, jb)
		}
	}
	if !strings.Contains(stderr, "cache fresh=0 revalidated=4 changed=1 unchanged=1 stale=0 miss=1") {
		t.Errorf("--stats: %s", stderr)
	}
	var stats struct{ Cache map[string]int64 }
	raw, _ := os.ReadFile(filepath.Join(dir, "stats.json"))
	if err := json.Unmarshal(raw, &stats); err != nil || stats.Cache["revalidated"] != 4 || stats.Cache["bytes_saved"] < 4*1024 {
		t.Errorf("--stats-json: %v, %s", err, raw)
	}
	if third[5]["attempts"] != nil || third[5]["title"] != nil {
		t.Errorf("a fresh record: %v; want no attempts and no body fields without --extract", third[5])
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A HEAD's answer, which has no body, is kept apart from the GET's: a
// GET after it is a miss with the page's title, and each is revalidated
// by its own kind the next time.
func TestCacheHeadApart(t *testing.T) {
	url := newSite(t).URL + "/cache/etag/1"
	dir := t.TempDir()
	head, _ := cacheRun(t, dir, []string{url}, "-X", "HEAD")
	get, _ := cacheRun(t, dir, []string{url}, "--extract", "title")
	again, _ := cacheRun(t, dir, []string{url}, "--extract", "title")
	if head[0]["cache"] != "miss" || get[0]["cache"] != "miss" || get[0]["title"] != "Cached etag 1" ||
		again[0]["cache"] != "revalidated" || again[0]["title"] != "Cached etag 1" {
		t.Errorf("HEAD %v\nGET %v\nGET again %v", head[0], get[0], again[0])
	}
}

// SIGKILL mid-run leaves a cache that opens and holds the response of
// every record written before the kill: the next run revalidates them.
func TestCacheKilled(t *testing.T) {
	base := newSite(t).URL
	dir := t.TempDir()
	s := startSluice(t, "--cache", dir, "-c", "4", "--fields", "url,cache")
	const before = 200
	go func() { // more than it takes before the kill: it is killed while storing
		for i := range 20 * before {
			if _, err := fmt.Fprintf(s.stdin, "%s/cache/etag/%d?kb=20\n", base, i); err != nil {
				return // killed
			}
		}
	}()
	waitFor(t, "the records before the kill", func() bool { return strings.Count(s.output(), "\n") >= before })
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.wait(t)
	written := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(s.output(), "\n"), "\n") {
		var r struct{ URL, Cache string }
		if err := json.Unmarshal([]byte(line), &r); err == nil && r.Cache == "miss" {
			written[r.URL] = true
		}
	}
	var urls []string
	for u := range written {
		urls = append(urls, u)
	}
	recs, _ := cacheRun(t, dir, urls)
	for _, r := range recs {
		if r["cache"] != "revalidated" {
			t.Errorf("%v after the kill: cache %v; want revalidated", r["url"], r["cache"])
		}
	}
}

// A second sluice on the same directory fails at once, naming the lock;
// with --cache-wait it waits for the first to end, then runs.
func TestCacheLocked(t *testing.T) {
	base := newSite(t).URL
	dir := t.TempDir()
	first := startSluice(t, "--cache", dir)
	fmt.Fprintf(first.stdin, "%s/cache/etag/1\n", base)
	waitFor(t, "the first run's record", func() bool { return strings.Contains(first.output(), "miss") })
	_, stderr, code := runSluice(t, base+"/cache/etag/1\n", "--cache", dir)
	if code != 1 || !strings.Contains(stderr, "in use by another sluice") || strings.Contains(stderr, "panic") {
		t.Errorf("second run: exit %d: %s; want 1 and the lock named", code, stderr)
	}
	waiting := startSluice(t, "--cache", dir, "--cache-wait")
	fmt.Fprintf(waiting.stdin, "%s/cache/etag/1\n", base)
	waiting.stdin.Close()
	first.stdin.Close()
	first.wait(t)
	waiting.wait(t)
	if !strings.Contains(waiting.output(), `"cache":"revalidated"`) {
		t.Errorf("the waiting run: %s", waiting.output())
	}
}

// Under --cache-max the least recently used responses go: run over 30
// pages of 100 KiB in order with 1 MiB kept, the next run finds the
// first ones gone and the last ones kept.
func TestCacheEvicts(t *testing.T) {
	base := newSite(t).URL
	var urls []string
	for i := range 30 {
		urls = append(urls, fmt.Sprintf("%s/cache/etag/%d?kb=100", base, i))
	}
	dir := t.TempDir()
	cacheRun(t, dir, urls, "-c", "1", "--cache-max", "1MiB")
	recs, stderr := cacheRun(t, dir, urls[:5], "-c", "1", "--cache-max", "1MiB", "--stats")
	for _, r := range recs {
		if r["cache"] != "miss" {
			t.Errorf("%v: %v; want miss (evicted)", r["url"], r["cache"])
		}
	}
	recs, _ = cacheRun(t, dir, urls[len(urls)-5:], "-c", "1", "--cache-max", "1MiB")
	for _, r := range recs {
		if r["cache"] != "revalidated" {
			t.Errorf("%v: %v; want revalidated (kept)", r["url"], r["cache"])
		}
	}
	var n, size int
	if i := strings.Index(stderr, "kept="); i < 0 {
		t.Fatalf("--stats: %s", stderr)
	} else if _, err := fmt.Sscanf(stderr[i:], "kept=%d entries, %d bytes", &n, &size); err != nil || size > 1<<20 || n < 8 {
		t.Errorf("kept %d entries, %d bytes (%v); want at most 1 MiB, 8 or more", n, size, err)
	}
}

// A damaged or foreign file is an error naming it, and exit 1, never a
// panic; a write that fails (here a file-size limit, as a full disk) is
// one warning, and the run goes on with every record.
func TestCacheFaults(t *testing.T) {
	base := newSite(t).URL
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "sluice-cache.db"), []byte(strings.Repeat("garbage ", 4096)), 0o600)
	_, stderr, code := runSluice(t, base+"/cache/etag/1\n", "--cache", dir)
	if code != 1 || !strings.Contains(stderr, "sluice-cache.db") || strings.Contains(stderr, "panic") {
		t.Errorf("garbage file: exit %d: %s", code, stderr)
	}

	full := t.TempDir()
	var in strings.Builder
	for i := range 40 {
		fmt.Fprintf(&in, "%s/cache/etag/%d?kb=50\n", base, i)
	}
	cmd := fmt.Sprintf("ulimit -f 256; exec %s --cache %s", sluiceBin(t), full)
	stdout, stderr, code := runCmd(t, in.String(), "bash", "-c", cmd)
	if code != 0 || strings.Count(stdout, `"cache":"miss"`) != 40 || strings.Count(stderr, "nothing more is stored") != 1 {
		t.Errorf("writes failing: exit %d, %d records, stderr %s", code, strings.Count(stdout, "\n"), stderr)
	}
}

// A retried record counts once in --stats, by how it ended.
func TestCacheCountsRetriedOnce(t *testing.T) {
	h := newHost(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("ETag", `"v"`)
		io.WriteString(w, "page")
	})
	recs, stderr := cacheRun(t, t.TempDir(), []string{h.URL + "/"}, "--retries", "1", "--retry-base", "1ms", "--stats")
	if recs[0]["cache"] != "miss" || recs[0]["attempts"] != 2.0 || !strings.Contains(stderr, "revalidated=0 changed=0 unchanged=0 stale=0 miss=1 ") {
		t.Errorf("record %v; stats %s", recs[0], stderr)
	}
}

// TestCacheRFC9111 runs the RFC 9111 rules the cache-tests suite found
// missing through the binary, as a user re-runs it: a kept response used
// without a request says its Age and leaves out what Connection named; a
// POST forgets what was kept of its URL; only-if-cached answers 504
// without asking; a response kept for other Vary values is revalidated
// with its ETag instead of fetched again; with --cache-stale-if-error a
// failing origin is answered from the cache (cache: stale); two variants
// of one URL are both kept.
func TestCacheRFC9111(t *testing.T) {
	var mu sync.Mutex
	asked := map[string]int{}
	failing := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked[r.Method+" "+r.URL.Path]++
		fail := failing
		mu.Unlock()
		h := w.Header()
		switch r.URL.Path {
		case "/age":
			h.Set("Cache-Control", "max-age=600")
			h.Set("Age", "30")
			h.Set("Connection", "X-Hop")
			h.Set("X-Hop", "1")
		case "/inval":
			h.Set("Cache-Control", "max-age=600")
		case "/vary":
			h.Set("Vary", "Accept-Language")
			h.Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		case "/variants":
			h.Set("Vary", "Accept-Language")
			h.Set("Cache-Control", "max-age=600")
			fmt.Fprintln(w, "in", r.Header.Get("Accept-Language"))
			return
		case "/flaky":
			if fail { // an error page without freshness: not kept in place of the good one
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			h.Set("Cache-Control", "max-age=0")
		}
		fmt.Fprintln(w, "body of", r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	dir := filepath.Join(t.TempDir(), "c")
	u := func(p string) string { return srv.URL + p }
	cacheRun(t, dir, []string{u("/age"), u("/inval"), u("/flaky")}, "--retries", "0")
	recs, _ := cacheRun(t, dir, []string{u("/age"), u("/inval")}, "--cache-fresh", "--extract", "headers")
	headers, _ := recs[0]["headers"].(map[string]any)
	if recs[0]["cache"] != "fresh" || headers["age"] != "30" && headers["age"] != "31" || headers["x-hop"] != nil || headers["connection"] != nil {
		t.Errorf("fresh record: cache %v, headers %v; want an Age of 30 (or 31), no Connection or X-Hop", recs[0]["cache"], headers)
	}

	post := fmt.Sprintf(`{"url":%q,"method":"POST","body":"x"}`, u("/inval"))
	cacheRun(t, dir, []string{post})
	recs, _ = cacheRun(t, dir, []string{u("/inval")}, "--cache-fresh")
	if recs[0]["cache"] != "miss" || asked["GET /inval"] != 2 {
		t.Errorf("after a POST: cache %v, %d GETs; want the kept response forgotten: a miss, the second GET", recs[0]["cache"], asked["GET /inval"])
	}

	only := fmt.Sprintf(`{"url":%q,"headers":{"Cache-Control":"only-if-cached"}}`, u("/never"))
	recs, _ = cacheRun(t, dir, []string{only})
	if recs[0]["status"] != 504.0 || asked["GET /never"] != 0 {
		t.Errorf("only-if-cached, nothing kept: status %v, %d requests; want 504 and none", recs[0]["status"], asked["GET /never"])
	}

	cacheRun(t, dir, []string{u("/vary")}, "-H", "Accept-Language: en")
	recs, _ = cacheRun(t, dir, []string{u("/vary")}, "-H", "Accept-Language: fr", "--body")
	if recs[0]["cache"] != "revalidated" || recs[0]["status"] != 200.0 || recs[0]["body"] != "body of /vary\n" {
		t.Errorf("another Accept-Language: %v; want revalidated with the ETag, the kept body", recs[0])
	}

	for _, lang := range []string{"en", "fr"} {
		cacheRun(t, dir, []string{u("/variants")}, "-H", "Accept-Language: "+lang)
	}
	for _, lang := range []string{"en", "fr"} {
		recs, _ = cacheRun(t, dir, []string{u("/variants")}, "-H", "Accept-Language: "+lang, "--cache-fresh", "--body")
		if recs[0]["cache"] != "fresh" || recs[0]["body"] != "in "+lang+"\n" {
			t.Errorf("variant %s: %v; want it kept beside the other, fresh", lang, recs[0])
		}
	}

	mu.Lock()
	failing = true
	mu.Unlock()
	recs, _ = cacheRun(t, dir, []string{u("/flaky")}, "--retries", "0")
	if recs[0]["status"] != 503.0 || recs[0]["cache"] != "changed" {
		t.Errorf("failing origin, no stale allowed: %v; want the 503, cache changed", recs[0])
	}
	recs, stderr := cacheRun(t, dir, []string{u("/flaky")}, "--retries", "0", "--cache-stale-if-error", "1h", "--body", "--stats")
	if recs[0]["status"] != 200.0 || recs[0]["cache"] != "stale" || recs[0]["body"] != "body of /flaky\n" || recs[0]["error"] != nil {
		t.Errorf("failing origin, --cache-stale-if-error 1h: %v; want the kept 200, cache stale", recs[0])
	}
	if !strings.Contains(stderr, " stale=1 ") {
		t.Errorf("--stats does not count the stale record:\n%s", stderr)
	}
}
