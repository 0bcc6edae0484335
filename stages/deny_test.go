package stages

import (
	"net/http"
	"net/netip"
	"testing"

	"sluice/record"
)

func TestDenied(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.1": true, "::1": true, // loopback
		"10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true, "fd12::1": true, // private
		"169.254.169.254": true, "fe80::1": true, // link-local, cloud metadata
		"100.64.0.1": true, "0.0.0.0": true, "::": true, "224.0.0.1": true, "ff02::1": true,
		"::ffff:127.0.0.1": true, "::ffff:10.0.0.1": true, // mapped IPv4
		"93.184.216.34": false, "2606:2800:220:1::": false, "100.128.0.1": false, "172.32.0.1": false,
	} {
		if got := Denied(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Denied(%s) = %v; want %v", addr, got, want)
		}
	}
}

// The check is on the address dialled, so loopback servers are refused
// however they are named, and a redirect cannot lead around it.
func TestFetchDenyPrivate(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	f := newFetcher(t, FetchConfig{DenyPrivate: true, MaxRedirects: 3})
	for _, u := range []string{srv.URL, "http://localhost:" + srv.URL[len("http://127.0.0.1:"):] + "/"} {
		r := fetch(t, f, u)
		if kindOf(r) != record.KindDenied {
			t.Errorf("Fetch(%s) with DenyPrivate: %v; want kind denied", u, r.Err)
		}
	}
	// Without the flag the same server answers.
	if r := fetch(t, newFetcher(t, FetchConfig{}), srv.URL); r.Status != 200 {
		t.Errorf("Fetch without DenyPrivate: %v", r.Err)
	}
}
