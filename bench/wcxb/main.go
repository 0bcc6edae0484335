// Command wcxb scores main-content extraction on the WCXB development
// pages (../shared/testdata/wcxb-dev) with the benchmark's own metric:
// word-bag F1 per page (lowercased \w+ tokens, counted with multiplicity),
// averaged over pages, overall and per page type. It serves the pages on
// loopback, runs the built sluice binary over them (-extract names the
// field: text, or content), and runs go-trafilatura and go-readability
// in process on the same pages, so that the figures of one run compare.
// It also counts how often each gets the author and the date right, and
// the CPU seconds each spent. Not part of CI: bench/wcxb.sh runs it.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	readability "codeberg.org/readeck/go-readability/v2"
	trafilatura "github.com/markusmobius/go-trafilatura"
)

type page struct {
	id, kind, url string
	html          []byte
	truth         struct {
		Title       *string `json:"title"`
		Author      *string `json:"author"`
		PublishDate *string `json:"publish_date"`
		MainContent string  `json:"main_content"`
	}
}

// result is one extractor's answer for a page.
type result struct {
	text, author, date string
}

func main() {
	data := flag.String("data", "../shared/testdata/wcxb-dev", "the WCXB development split")
	bin := flag.String("sluice", "", "the sluice binary")
	field := flag.String("extract", "text", "the --extract field that holds the page's text")
	limit := flag.Int("n", 0, "pages at most (0: all)")
	misses := flag.String("misses", "", "list the pages whose author or date this extractor got wrong (go-trafilatura, sluice...)")
	flag.Parse()
	pages, err := load(*data, *limit)
	if err != nil {
		fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	byPath := map[string]*page{}
	for _, p := range pages {
		byPath["/"+p.id] = p
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := byPath[r.URL.Path]
		if p == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(p.html)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	answers := map[string]map[string]result{}
	cpu := map[string]float64{}
	if *bin != "" {
		answers["sluice"], cpu["sluice"], err = runSluice(*bin, *field, base, pages)
		if err != nil {
			fail(err)
		}
	}
	answers["go-trafilatura"], cpu["go-trafilatura"] = inProcess(pages, trafilaturaOf)
	answers["go-readability"], cpu["go-readability"] = inProcess(pages, readabilityOf)
	report(pages, answers, cpu)
	if *misses != "" {
		listMisses(pages, answers[*misses], answers["go-trafilatura"])
	}
}

// listMisses prints the pages whose author or date got is wrong, with the
// truth and what go-trafilatura said.
func listMisses(pages []*page, got, ref map[string]result) {
	str := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	for _, p := range pages {
		a := got[p.id]
		if str(p.truth.PublishDate) != "" && !sameDay(a.date, p.truth.PublishDate) {
			fmt.Printf("date %s %s: want %q got %q (trafilatura %q)\n", p.id, p.kind, str(p.truth.PublishDate), a.date, ref[p.id].date)
		}
		if str(p.truth.Author) != "" && !sameName(a.author, p.truth.Author) {
			fmt.Printf("author %s %s: want %q got %q (trafilatura %q)\n", p.id, p.kind, str(p.truth.Author), a.author, ref[p.id].author)
		}
	}
}

func load(dir string, limit int) ([]*page, error) {
	files, err := filepath.Glob(filepath.Join(dir, "dev", "ground-truth", "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	if limit > 0 && len(files) > limit {
		files = files[:limit]
	}
	var pages []*page
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var gt struct {
			URL      string `json:"url"`
			Internal struct {
				PageType struct {
					Primary string `json:"primary"`
				} `json:"page_type"`
			} `json:"_internal"`
			GroundTruth json.RawMessage `json:"ground_truth"`
		}
		if err := json.Unmarshal(b, &gt); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		p := &page{id: strings.TrimSuffix(filepath.Base(f), ".json"), kind: gt.Internal.PageType.Primary, url: gt.URL}
		if err := json.Unmarshal(gt.GroundTruth, &p.truth); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		z, err := os.Open(filepath.Join(dir, "dev", "html", p.id+".html.gz"))
		if err != nil {
			return nil, err
		}
		r, err := gzip.NewReader(z)
		if err == nil {
			p.html, err = io.ReadAll(r)
		}
		z.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.id, err)
		}
		pages = append(pages, p)
	}
	return pages, nil
}

// runSluice fetches every page through the binary, with --extract field
// and meta, and returns its answers and the CPU seconds it used.
func runSluice(bin, field, base string, pages []*page) (map[string]result, float64, error) {
	var in bytes.Buffer
	for _, p := range pages {
		fmt.Fprintf(&in, "%s/%s\n", base, p.id)
	}
	cmd := exec.Command(bin, "--extract", field+",meta", "--text-max", "10MB", "-c", "8")
	cmd.Stdin = &in
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, 0, fmt.Errorf("sluice: %w", err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	secs := tv(ru.Utime) + tv(ru.Stime)
	answers := map[string]result{}
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, 0, err
		}
		u, _ := rec["url"].(string)
		id := u[strings.LastIndexByte(u, '/')+1:]
		text, _ := rec[field].(string)
		meta, _ := rec["meta"].(map[string]any)
		author, _ := meta["author"].(string)
		date, _ := meta["published"].(string)
		answers[id] = result{text: text, author: author, date: date}
	}
	return answers, secs, sc.Err()
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// inProcess runs extract over every page and returns its answers and the
// CPU seconds of this process that it used.
func inProcess(pages []*page, extract func(*page) result) (map[string]result, float64) {
	answers := map[string]result{}
	before := cpuNow()
	for _, p := range pages {
		answers[p.id] = extract(p)
	}
	return answers, cpuNow() - before
}

