// Command site serves the local test site (package site) on loopback. It
// prints its base URL as the first line on stdout, then serves until SIGINT
// or SIGTERM.
//
//	go run ./internal/cmd/site -addr 127.0.0.1:0
package main

import (
	"flag"

	"sluice/internal/serve"
	"sluice/internal/site"
)

func main() {
	flag.Parse()
	serve.Main("site", site.Handler())
}
