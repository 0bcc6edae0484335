package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"sluice/record"
)

// ClassifyTransport maps an error from a round trip to the kind a record
// reports. The order matters: a deadline is reported as such even when a
// network error is wrapped inside it.
func Classify(err error) record.Kind {
	var (
		denied *DeniedError
		dnsErr *net.DNSError
		netErr net.Error
		opErr  *net.OpError
	)
	switch {
	case errors.As(err, &denied):
		return record.KindDenied
	case strings.Contains(err.Error(), "server response headers exceeded"):
		return record.KindTooLarge // net/http has no typed error for it
	case errors.Is(err, context.Canceled):
		return record.KindCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return record.KindTimeout
	case errors.As(err, &dnsErr):
		if dnsErr.IsTimeout {
			return record.KindTimeout
		}
		return record.KindDNS
	case errors.As(err, &netErr) && netErr.Timeout():
		return record.KindTimeout
	case isTLS(err):
		return record.KindTLS
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EADDRNOTAVAIL):
		return record.KindConnect
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return record.KindConnect
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return record.KindReset
	}
	return record.KindProtocol
}

func isTLS(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		header   tls.RecordHeaderError
		alert    tls.AlertError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	if errors.As(err, &verify) || errors.As(err, &header) || errors.As(err, &alert) ||
		errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) {
		return true
	}
	// An alert from the peer ("remote error: tls: handshake failure") has an
	// unexported type in crypto/tls; its text is the only handle on it.
	return strings.Contains(err.Error(), "tls: ")
}