func cpuNow() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return tv(ru.Utime) + tv(ru.Stime)
}

func trafilaturaOf(p *page) result {
	u, _ := url.Parse(p.url)
	res, err := trafilatura.Extract(bytes.NewReader(p.html), trafilatura.Options{OriginalURL: u, EnableFallback: true})
	if err != nil || res == nil {
		return result{}
	}
	r := result{text: res.ContentText, author: res.Metadata.Author}
	if !res.Metadata.Date.IsZero() {
		r.date = res.Metadata.Date.Format("2006-01-02")
	}
	return r
}

func readabilityOf(p *page) result {
	u, _ := url.Parse(p.url)
	art, err := readability.FromReader(bytes.NewReader(p.html), u)
	if err != nil {
		return result{}
	}
	var b strings.Builder
	if err := art.RenderText(&b); err != nil {
		return result{}
	}
	r := result{text: b.String(), author: art.Byline()}
	if t, err := art.PublishedTime(); err == nil && !t.IsZero() {
		r.date = t.Format("2006-01-02")
	}
	return r
}

var word = regexp.MustCompile(`[\p{L}\p{N}_]+`)

// bag is text's lowercased \w+ tokens, counted.
func bag(text string) map[string]int {
	b := map[string]int{}
	for _, w := range word.FindAllString(strings.ToLower(text), -1) {
		b[w]++
	}
	return b
}

// f1 is the benchmark's word-bag F1 of got against want.
func f1(got, want string) float64 {
	g, w := bag(got), bag(want)
	ng, nw := 0, 0
	for _, n := range g {
		ng += n
	}
	for _, n := range w {
		nw += n
	}
	if nw == 0 {
		if ng == 0 {
			return 1
		}
		return 0
	}
	if ng == 0 {
		return 0
	}
	common := 0
	for t, n := range g {
		common += min(n, w[t])
	}
	if common == 0 {
		return 0
	}
	p, r := float64(common)/float64(ng), float64(common)/float64(nw)
	return 2 * p * r / (p + r)
}

// sameName reports whether an extracted author names the one expected.
func sameName(got string, want *string) bool {
	if want == nil || *want == "" {
		return false
	}
	g, w := strings.ToLower(strings.TrimSpace(got)), strings.ToLower(strings.TrimSpace(*want))
	return g != "" && (strings.Contains(g, w) || strings.Contains(w, g))
}

// sameDay reports whether an extracted date is the expected day.
func sameDay(got string, want *string) bool {
	if want == nil || len(*want) < 10 || len(got) < 10 {
		return false
	}
	return got[:10] == (*want)[:10]
}

func report(pages []*page, answers map[string]map[string]result, cpu map[string]float64) {
	tools := make([]string, 0, len(answers))
	for t := range answers {
		tools = append(tools, t)
	}
	sort.Strings(tools)
	kinds := []string{"article", "forum", "product", "collection", "listing", "documentation", "service"}
	count := map[string]int{}
	for _, p := range pages {
		count[p.kind]++
	}
	fmt.Printf("WCXB dev, %d pages, %s\n\n", len(pages), time.Now().Format("2006-01-02"))
	fmt.Printf("| extractor | F1 | %s | author right | date right | CPU s |\n", strings.Join(kinds, " | "))
	fmt.Printf("|---|---|%s---|---|---|\n", strings.Repeat("---|", len(kinds)))
	withAuthor, withDate := 0, 0
	for _, p := range pages {
		if p.truth.Author != nil && *p.truth.Author != "" {
			withAuthor++
		}
		if p.truth.PublishDate != nil && len(*p.truth.PublishDate) >= 10 {
			withDate++
		}
	}
	for _, t := range tools {
		sum, by := 0.0, map[string]float64{}
		authors, dates := 0, 0
		for _, p := range pages {
			a := answers[t][p.id]
			s := f1(a.text, p.truth.MainContent)
			sum += s
			by[p.kind] += s
			if sameName(a.author, p.truth.Author) {
				authors++
			}
			if sameDay(a.date, p.truth.PublishDate) {
				dates++
			}
		}
		cells := make([]string, len(kinds))
		for i, k := range kinds {
			cells[i] = fmt.Sprintf("%.3f", by[k]/float64(max(1, count[k])))
		}
		fmt.Printf("| %s | %.3f | %s | %d of %d | %d of %d | %.1f |\n", t, sum/float64(len(pages)), strings.Join(cells, " | "),
			authors, withAuthor, dates, withDate, cpu[t])
	}
	fmt.Printf("\npages by type:")
	for _, k := range kinds {
		fmt.Printf(" %s %d", k, count[k])
	}
	fmt.Println()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "wcxb:", err)
	os.Exit(1)
}
