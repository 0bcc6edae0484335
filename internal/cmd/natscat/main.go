// Command natscat prints every message stored in a JetStream stream, one
// per line, then exits: a stand-in for `nats stream view` in the examples
// and by-hand tests, so nothing else needs installing.
//
//	go run ./internal/cmd/natscat -server nats://127.0.0.1:4222 -stream RESULTS
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	server := flag.String("server", nats.DefaultURL, "NATS server")
	stream := flag.String("stream", "", "stream to print")
	count := flag.Bool("count", false, "print only how many messages the stream holds (0 when it does not exist)")
	flag.Parse()
	run := cat
	if *count {
		run = printCount
	}
	if err := run(*server, *stream); err != nil {
		fmt.Fprintln(os.Stderr, "natscat:", err)
		os.Exit(1)
	}
}

// open connects and looks up stream; it returns what to close.
func open(server, stream string) (jetstream.Stream, func(), error) {
	nc, err := nats.Connect(server)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	return s, nc.Close, err
}

func printCount(server, stream string) error {
	s, closeConn, err := open(server, stream)
	if closeConn != nil {
		defer closeConn()
	}
	switch {
	case err == jetstream.ErrStreamNotFound:
		fmt.Println(0)
	case err != nil:
		return err
	default:
		fmt.Println(s.CachedInfo().State.Msgs)
	}
	return nil
}

func cat(server, stream string) error {
	s, closeConn, err := open(server, stream)
	if closeConn != nil {
		defer closeConn()
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	last := s.CachedInfo().State.LastSeq
	if s.CachedInfo().State.Msgs == 0 {
		return nil
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for {
		msg, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			return err
		}
		w.Write(msg.Data())
		w.WriteByte('\n')
		md, err := msg.Metadata()
		if err != nil {
			return err
		}
		if md.Sequence.Stream >= last {
			return nil
		}
	}
}
