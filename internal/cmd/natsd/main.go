// Command natsd runs a NATS server with JetStream on loopback, for the
// distributed examples and by-hand tests: the nats-server Go module,
// embedded, so nothing else needs installing. It prints its client URL as
// the first line on stdout, then serves until SIGINT or SIGTERM.
//
//	go run ./internal/cmd/natsd -port 4222 -store /tmp/sluice-nats
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func main() {
	port := flag.Int("port", -1, "client port on 127.0.0.1 (-1 for a free one)")
	store := flag.String("store", "", "JetStream storage directory (default: a new temporary one)")
	flag.Parse()
	dir := *store
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "natsd-"); err != nil {
			fail(err)
		}
		defer os.RemoveAll(dir)
	}
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: *port, JetStream: true, StoreDir: dir, NoSigs: true,
	})
	if err != nil {
		fail(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		fail(fmt.Errorf("not ready after 10s"))
	}
	fmt.Println(s.ClientURL())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	s.Shutdown()
	s.WaitForShutdown()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "natsd:", err)
	os.Exit(1)
}
