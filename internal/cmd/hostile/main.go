// Command hostile serves the hostile test server (package hostile) on
// loopback. It prints its base URL as the first line on stdout, then serves
// until SIGINT or SIGTERM; -faults lists the fault paths instead.
package main

import (
	"flag"
	"fmt"

	"sluice/internal/hostile"
	"sluice/internal/serve"
)

func main() {
	faults := flag.Bool("faults", false, "print the fault paths, one a line, and exit")
	flag.Parse()
	if *faults {
		for _, f := range hostile.Faults {
			fmt.Println(f)
		}
		return
	}
	serve.Main("hostile", hostile.Handler())
}
