package pipeline

import (
	"context"
	"sync"
	"time"
)

// lifetime is a run's one lifetime, in two stages, errgroup-style: the
// first fatal error (Fail) or the parent's end (a signal) stops intake at
// once; the work in flight is cancelled grace later, or at once on a fatal
// error. Records already read are never dropped: the stages drain them,
// marking what could not finish as canceled.
type lifetime struct {
	intake     context.Context // done: read no more input, start no new attempt
	work       context.Context // done: cancel the attempts and publishes in flight
	stopIntake context.CancelFunc
	cancelWork context.CancelFunc
	stopGrace  func() bool

	mu    sync.Mutex
	grace *time.Timer
}

func newLifetime(parent context.Context, grace time.Duration) *lifetime {
	l := &lifetime{}
	l.intake, l.stopIntake = context.WithCancel(parent)
	l.work, l.cancelWork = context.WithCancel(context.WithoutCancel(parent))
	l.stopGrace = context.AfterFunc(parent, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.grace = time.AfterFunc(grace, l.cancelWork)
	})
	return l
}

// Fail ends intake and work at once: nobody reads the output any more.
func (l *lifetime) Fail() {
	l.stopIntake()
	l.cancelWork()
}

// end releases the lifetime's timer and contexts; the run is over.
func (l *lifetime) end() {
	l.stopGrace()
	l.mu.Lock()
	if l.grace != nil {
		l.grace.Stop()
	}
	l.mu.Unlock()
	l.Fail()
}
