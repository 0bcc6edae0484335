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
// connections are kept once the schedule has forgotten them, each asked
// three times, interleaved (host k gets lines k, k+300, k+600: a shuffled
// log's shape). Reading a little ahead of the workers, the schedule still
// holds each host's next record when its present one is done, so no host
// is forgotten between its records and each keeps its one connection.
// HTTPS with HTTP/2, as at web scale (an HTTP/1 pool has a bound of its
// own, MaxIdleConns).
func TestConnectionsForHostsThatComeBack(t *testing.T) {
	const n, rounds = 300, 3
	var dials atomic.Int64
	var bases []string
	cacert := filepath.Join(t.TempDir(), "ca.pem")
	for range n {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
		srv.EnableHTTP2 = true
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				dials.Add(1)
			}
		}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		bases = append(bases, srv.URL)
		if len(bases) == 1 { // httptest's servers share one certificate
			if err := os.WriteFile(cacert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	var in strings.Builder
	for r := range rounds {
		for _, b := range bases {
			fmt.Fprintf(&in, "%s/r%d\n", b, r)
		}
	}
	recs, _ := runOK(t, in.String(), "-c", "8", "--cacert", cacert)
	if len(recs) != n*rounds {
		t.Fatalf("%d records; want %d", len(recs), n*rounds)
	}
	if d := dials.Load(); d != n {
		t.Errorf("%d connections for %d hosts asked %d times each; want one a host", d, n, rounds)
	}
}
