package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// robotsHost serves robots.txt with status and body, 200 elsewhere, and
// counts the robots.txt requests.
func robotsHost(t *testing.T, status int, body string) (*host, *atomic.Int64) {
	var asked atomic.Int64
	h := newHost(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			asked.Add(1)
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}
	})
	return h, &asked
}

// TestRobotsEndToEnd: with --robots each host's robots.txt is asked once;
// its rules, for sluice's product token, decide what is fetched; a 4xx
// allows everything, a 5xx and an unreachable host disallow everything,
// each as an error of kind robots with no attempt.
func TestRobotsEndToEnd(t *testing.T) {
	rules, rulesAsked := robotsHost(t, 200, "User-agent: *\nDisallow: /\n\nUser-agent: sluice\nDisallow: /private\nAllow: /private/ok$\nDisallow: /*.pdf$\n")
	gone, goneAsked := robotsHost(t, 404, "")
	down, downAsked := robotsHost(t, 503, "")
	paths := []string{"/", "/private/x", "/private/ok", "/private/ok/more", "/doc.pdf", "/doc.pdf?x=1"}
	var in strings.Builder
	for _, h := range []*host{rules, gone, down} {
		for _, p := range paths {
			in.WriteString(h.URL + p + "\n")
		}
	}
	in.WriteString("http://127.0.0.1:1/page\n")
	recs, _ := runOK(t, in.String(), "--robots", "--ordered", "--retries", "0")
	want := []string{
		"", "robots", "", "robots", "robots", "", // the sluice group of rules
		"", "", "", "", "", "", // robots.txt 404: everything allowed
		"robots", "robots", "robots", "robots", "robots", "robots", // robots.txt 503
		"robots", // unreachable
	}
	for i, r := range recs {
		if r.kind() != want[i] || (want[i] == "robots") != (r.Attempts == 0) {
			t.Errorf("%s: kind %q, %d attempts; want %q", r.URL, r.kind(), r.Attempts, want[i])
		}
	}
	if !strings.Contains(recs[12].Error.Message, "could not be read (HTTP 503)") || !strings.Contains(recs[18].Error.Message, "could not be read (connect)") {
		t.Errorf("messages %q and %q; want the 503 and the connect error named", recs[12].Error.Message, recs[18].Error.Message)
	}
	for name, n := range map[string]int64{"rules": rulesAsked.Load(), "404": goneAsked.Load(), "503": downAsked.Load()} {
		if n != 1 {
			t.Errorf("%s host: robots.txt asked %d times; want once", name, n)
		}
	}
	runOK(t, rules.URL+"/private/x\n")
	if rulesAsked.Load() != 1 {
		t.Errorf("without --robots robots.txt was asked for")
	}
}

// TestRobotsPartlyParsed: a robots.txt with lines that do not parse (a rule
// before any User-agent, a Crawl-delay that is no number) still says what
// its good lines say; the parser sluice had before read such a file as
// allowing everything.
func TestRobotsPartlyParsed(t *testing.T) {
	h, _ := robotsHost(t, 200, "Disallow: /before\nUser-agent: *\nCrawl-delay: soon\nDisallow: /\nAllow: /open$ # a comment\n")
	recs, _ := runOK(t, h.URL+"/x\n"+h.URL+"/open\n"+h.URL+"/open/x\n", "--robots", "--ordered")
	for i, want := range []string{"robots", "", "robots"} {
		if recs[i].kind() != want {
			t.Errorf("%s: kind %q; want %q", recs[i].URL, recs[i].kind(), want)
		}
	}
}

// TestRobotsRedirected: a robots.txt behind redirects is read where they
// lead, up to five of them (RFC 9309, 2.3.1.2), also with --max-redirects 0
// and with --follow, which follow none for pages; past five the file is
// taken as unavailable, which allows everything.
func TestRobotsRedirected(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hops   int
		args   []string
		denied bool
	}{
		{"one hop, --max-redirects 0", 1, []string{"--max-redirects", "0"}, true},
		{"five hops, --follow", 5, []string{"--follow", "--depth", "1"}, true},
		{"six hops", 6, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				var n int
				switch _, err := fmt.Sscanf(r.URL.Path, "/robots/%d", &n); {
				case r.URL.Path == "/robots.txt":
					http.Redirect(w, r, "/robots/1", http.StatusMovedPermanently)
				case err == nil && n < tc.hops:
					http.Redirect(w, r, fmt.Sprintf("/robots/%d", n+1), http.StatusFound)
				case err == nil:
					fmt.Fprint(w, "User-agent: *\nDisallow: /private\n")
				default:
					w.Header().Set("Content-Type", "text/html")
					fmt.Fprint(w, `<a href="/private/x">x</a>`)
				}
			})
			recs, _ := runOK(t, h.URL+"/private/y\n", append([]string{"--robots", "--ordered"}, tc.args...)...)
			for _, r := range recs {
				if denied := r.kind() == "robots"; denied != tc.denied || (denied && r.Attempts != 0) {
					t.Errorf("%s: kind %q, %d attempts; want denied %v", r.URL, r.kind(), r.Attempts, tc.denied)
				}
			}
		})
	}
}
