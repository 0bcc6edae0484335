package schedule

import (
	"context"
	"time"

	"sluice/record"
)

// Permits: the requests a rendered page makes (--render) are not records
// of their own, but each waits for its host's turn in the schedule as a
// record does, so that --host-rate, the host's slots, its pauses and its
// auto-throttle hold for them too. A permit is a record with a Grant
// channel: the schedule takes it into its host's queue, ahead of the
// host's records (the page that asks holds a render worker), and when it
// would send it to a fetch worker it closes Grant instead; its holder
// makes the request and gives it back with Done, with the status, as the
// fetch stage does.

// EnablePermits makes the schedule take permits until ClosePermits; it is
// called before the schedule starts.
func (s *Schedule) EnablePermits() {
	s.permits = make(chan *record.Record, 64)
	s.permitted = map[*hostState]bool{}
}

// ClosePermits says no more permits will be asked for: the schedule ends
// once it has nothing left. It is called when the stages that ask for
// permits have ended.
func (s *Schedule) ClosePermits() { close(s.permits) }

// Permit waits for host's turn and returns the permit to give back, with
// the request's outcome in it (Status, Err), by Done. When ctx ends first
// the permit is given back for its holder once it is granted.
func (s *Schedule) Permit(ctx context.Context, url, host string) (*record.Record, error) {
	r := &record.Record{URL: url, Host: host, Grant: make(chan struct{})}
	select {
	case s.permits <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-r.Grant:
		return r, nil
	case <-ctx.Done():
		go func() {
			<-r.Grant
			s.Done(r)
		}()
		return nil, ctx.Err()
	}
}

// takePermit takes a permit that is waiting, if any, and reports whether
// it took one or saw the end of permits.
func (s *Schedule) takePermit() bool {
	if s.permits == nil {
		return false
	}
	select {
	case r, ok := <-s.permits:
		s.admitPermit(r, ok)
		return true
	default:
		return false
	}
}

// admitPermit takes r into its host's queue, at the front; !ok: no more.
func (s *Schedule) admitPermit(r *record.Record, ok bool) {
	if !ok {
		s.permits = nil
		return
	}
	s.count++
	s.waiting.Add(1)
	h := s.hosts[r.Host]
	if h == nil {
		h = s.newHost(r.Host)
	}
	h.queue.PushFront(r)
	h.permits++
	s.permitted[h] = true
	s.wake(h)
}

// granted lets the holder of permit r go: it was dispatched.
func (s *Schedule) granted(r *record.Record) {
	h := s.hosts[r.Host]
	if h.permits--; h.permits == 0 {
		delete(s.permitted, h)
	}
	close(r.Grant)
	s.waiting.Add(-1)
}

// grantWaiting grants, while the picked record waits for a fetch worker,
// the permits that their hosts' limits let go now; it returns when the
// next of the others may go (zero for none).
func (s *Schedule) grantWaiting(now time.Time) time.Time {
	var wake time.Time
	for h := range s.permitted {
		for h.permits > 0 && h.inFlight < h.maxConc {
			at := h.readyAt(now)
			if s.global != nil {
				if g := tokenAt(s.global, now); g.After(at) {
					at = g
				}
			}
			if at.After(now) {
				if wake.IsZero() || at.Before(wake) {
					wake = at
				}
				break
			}
			s.granted(s.spend(h, now))
		}
	}
	return wake
}
