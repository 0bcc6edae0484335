// Command natscat prints every message stored in a JetStream stream, one
// per line, then exits: a stand-in for `nats stream view` in the examples
// and by-hand tests, so nothing else needs installing.
//
//	go run ./internal/cmd/natscat -server nats://127.0.0.1:4222 -stream RESULTS
package main

import (
	"bufio"
	"context"
	"errors"
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
	leader := flag.Bool("leader", false, "print only the name of the server that leads the stream (in a cluster)")
	bytes := flag.Bool("bytes", false, "print only how many bytes the stream holds (0 when it does not exist)")
	flag.Parse()
	run := cat
	switch {
	case *count:
		run = printCount
	case *bytes:
		run = printBytes
	case *leader:
		run = printLeader
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
	return printState(server, stream, func(st jetstream.StreamState) uint64 { return st.Msgs })
}

func printBytes(server, stream string) error {
	return printState(server, stream, func(st jetstream.StreamState) uint64 { return st.Bytes })
}

// printState prints what of prints of the stream's state; 0 when the
// stream does not exist.
func printState(server, stream string, of func(jetstream.StreamState) uint64) error {
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
		fmt.Println(of(s.CachedInfo().State))
	}
	return nil
}

func printLeader(server, stream string) error {
	s, closeConn, err := open(server, stream)
	if closeConn != nil {
		defer closeConn()
	}
	switch {
	case err != nil:
		return err
	case s.CachedInfo().Cluster == nil || s.CachedInfo().Cluster.Leader == "":
		return fmt.Errorf("stream %s has no leader now", stream)
	}
	fmt.Println(s.CachedInfo().Cluster.Leader)
	return nil
}

// cat gets each message by its sequence: an ordered consumer was seen to
// fail with "no responders" on a cluster whose nodes had just been
// restarted, while getting messages one by one works; a failed get is
// tried again for a while.
func cat(server, stream string) error {
	s, closeConn, err := open(server, stream)
	if closeConn != nil {
		defer closeConn()
	}
	if err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	st := s.CachedInfo().State
	for seq := st.FirstSeq; st.Msgs > 0 && seq <= st.LastSeq; seq++ {
		msg, err := get(s, seq)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			continue // deleted, or aged out
		case err != nil:
			return fmt.Errorf("message %d: %w", seq, err)
		}
		w.Write(msg.Data)
		w.WriteByte('\n')
	}
	return nil
}

func get(s jetstream.Stream, seq uint64) (msg *jetstream.RawStreamMsg, err error) {
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		msg, err = s.GetMsg(ctx, seq)
		cancel()
		if err == nil || errors.Is(err, jetstream.ErrMsgNotFound) {
			return msg, err
		}
		time.Sleep(500 * time.Millisecond)
	}
	return nil, err
}
