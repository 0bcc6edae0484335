package fetch

import (
	"net/http"
	"testing"

	"sluice/record"
	"sluice/stages/transport"
)

// The check is on the address dialled, so loopback servers are refused
// however they are named, and a redirect cannot lead around it.
func TestFetchDenyPrivate(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	f := newFetcher(t, Config{MaxRedirects: 3}, transport.Config{DenyPrivate: true})
	for _, u := range []string{srv.URL, "http://localhost:" + srv.URL[len("http://127.0.0.1:"):] + "/"} {
		r := fetch(t, f, u)
		if kindOf(r) != record.KindDenied {
			t.Errorf("Fetch(%s) with DenyPrivate: %v; want kind denied", u, r.Err)
		}
	}
	// Without the flag the same server answers.
	if r := fetch(t, newFetcher(t, Config{}), srv.URL); r.Status != 200 {
		t.Errorf("Fetch without DenyPrivate: %v", r.Err)
	}
}
