// Command natsd runs a NATS server with JetStream on loopback, for the
// distributed examples and by-hand tests: the nats-server Go module,
// embedded, so nothing else needs installing. It prints its client URL as
// the first line on stdout, then serves until SIGINT or SIGTERM.
//
//	go run ./internal/cmd/natsd -port 4222 -store /tmp/sluice-nats
//
// With -cluster it is a node of a JetStream cluster named "sluice": it
// listens for routes on that port, -routes names every node's (its own
// may be among them: JetStream wants routes even on the first node), and
// -name this node (the same name and -store when it is started again).
//
//	r=nats://127.0.0.1:6222,nats://127.0.0.1:6223,nats://127.0.0.1:6224
//	natsd -port 4222 -name n1 -cluster 6222 -routes $r -store /tmp/n1 &
//	natsd -port 4223 -name n2 -cluster 6223 -routes $r -store /tmp/n2 &
//	natsd -port 4224 -name n3 -cluster 6224 -routes $r -store /tmp/n3 &
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
	name := flag.String("name", "", "server name (a cluster node's must stay the same across restarts)")
	cluster := flag.Int("cluster", 0, "route port on 127.0.0.1 for a cluster node (0: no cluster)")
	routes := flag.String("routes", "", "comma-separated route URLs of the cluster's nodes")
	flag.Parse()
	dir := *store
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "natsd-"); err != nil {
			fail(err)
		}
		defer os.RemoveAll(dir)
	}
	opts := &server.Options{
		Host: "127.0.0.1", Port: *port, JetStream: true, StoreDir: dir, NoSigs: true, ServerName: *name,
	}
	if *cluster > 0 {
		opts.Cluster = server.ClusterOpts{Name: "sluice", Host: "127.0.0.1", Port: *cluster}
		opts.Routes = server.RoutesFromStr(*routes)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		fail(err)
	}
	if os.Getenv("NATSD_LOG") != "" {
		s.ConfigureLogger()
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
