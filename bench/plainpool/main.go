// Command plainpool is the "plain Go" reference for sluice's benchmarks (see
// package plain): URL lines on stdin, one small JSON line per URL on stdout.
package main

import (
	"flag"
	"fmt"
	"os"

	"sluice/bench/plain"
)

func main() {
	c := flag.Int("c", 50, "workers")
	extract := flag.Bool("extract", false, "parse bodies for title and links (goquery)")
	flag.Parse()
	if err := plain.Run(os.Stdin, os.Stdout, *c, *extract); err != nil {
		fmt.Fprintln(os.Stderr, "plainpool:", err)
		os.Exit(1)
	}
}
