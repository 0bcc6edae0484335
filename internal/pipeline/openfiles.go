package pipeline

import (
	"fmt"
	"io"
	"syscall"

	"sluice/internal/config"
)

// fdReserve is the open files kept for what is not a connection: the
// standard streams, input files, NATS, DNS sockets, a profile.
const fdReserve = 64

// fitOpenFiles keeps the run within the open-files limit. Go raises the
// soft limit to the hard one at start (on Linux, since Go 1.19), so the
// soft limit read here is all there is. Connections in use (one per
// request, at most -c) and kept idle must fit in it less fdReserve: when
// they would not, idle connections are kept fewer, and -c is lowered to
// three quarters of what is left, said once on stderr. Otherwise a dial
// past the limit fails with "too many open files" and most records would
// come out as connect errors.
func fitOpenFiles(cfg *config.Config, stderr io.Writer) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	fitConnections(cfg, int(min(lim.Cur, 1<<30)), stderr)
}

// fitConnections fits -c and the idle pool in the limit of open files.
func fitConnections(cfg *config.Config, limit int, stderr io.Writer) {
	tc := &cfg.Transport
	c := tc.Concurrency
	idle := tc.IdleConns()
	budget := limit - fdReserve
	defer func() { // the forgotten hosts' connections: what is left, at most IdleHosts
		left := budget - tc.Concurrency - tc.IdleConns()
		tc.MaxIdleHosts = max(1, min(tc.IdleHosts(), left))
	}()
	if c+idle <= budget {
		return
	}
	fitted := max(1, min(c, budget*3/4))
	tc.MaxIdleConns = max(1, budget-fitted)
	if fitted < c {
		tc.Concurrency, cfg.Fetch.Concurrency = fitted, fitted
		fmt.Fprintf(stderr, "sluice: -c %d lowered to %d: the open-files limit (ulimit -n) is %d\n", c, fitted, limit)
	}
}
