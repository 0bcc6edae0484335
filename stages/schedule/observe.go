package schedule

import (
	"time"

	"sluice/record"
)

// Observer is told what happens to requests as it happens: Stats counts
// it per host for --stats, internal/metrics exports it for --metrics. Its
// methods are called from many goroutines at once, on the request path:
// they must not block.
type Observer interface {
	Attempt(r *record.Record, took time.Duration) // an attempt of r ended; r holds its outcome
	Retry(host string)                            // the attempt just made will be made again
	Wait(host string, why Wait)                   // a ready record waits for its host
	Pause(host string, why Pause)                 // the host is paused by what a response said
	Rate(host string, rate float64)               // --auto-throttle set the host's rate in requests/s; 0: lifted
}

// Wait is why a ready record waits for its host.
type Wait string

// Pause is what paused a host.
type Pause string

const (
	WaitRate        Wait  = "rate"        // for the host's rate limit, or its pause
	WaitSlot        Wait  = "slot"        // for a --host-concurrency slot
	PauseRetryAfter Pause = "retry_after" // a 429 or 503 with Retry-After
	PauseQuota      Pause = "quota"       // rate-limit fields said the quota is spent
)

// Observers tells each of its observers; an empty one tells nobody.
type Observers []Observer

func (o Observers) Attempt(r *record.Record, took time.Duration) {
	for _, x := range o {
		x.Attempt(r, took)
	}
}

func (o Observers) Retry(host string) {
	for _, x := range o {
		x.Retry(host)
	}
}

func (o Observers) Wait(host string, why Wait) {
	for _, x := range o {
		x.Wait(host, why)
	}
}

func (o Observers) Pause(host string, why Pause) {
	for _, x := range o {
		x.Pause(host, why)
	}
}

func (o Observers) Rate(host string, rate float64) {
	for _, x := range o {
		x.Rate(host, rate)
	}
}
