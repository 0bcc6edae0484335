package stages

import (
	"math"
	"time"
)

// Auto-throttle constants.
const (
	throttleCut     = 0.7             // multiplicative decrease on overload (TCP CUBIC's beta)
	throttleMinRate = 0.1             // never below one request per 10 s
	throttleForget  = 2 * time.Minute // an idle host's learned rate is kept this long
	rateWindow      = 16              // dispatch times kept to measure a host's rate
)

// aimd is one host's adaptive rate (additive increase, multiplicative
// decrease). It is owned by the schedule goroutine. Rate 0 means "no limit
// learned yet": the host runs at its configured rate.
type aimd struct {
	rate    float64 // current limit in requests/s; 0 until the first overload
	ceiling float64 // the configured host rate, +Inf for none
	inc     float64 // additive increase, requests/s per second
	lastCut time.Time
	raised  time.Time // when rate was last raised
}

// newAIMD starts a host's adaptive rate below ceiling, the configured host
// rate (+Inf for none). With a ceiling, the rate climbs back to it from zero
// in about ten seconds.
func newAIMD(ceiling float64) *aimd {
	a := &aimd{ceiling: ceiling}
	if !math.IsInf(ceiling, 1) {
		a.inc = math.Max(1, ceiling/10)
	}
	return a
}

// overload cuts the rate after a 429, a 503 or a timeout on a request sent
// at sent. observed is the host's measured request rate (0 when unknown);
// retryAfter, when the server gave one, bounds the rate from above. It
// reports whether the rate changed.
func (a *aimd) overload(now, sent time.Time, observed float64, retryAfter time.Duration) bool {
	if sent.Before(a.lastCut) {
		return false // sent at the old rate: that overload was already answered
	}
	base := a.rate
	if base == 0 {
		base = a.ceiling
	}
	if observed > 0 && observed < base {
		base = observed
	}
	if math.IsInf(base, 1) {
		base = 1 // nothing measured and nothing configured: start slow
	}
	r := base * throttleCut
	if retryAfter > 0 {
		r = math.Min(r, 1/retryAfter.Seconds())
	}
	r = math.Max(r, throttleMinRate)
	if math.IsInf(a.ceiling, 1) {
		// Without a configured rate, climb back to where the trouble began
		// in about ten seconds.
		a.inc = math.Max(1, base/10)
	}
	a.rate, a.lastCut, a.raised = r, now, now
	return true
}

// good raises the rate after a good answer: inc per second since the last
// raise, up to the ceiling. It reports whether the rate changed.
func (a *aimd) good(now time.Time) bool {
	if a.rate == 0 || a.rate >= a.ceiling {
		return false
	}
	dt := now.Sub(a.raised).Seconds()
	if dt <= 0 {
		return false
	}
	a.rate = math.Min(a.ceiling, a.rate+a.inc*dt)
	a.raised = now
	return true
}

// settled reports whether the host is back at its ceiling, or has been idle
// long enough that its learned rate can be forgotten.
func (a *aimd) settled(now time.Time) bool {
	return a.rate == 0 || a.rate >= a.ceiling || now.Sub(a.raised) > throttleForget
}

// rateMeter measures a host's request rate from its last dispatch times.
type rateMeter struct {
	times [rateWindow]time.Time
	n     int // dispatches recorded, all time
}

func (m *rateMeter) add(t time.Time) {
	m.times[m.n%rateWindow] = t
	m.n++
}

// rate is the measured rate over the recorded dispatches, 0 when fewer than
// two are known or they span no time.
func (m *rateMeter) rate() float64 {
	k := min(m.n, rateWindow)
	if k < 2 {
		return 0
	}
	newest := m.times[(m.n-1)%rateWindow]
	oldest := m.times[(m.n-k)%rateWindow]
	span := newest.Sub(oldest).Seconds()
	if span <= 0 {
		return 0
	}
	return float64(k-1) / span
}
