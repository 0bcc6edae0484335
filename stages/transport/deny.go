package transport

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// DeniedError is a connection refused by --deny-private.
type DeniedError struct{ addr netip.Addr }

func (e *DeniedError) Error() string {
	return fmt.Sprintf("address %s is private, loopback, link-local or otherwise not public (--deny-private)", e.addr)
}

// cgnat is the shared address space of carrier-grade NAT (RFC 6598), not
// covered by netip's IsPrivate.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Denied reports whether --deny-private refuses a connection to addr:
// loopback, private (RFC 1918, fc00::/7), carrier-grade NAT, link-local
// (which holds cloud metadata endpoints such as 169.254.169.254),
// multicast and unspecified addresses. IPv4 mapped into IPv6 is judged as
// IPv4.
func Denied(addr netip.Addr) bool {
	addr = addr.Unmap()
	return !addr.IsValid() || addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() ||
		addr.IsLinkLocalMulticast() || addr.IsInterfaceLocalMulticast() || addr.IsMulticast() ||
		addr.IsUnspecified() || cgnat.Contains(addr)
}

// denyPrivate is a net.Dialer Control function: it runs after DNS, on the
// address about to be connected to, so neither a redirect nor a name that
// resolves differently the second time (DNS rebinding) gets past it.
func denyPrivate(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		host, _, splitErr := net.SplitHostPort(address)
		if splitErr != nil {
			return &DeniedError{}
		}
		a, parseErr := netip.ParseAddr(host)
		if parseErr != nil {
			return &DeniedError{}
		}
		ap = netip.AddrPortFrom(a, 0)
	}
	if Denied(ap.Addr()) {
		return &DeniedError{ap.Addr()}
	}
	return nil
}
