package pipeline

import (
	"bytes"
	"testing"

	"sluice/internal/config"
	"sluice/stages/fetch"
	"sluice/stages/transport"
)

func TestFitConnections(t *testing.T) {
	for _, tc := range []struct {
		c, limit      int
		wantC, wantIn int // -c, and idle connections kept
		said          string
	}{
		{50, 1 << 20, 50, 100, ""}, // far from the limit: as configured
		{1000, 1024, 720, 240, "sluice: -c 1000 lowered to 720: the open-files limit (ulimit -n) is 1024\n"},
		{1000, 256, 144, 48, "sluice: -c 1000 lowered to 144: the open-files limit (ulimit -n) is 256\n"},
		{100, 256, 100, 92, ""}, // -c fits, the idle pool is made smaller
		{5000, 65, 1, 1, "sluice: -c 5000 lowered to 1: the open-files limit (ulimit -n) is 65\n"},
	} {
		cfg := config.Config{Fetch: fetch.Config{Concurrency: tc.c}, Transport: transport.Config{Concurrency: tc.c}}
		var stderr bytes.Buffer
		fitConnections(&cfg, tc.limit, &stderr)
		if cfg.Fetch.Concurrency != tc.wantC || cfg.Transport.IdleConns() != tc.wantIn || stderr.String() != tc.said {
			t.Errorf("-c %d, limit %d: -c %d, idle %d, said %q; want %d, %d, %q", tc.c, tc.limit,
				cfg.Fetch.Concurrency, cfg.Transport.IdleConns(), stderr.String(), tc.wantC, tc.wantIn, tc.said)
		}
		if wantHosts := max(1, min(transport.DefaultIdleHosts, tc.limit-fdReserve-tc.wantC-tc.wantIn)); cfg.Transport.IdleHosts() != wantHosts {
			t.Errorf("-c %d, limit %d: %d forgotten hosts may keep connections; want %d, what the limit leaves", tc.c, tc.limit, cfg.Transport.IdleHosts(), wantHosts)
		}
		if tc.limit < 1<<20 && cfg.Fetch.Concurrency+cfg.Transport.IdleConns() > max(2, tc.limit-fdReserve) {
			t.Errorf("-c %d, limit %d: %d connections may be open; over the limit less the reserve", tc.c, tc.limit, cfg.Fetch.Concurrency+cfg.Transport.IdleConns())
		}
	}
}
