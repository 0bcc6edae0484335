package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"sluice/record"
)

// outputSchema compiles record/schema.json with a JSON Schema 2020-12
// validator.
func outputSchema(t *testing.T) (*jsonschema.Schema, map[string]any) {
	t.Helper()
	text, err := os.ReadFile("record/schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("record/schema.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.AssertContent() // body_base64 must decode
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("record/schema.json does not compile: %v", err)
	}
	return sch, doc.(map[string]any)
}

// TestOutputSchema: real output of every mode, through the binary, is valid
// under record/schema.json; and together the modes write every field the
// schema has, so the schema has no field the output never writes.
func TestOutputSchema(t *testing.T) {
	sch, doc := outputSchema(t)
	base := newSite(t).URL
	binary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/x-icon")
		w.Write([]byte{0, 0, 1, 0, 0xff, 0xfe})
	}))
	t.Cleanup(binary.Close)
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/", http.StatusFound)
	}))
	t.Cleanup(secure.Close)
	in := strings.Join([]string{
		base + "/",
		base + "/article/1",
		base + "/status/404",
		base + "/page/2?q=a b",
		base + "/bytes/3000",
		base + "/api/user?id=3",
		base + "/cache/max-age/1",
		binary.URL + "/favicon.ico",
		secure.URL + "/loop",
		"http://127.0.0.1:1/refused",
		"not a url",
		fmt.Sprintf(`{"url":"%s/api/echo","method":"POST","json":{"a":[1]},"headers":{"Authorization":"Bearer x"},"id":7}`, base),
		`{"url":"http://a.test/","timeout":"never"}`,
		`{"id":8}`,
	}, "\n") + "\n"
	seen := map[string]bool{}
	validate := func(args []string, lines []string) {
		for _, line := range lines {
			v, err := jsonschema.UnmarshalJSON(strings.NewReader(line))
			if err != nil {
				t.Fatalf("%q: %v: %s", args, err, line)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("%q: output does not match record/schema.json: %v\n%s", args, err, line)
			}
			for k := range v.(map[string]any) {
				seen[k] = true
			}
		}
	}
	cache := t.TempDir()
	for _, args := range [][]string{
		nil,
		{"--extract", "title,links,meta,text,headers,jsonld", "--select", "h=h1", "--select-all", "a=a@href", "--hash", "sha256,md5,mmh3"},
		{"--body", "--max-body", "1KiB", "--fail-status"},
		{"--jq", "[.. | numbers]", "--jq", "name=.name", "--jq", "bad=.name.x", "--retries", "0"},
		{"--jq", ".", "--jq-any", "--ordered"},
		{"--fields", "url,status,error", "--omit", "error"},
		{"--trace", "--tls-info", "--redirect-chain", "--max-redirects", "2"},
		{"--tls-info", "--insecure", "--redirect-chain"},
		{"--cache", cache},
		{"--cache", cache, "--cache-fresh", "--extract", "title"}, // revalidated, unchanged, fresh
		{"--warc", t.TempDir(), "--warc-cdx"},
	} {
		stdout, stderr, code := runSluice(t, in, append([]string{"--retries", "0"}, args...)...)
		if code != 0 {
			t.Fatalf("%q: exit %d, %s", args, code, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if len(lines) != strings.Count(in, "\n") {
			t.Fatalf("%q: %d lines out for %d in", args, len(lines), strings.Count(in, "\n"))
		}
		validate(args, lines)
	}
	// A crawl: depth, parent, and a redirect's location.
	crawl := []string{"--follow", "--depth", "1"}
	stdout, stderr, code := runSluice(t, base+"/g/20/7\n", crawl...)
	if code != 0 {
		t.Fatalf("%q: exit %d, %s", crawl, code, stderr)
	}
	validate(crawl, strings.Split(strings.TrimSuffix(stdout, "\n"), "\n"))
	// Rendered pages: one done, one whose 50 requests outlast the timeout.
	needTool(t, "chromium", "apt install chromium")
	render := []string{"--render", "--trace", "--extract", "title", "--render-timeout", "1s"}
	stdout, stderr, code = runSluice(t, base+"/app/\n"+base+"/app/xhr/1000\n", render...)
	if code != 0 || !strings.Contains(stdout, `"timed_out":true`) {
		t.Fatalf("%q: exit %d, %s\n%s", render, code, stderr, stdout)
	}
	validate(render, strings.Split(strings.TrimSuffix(stdout, "\n"), "\n"))
	for name := range doc["properties"].(map[string]any) {
		if !seen[name] {
			t.Errorf("no mode wrote %q: a mode is missing here, or the schema has a field sluice never writes", name)
		}
	}
}

// TestSchemaMatchesDocs: the schema's fields are record.Fields (the names
// --fields and --omit take) and docs/output.md's field table, each way;
// its error kinds are that page's kinds table.
func TestSchemaMatchesDocs(t *testing.T) {
	_, doc := outputSchema(t)
	var schemaFields []string
	for name := range doc["properties"].(map[string]any) {
		schemaFields = append(schemaFields, name)
	}
	kinds := doc["properties"].(map[string]any)["error"].(map[string]any)["properties"].(map[string]any)["kind"].(map[string]any)["enum"].([]any)
	var schemaKinds []string
	for _, k := range kinds {
		schemaKinds = append(schemaKinds, k.(string))
	}
	page, err := os.ReadFile("docs/output.md")
	if err != nil {
		t.Fatal(err)
	}
	output := section(t, string(page), "## Records and their fields")
	fieldTable, kindTable, _ := strings.Cut(output, "Error kinds")
	same(t, "record/schema.json fields", schemaFields, "record.Fields", record.Fields)
	same(t, "record/schema.json fields", schemaFields, "docs/output.md's field table", firstColumn(fieldTable))
	same(t, "record/schema.json error kinds", schemaKinds, "docs/output.md's kinds table", firstColumn(kindTable))
}

// section returns a page's text from heading to the next heading of its
// level.
func section(t *testing.T, text, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(text, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("the page has no %q", heading)
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// firstColumn returns the `names` in the first column of a Markdown table's
// rows ("`body` / `body_base64`" gives both).
func firstColumn(table string) []string {
	var names []string
	name := regexp.MustCompile("`([a-z_0-9]+)`")
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cell := strings.Split(line, "|")[1]
		for _, m := range name.FindAllStringSubmatch(cell, -1) {
			names = append(names, m[1])
		}
	}
	return names
}

func same(t *testing.T, aName string, a []string, bName string, b []string) {
	t.Helper()
	for _, x := range a {
		if !slices.Contains(b, x) {
			t.Errorf("%s has %q; %s does not", aName, x, bName)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			t.Errorf("%s has %q; %s does not", bName, x, aName)
		}
	}
}

func TestOutputSchemaRejects(t *testing.T) {
	sch, _ := outputSchema(t)
	for _, bad := range []string{
		`{"url":"x"}`,
		`{"seq":0}`,
		`{"seq":1,"nope":1}`,
		`{"seq":1,"error":{"kind":"weird","message":""}}`,
		`{"seq":1,"body":"a","body_base64":"YQ=="}`,
		`{"seq":1,"hash":{"md5":"xyz"}}`,
		`{"seq":1,"truncated":false}`,
	} {
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if sch.Validate(v) == nil {
			t.Errorf("the schema accepts %s", bad)
		}
	}
}
