package flow

import (
	"context"
	"sync"
	"time"
)

// Lifetime is a run's one lifetime, in two stages, errgroup-style: the
// first fatal error (Fail) or the parent's end (a signal) stops intake at
// once; the work in flight is cancelled grace later, or at once on a fatal
// error. Records already read are never dropped: the stages drain them,
// marking what could not finish as canceled.
type Lifetime struct {
	// Intake is done when no more input is to be read and no new attempt
	// started; Work when the attempts and publishes in flight are to be
	// cancelled.
	Intake, Work context.Context
	stopIntake   context.CancelFunc
	cancelWork   context.CancelFunc
	stopGrace    func() bool

	mu    sync.Mutex
	grace *time.Timer
}

// NewLifetime starts the lifetime of a run under parent: parent's end
// stops intake at once and cancels work grace later.
func NewLifetime(parent context.Context, grace time.Duration) *Lifetime {
	l := &Lifetime{}
	l.Intake, l.stopIntake = context.WithCancel(parent)
	l.Work, l.cancelWork = context.WithCancel(context.WithoutCancel(parent))
	l.stopGrace = context.AfterFunc(parent, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.grace = time.AfterFunc(grace, l.cancelWork)
	})
	return l
}

// Fail ends intake and work at once: nobody reads the output any more.
func (l *Lifetime) Fail() {
	l.stopIntake()
	l.cancelWork()
}

// End releases the lifetime's timer and contexts; the run is over.
func (l *Lifetime) End() {
	l.stopGrace()
	l.mu.Lock()
	if l.grace != nil {
		l.grace.Stop()
	}
	l.mu.Unlock()
	l.Fail()
}
