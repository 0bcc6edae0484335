// Package serve runs a test server of the project on loopback, for the
// commands under internal/cmd.
package serve

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

var (
	addr   = flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	ports  = flag.Int("ports", 1, "listen on this many loopback ports (each a host to sluice), -addr must end in :0")
	tlsOut = flag.String("tls", "", "serve HTTPS (and HTTP/2) with a certificate for 127.0.0.1 made at start, written as PEM to this file for sluice --cacert")
)

// Main listens on -addr (on -ports free ports when more than one), prints
// each base URL on a line of its own on stdout, and serves h on all of them
// until SIGINT or SIGTERM. The caller parses the flags first.
func Main(name string, h http.Handler) {
	fail := func(err error) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	if *ports < 1 {
		fail(fmt.Errorf("-ports %d: want 1 or more", *ports))
	}
	srv := &http.Server{Handler: h}
	scheme := "http"
	if *tlsOut != "" {
		cert, err := selfSigned(*tlsOut)
		if err != nil {
			fail(err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		scheme = "https"
	}
	errs := make(chan error, *ports)
	for range *ports {
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			fail(err)
		}
		fmt.Printf("%s://%s\n", scheme, ln.Addr())
		if *tlsOut != "" {
			go func() { errs <- srv.ServeTLS(ln, "", "") }()
		} else {
			go func() { errs <- srv.Serve(ln) }()
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
		srv.Close()
	case err := <-errs:
		if err != http.ErrServerClosed {
			fail(err)
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1 and ::1, its own CA, and
// writes it to file.
func selfSigned(file string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice test server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, DNSNames: []string{"localhost"},
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
