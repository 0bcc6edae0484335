// Command dnsd is a DNS server on loopback for the benchmarks: it answers
// A questions for h0.test ... h(N-1).test with 127.0.0.1, after a delay, and
// on SIGINT or SIGTERM writes how many questions it was asked to stderr.
// It prints its address (host:port) as the first line on stdout.
//
//	go run ./internal/cmd/dnsd -names 5000 -delay 5ms -ttl 300
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"sluice/internal/dnstest"
)

func main() {
	n := flag.Int("names", 5000, "names to answer: h0.test, h1.test, ...")
	delay := flag.Duration("delay", 0, "wait before each answer")
	ttl := flag.Uint("ttl", 300, "TTL of the answers, in seconds")
	flag.Parse()
	names := map[string]dnstest.Name{}
	for i := range *n {
		names[fmt.Sprintf("h%d.test", i)] = dnstest.Name{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, TTL: uint32(*ttl)}
	}
	s, stop, err := dnstest.Serve(names, *delay)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dnsd:", err)
		os.Exit(1)
	}
	fmt.Println(s.Addr)
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	<-ctx.Done()
	stop()
	fmt.Fprintf(os.Stderr, "dnsd: %d questions\n", s.Total())
}
