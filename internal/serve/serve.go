// Package serve runs a test server of the project on loopback, for the
// commands under internal/cmd.
package serve

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

var (
	addr  = flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	ports = flag.Int("ports", 1, "listen on this many loopback ports (each a host to sluice), -addr must end in :0")
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
	errs := make(chan error, *ports)
	for range *ports {
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			fail(err)
		}
		fmt.Printf("http://%s\n", ln.Addr())
		go func() { errs <- srv.Serve(ln) }()
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
