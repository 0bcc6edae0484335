package transport

import (
	"net/netip"
	"testing"
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
