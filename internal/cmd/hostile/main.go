// Command hostile serves the hostile test server (package hostile) on
// loopback. It prints its base URL as the first line on stdout, then serves
// until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"sluice/internal/hostile"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	faults := flag.Bool("faults", false, "print the fault paths, one a line, and exit")
	flag.Parse()
	if *faults {
		for _, f := range hostile.Faults {
			fmt.Println(f)
		}
		return
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(1)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	srv := &http.Server{Handler: hostile.Handler()}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(1)
	}
}
