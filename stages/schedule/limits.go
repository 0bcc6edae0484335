package schedule

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"sluice/stages/robots"
)

// Limits are the politeness settings the schedule stage enforces.
type Limits struct {
	Rate  rate.Limit // requests per second over all hosts; rate.Inf for none
	Burst int        // global bucket size; 0 picks one from Rate

	HostRate        rate.Limit            // per host, rate.Inf for none
	HostRates       map[string]rate.Limit // overrides by host key (see HostKey) or bare host name
	HostConcurrency int                   // parallel requests per host
	HostConcs       map[string]int        // overrides, keyed like HostRates

	Window       int              // records held at once: waiting, in flight and between retries
	Workers      int              // fetch workers: no reading ahead while that many records are out; 0 for no such stop
	Lookahead    int              // with Workers, records held at least, read ahead of them if need be (DefaultLookahead); 0 for none
	PauseMax     time.Duration    // cap on a Retry-After pause of a host
	AutoThrottle bool             // adapt each host's rate to 429/503/timeouts (AIMD)
	Robots       *robots.Robots   // --robots: each host's robots.txt goes first; nil for none
	HostDone     func(key string) // called when the schedule forgets an idle host (transport.Transport.HostDone); may be nil
	HostBack     func(key string) // called when the schedule takes up a host again, before any of its records goes (Fetcher.HostBack); may be nil
}

// DefaultWindow is the window for a concurrency: enough records waiting that
// other hosts can overtake a throttled one, few enough to be constant memory
// (a waiting record is a few hundred bytes). BENCHMARKS.md, "Design
// decisions", has how the size was chosen.
func DefaultWindow(concurrency int) int { return max(8192, 16*concurrency) }

// DefaultHostConcurrency is the parallel requests per host for a
// concurrency: all of it, so a host has no cap of its own unless asked
// (as with curl, aiohttp and httpx). A run that sends every record to one
// API host gets every worker; --host-concurrency sets a cap.
func DefaultHostConcurrency(concurrency int) int { return max(1, concurrency) }

func (l *Limits) check() error {
	switch {
	case l.Window < 1:
		return fmt.Errorf("window %d: must be at least 1", l.Window)
	case l.HostConcurrency < 1:
		return fmt.Errorf("host concurrency %d: must be at least 1", l.HostConcurrency)
	case l.Rate <= 0 || l.HostRate <= 0:
		return errors.New("rates must be positive (rate.Inf for none)")
	}
	for h, c := range l.HostConcs {
		if c < 1 {
			return fmt.Errorf("host concurrency %d for %s: must be at least 1", c, h)
		}
	}
	for h, r := range l.HostRates {
		if r <= 0 {
			return fmt.Errorf("rate %v for %s: must be positive", r, h)
		}
	}
	return nil
}

// hostRate is the rate limit for a host key: an override for host:port, then
// one for the bare host name, then the default.
func (l *Limits) hostRate(key string) rate.Limit {
	if r, ok := lookupHost(l.HostRates, key); ok {
		return r
	}
	return l.HostRate
}

func (l *Limits) hostConcurrency(key string) int {
	if c, ok := lookupHost(l.HostConcs, key); ok {
		return c
	}
	return l.HostConcurrency
}

func lookupHost[V any](m map[string]V, key string) (V, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	if name, _, err := net.SplitHostPort(key); err == nil {
		if v, ok := m[name]; ok {
			return v, true
		}
	}
	var zero V
	return zero, false
}

// burstFor is the bucket size for a rate: 10 ms worth of requests, at least
// one, so that a high rate is reachable although timers wake late, and a low
// rate sends no bursts at all.
func burstFor(r rate.Limit) int {
	if r == rate.Inf {
		return 1
	}
	return max(1, int(math.Ceil(float64(r)/100)))
}

// ParseRate reads a rate: "10" or "10/s" per second, "600/m" per minute,
// "3600/h" per hour; fractions allowed ("0.5/s"). "0" means no limit and
// returns rate.Inf.
func ParseRate(s string) (rate.Limit, error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), "/")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("rate %q is not a non-negative number (want e.g. 10, 10/s, 600/m)", s)
	}
	per := 1.0
	switch strings.ToLower(strings.TrimSpace(unit)) {
	case "", "s", "sec", "second":
	case "m", "min", "minute":
		per = 60
	case "h", "hour":
		per = 3600
	default:
		return 0, fmt.Errorf("rate %q has an unknown unit (want /s, /m or /h)", s)
	}
	if v == 0 {
		return rate.Inf, nil
	}
	return rate.Limit(v / per), nil
}

// ParseHostSetting splits "HOST=VALUE" into a lower-case host and the value;
// a bare "VALUE" returns host "". HOST may carry a port.
func ParseHostSetting(s string) (host, value string) {
	h, v, ok := strings.Cut(s, "=")
	if !ok {
		return "", strings.TrimSpace(s)
	}
	return strings.ToLower(strings.TrimSpace(h)), strings.TrimSpace(v)
}
