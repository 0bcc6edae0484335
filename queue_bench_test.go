package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// --host-rate holds for the cluster: three workers, one host limited to
// 10/s, the rate measured at that host's server. A benchmark, not a test:
// its figures are rates in real time (bench/queue.sh runs it and checks
// them). Run with
//
//	go test -run '^$' -bench QueueClusterPoliteness -benchtime 1x .
func BenchmarkQueueClusterPoliteness(b *testing.B) {
	for b.Loop() {
		rate, most := clusterPoliteness(b)
		b.ReportMetric(rate, "req/s@limited")
		b.ReportMetric(float64(most), "most-in-3s")
	}
}

func clusterPoliteness(b *testing.B) (rate float64, most int) {
	ns := natsServer(b, b.TempDir(), -1)
	var mu sync.Mutex
	var at []time.Time
	slowHost := hosts(b, 1, func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
	})[0]
	others := hosts(b, 5, nil)
	queue := ns.ClientURL() + "/POLITE/urls"
	hostKey := strings.TrimPrefix(slowHost, "http://")
	args := []string{"--in", queue + "?idle=2s&lease=2s", "--host-rate", hostKey + "=10", "-c", "16"}
	// The workers start first and share the partitions, then the work comes.
	enqueueURLs(b, queue, others, 10) // makes the stream
	var workers []*worker
	for range 3 {
		workers = append(workers, startWorker(b, args...))
	}
	js := jsConn(b, ns.ClientURL())
	waitFor(b, "3 workers holding all 16 partitions", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		kv, err := js.KeyValue(ctx, "sluice_POLITE")
		if err != nil {
			return false
		}
		keys, err := kv.Keys(ctx)
		w, p := 0, 0
		for _, k := range keys {
			switch {
			case strings.HasPrefix(k, "w."):
				w++
			case strings.HasPrefix(k, "p."):
				p++
			}
		}
		return err == nil && w == 3 && p == 16
	})
	enqueueURLs(b, queue, append([]string{slowHost}, others...), 900) // 150 to the limited host
	for _, w := range workers {
		w.wait(b)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(at) != 150 {
		b.Fatalf("%d requests at the limited host; want 150", len(at))
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	rate = float64(len(at)-1) / at[len(at)-1].Sub(at[0]).Seconds()
	for i, j := 0, 0; i < len(at); i++ { // the most requests in any 3 s
		for at[i].Sub(at[j]) >= 3*time.Second {
			j++
		}
		most = max(most, i-j+1)
	}
	return rate, most
}
