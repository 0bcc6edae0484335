// Command cacheproxy puts sluice's --cache in front of the origin server of
// the HTTP caching test suite (http-tests/cache-tests), so that the suite's
// own client and checks judge it: each request of a test is one run of
// sluice, as a user runs it again and again over days, with one cache
// directory per test. The suite's /config and /state requests go to the
// origin as they are. bench/cache-tests.sh runs it; it is not part of CI.
//
//	cacheproxy -origin http://127.0.0.1:8000 -sluice ./sluice -dir /tmp/c
//
// It prints its base URL on the first line of stdout.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	origin := flag.String("origin", "", "the suite's origin server, http://HOST:PORT")
	bin := flag.String("sluice", "sluice", "the sluice binary")
	dir := flag.String("dir", "", "where the cache directories go, one a test")
	addr := flag.String("listen", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	o, err := url.Parse(*origin)
	if err != nil || o.Host == "" || *dir == "" {
		log.Fatal("cacheproxy: -origin http://HOST:PORT and -dir are required")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	p := &proxy{origin: o, bin: *bin, dir: *dir, direct: httputil.NewSingleHostReverseProxy(o)}
	log.Fatal(http.Serve(ln, p))
}

type proxy struct {
	origin *url.URL
	bin    string
	dir    string
	direct *httputil.ReverseProxy
}

// out is the part of sluice's output record the proxy answers with.
type out struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    *string           `json:"body"`
	Body64  []byte            `json:"body_base64"`
	Cache   string            `json:"cache"`
	Error   *struct {
		Kind, Message string
	} `json:"error"`
}

// hopByHop are fields of one connection, not of the message.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "transfer-encoding": true, "te": true, "upgrade": true,
	"proxy-connection": true, "content-length": true,
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(segs) < 2 || segs[0] != "test" {
		p.direct.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	headers := map[string]string{}
	for k, vs := range r.Header {
		if !hopByHop[strings.ToLower(k)] {
			headers[k] = strings.Join(vs, ", ")
		}
	}
	in := map[string]any{"url": p.origin.String() + r.URL.RequestURI(), "method": r.Method, "headers": headers}
	if len(body) > 0 {
		in["body"] = string(body)
	}
	line, err := json.Marshal(in)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	cmd := exec.Command(p.bin, "--cache", filepath.Join(p.dir, segs[1]), "--cache-fresh", "--cache-wait",
		"--retries", "0", "--max-redirects", "0", "--extract", "headers", "--body", "--timeout", "15s")
	cmd.Stdin = bytes.NewReader(append(line, '\n'))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		http.Error(w, fmt.Sprintf("sluice: %v: %s", err, stderr.String()), http.StatusBadGateway)
		return
	}
	var rec out
	if err := json.Unmarshal(stdout, &rec); err != nil {
		http.Error(w, fmt.Sprintf("sluice's record: %v: %s", err, stdout), http.StatusBadGateway)
		return
	}
	if rec.Error != nil && rec.Status == 0 {
		http.Error(w, fmt.Sprintf("sluice: %s: %s", rec.Error.Kind, rec.Error.Message), http.StatusBadGateway)
		return
	}
	decoded := map[string]bool{"gzip": true, "x-gzip": true, "deflate": true, "br": true, "zstd": true} // sluice decodes these
	for k, v := range rec.Headers {
		if !hopByHop[k] && !(k == "content-encoding" && decoded[strings.ToLower(strings.TrimSpace(v))]) {
			w.Header()[http.CanonicalHeaderKey(k)] = []string{v}
		}
	}
	if os.Getenv("CACHEPROXY_LOG") != "" {
		log.Printf("%s %s: %d cache=%s", r.Method, r.URL, rec.Status, rec.Cache)
	}
	w.WriteHeader(rec.Status)
	if rec.Body != nil {
		io.WriteString(w, *rec.Body)
	} else {
		w.Write(rec.Body64)
	}
}
