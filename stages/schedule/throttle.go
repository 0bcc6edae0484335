package schedule

import (
	"math"
	"time"
)

// Auto-throttle constants.
const (
	throttleCut      = 0.7                    // multiplicative decrease on overload (TCP CUBIC's beta)
	throttleMinRate  = 0.1                    // never below one request per 10 s
	throttleForget   = 2 * time.Minute        // an idle host's learned rate is kept this long
	throttleCooldown = 200 * time.Millisecond // cuts closer together than this are one
	throttleRelease  = 2.0                    // with no configured rate, a throttle this many times past the highest overloaded rate is lifted
)

// aimd is one host's adaptive rate (additive increase, multiplicative
// decrease). It is owned by the schedule goroutine. Rate 0 means "no limit
// learned yet": the host runs at its configured rate.
type aimd struct {
	rate    float64 // current limit in requests/s; 0 until the first overload
	ceiling float64 // the configured host rate, +Inf for none
	inc     float64 // additive increase, requests/s per second
	release float64 // the rate at which the throttle is lifted
	lastCut time.Time
	raised  time.Time // when rate was last raised
}

// newAIMD starts a host's adaptive rate below ceiling, the configured host
// rate (+Inf for none). With a ceiling, the rate climbs back to it from zero
// in about ten seconds.
func newAIMD(ceiling float64) *aimd {
	a := &aimd{ceiling: ceiling, release: ceiling}
	if !math.IsInf(ceiling, 1) {
		a.inc = math.Max(1, ceiling/10)
	}
	return a
}

// overload cuts the rate after a 429, a 503 or a timeout on a request sent
// at sent. observed is the host's measured request rate and okRate its rate
// of good answers, both over the last second (0 when unknown). The cut is
// from the lowest of the current limit, the rate sent and the rate the host
// has shown it takes. Cuts are at least throttleCooldown apart: a
// rate-limited server keeps refusing for a while after the burst that
// overloaded it, and each refusal is not news.
func (a *aimd) overload(now, sent time.Time, observed, okRate float64, retryAfter time.Duration) bool {
	if sent.Before(a.lastCut) || (!a.lastCut.IsZero() && now.Sub(a.lastCut) < throttleCooldown) {
		return false // that overload was already answered
	}
	base := a.rate
	if base == 0 {
		base = a.ceiling
	}
	for _, v := range []float64{observed, okRate} {
		if v > 0 && v < base {
			base = v
		}
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
		// Without a configured rate: climb back by a tenth of the new rate
		// per second, and lift the throttle only well past the highest
		// rate that ever got into trouble (a lower mark would be a probe
		// that ends in the same overload, over and over).
		a.inc = math.Max(1, r/10)
		if math.IsInf(a.release, 1) {
			a.release = 0
		}
		a.release = math.Max(a.release, throttleRelease*base)
	}
	a.rate, a.lastCut, a.raised = r, now, now
	return true
}

// good raises the rate after a good answer: inc per second since the last
// raise. It reports whether the rate changed; lifted reports that it is
// back where the throttle ends (the configured rate, or without one well
// past where the trouble began), so the host can go back to its limits.
func (a *aimd) good(now time.Time) (changed, lifted bool) {
	if a.rate == 0 {
		return false, false
	}
	dt := now.Sub(a.raised).Seconds()
	if dt <= 0 {
		return false, false
	}
	a.rate = math.Min(a.release, a.rate+a.inc*dt)
	a.raised = now
	return true, a.rate >= a.release
}

// settled reports whether the host has been idle long enough that its
// learned rate can be forgotten.
func (a *aimd) settled(now time.Time) bool {
	return now.Sub(a.raised) > throttleForget
}

// rateMeter measures a host's request rate over the last second, in
// 100 ms slots, so that the burst of a host's first requests does not read
// as millions per second.
type rateMeter struct {
	slots [meterSlots]int // dispatches per slot, by slot number modulo meterSlots
	slot  int64           // number of the newest slot (time / meterSlot)
	first time.Time       // the first dispatch
}

const (
	meterSlot  = 100 * time.Millisecond
	meterSlots = int64(time.Second / meterSlot)
)

func (m *rateMeter) add(t time.Time) {
	if m.first.IsZero() {
		m.first, m.slot = t, t.UnixNano()/int64(meterSlot)
	}
	m.advance(t)
	m.slots[m.slot%meterSlots]++
}

// advance moves the newest slot to t's, emptying the slots passed over.
func (m *rateMeter) advance(t time.Time) {
	s := t.UnixNano() / int64(meterSlot)
	if s-m.slot >= meterSlots {
		clear(m.slots[:])
		m.slot = s
		return
	}
	for m.slot < s {
		m.slot++
		m.slots[m.slot%meterSlots] = 0
	}
}

// rate is the requests per second over the last second (or the host's life,
// if shorter, but at least one slot); 0 before the first dispatch.
func (m *rateMeter) rate(now time.Time) float64 {
	if m.first.IsZero() {
		return 0
	}
	m.advance(now)
	n := 0
	for _, c := range m.slots {
		n += c
	}
	span := min(time.Second, max(meterSlot, now.Sub(m.first)))
	return float64(n) / span.Seconds()
}
