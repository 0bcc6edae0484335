package main

import (
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestConnectionsForHostsThatComeBack: 300 hosts, more than the 100 whose
// connections are kept once the schedule has forgotten them (and than an
// HTTP/1 pool's 100 idle ones), each asked three times, interleaved (host
// k gets lines k, k+300, k+600: a shuffled log's shape). Reading a little
// ahead of the workers, the schedule still holds each host's next record
// when its present one is done, so no host is forgotten between its
// records, and each keeps its one connection, over HTTP/1 and HTTP/2 (TLS).
func TestConnectionsForHostsThatComeBack(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2=%v", h2), func(t *testing.T) { testConnectionsForHostsThatComeBack(t, h2) })
	}
}

func testConnectionsForHostsThatComeBack(t *testing.T, h2 bool) {
	const n, rounds = 300, 3
	var dials atomic.Int64
	var bases []string
	args := []string{"-c", "8"}
	for range n {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				dials.Add(1)
			}
		}
		if !h2 {
			srv.Start()
		} else {
			srv.EnableHTTP2 = true
			srv.StartTLS()
		}
		t.Cleanup(srv.Close)
		bases = append(bases, srv.URL)
		if h2 && len(bases) == 1 { // httptest's servers share one certificate
			cacert := filepath.Join(t.TempDir(), "ca.pem")
			if err := os.WriteFile(cacert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
				t.Fatal(err)
			}
			args = append(args, "--cacert", cacert)
		}
	}
	var in strings.Builder
	for r := range rounds {
		for _, b := range bases {
			fmt.Fprintf(&in, "%s/r%d\n", b, r)
		}
	}
	recs, _ := runOK(t, in.String(), args...)
	if len(recs) != n*rounds {
		t.Fatalf("%d records; want %d", len(recs), n*rounds)
	}
	if d := dials.Load(); d != n {
		t.Errorf("%d connections for %d hosts asked %d times each; want one a host", d, n, rounds)
	}
}
