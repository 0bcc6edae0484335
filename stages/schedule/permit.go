package schedule

import (
	"context"
	"time"

	"sluice/record"
)

// Permits: the requests a rendered page makes (--render) are not records
// of their own, but each waits for its host's turn in the schedule as a
// record does, so that --host-rate, the host's slots, its pauses and its
// auto-throttle hold for them too. A permit is a record (URL and host
// only) and its grant, a channel the schedule keeps beside it: the
// schedule takes it into its host's queue, ahead of the host's records
// (the page that asks holds a render worker), and when it would send it to
// a fetch worker it closes the grant instead; its holder makes the request
// and gives the record back with Done, with the status, as the fetch stage
// does.

// permit is a request for a host's turn.
type permit struct {
	r     *record.Record
	grant chan struct{} // closed when the turn comes
}

// EnablePermits makes the schedule take permits until ClosePermits; it is
// called before the schedule starts.
func (s *Schedule) EnablePermits() {
	s.permits = make(chan permit, 64)
	s.permitted = map[*hostState]bool{}
	s.grants = map[*record.Record]chan struct{}{}
}

// ClosePermits says no more permits will be asked for: the schedule ends
// once it has nothing left. It is called when the stages that ask for
// permits have ended.
func (s *Schedule) ClosePermits() { close(s.permits) }

// Permit waits for host's turn and returns the permit to give back, with
// the request's outcome in it (Status, Err), by Done. When ctx ends first
// the permit is given back for its holder once it is granted.
func (s *Schedule) Permit(ctx context.Context, url, host string) (*record.Record, error) {
	p := permit{&record.Record{URL: url, Host: host}, make(chan struct{})}
	select {
	case s.permits <- p:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-p.grant:
		return p.r, nil
	case <-ctx.Done():
		go func() {
			<-p.grant
			s.Done(p.r)
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
	case p, ok := <-s.permits:
		s.admitPermit(p, ok)
		return true
	default:
		return false
	}
}

// admitPermit takes p into its host's queue, at the front; !ok: no more.
func (s *Schedule) admitPermit(p permit, ok bool) {
	if !ok {
		s.permits = nil
		return
	}
	r := p.r
	s.grants[r] = p.grant
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

// isPermit reports whether r, from a host's queue, is a permit.
func (s *Schedule) isPermit(r *record.Record) bool { return s.grants[r] != nil }

// granted lets the holder of permit r go: it was dispatched.
func (s *Schedule) granted(r *record.Record) {
	h := s.hosts[r.Host]
	if h.permits--; h.permits == 0 {
		delete(s.permitted, h)
	}
	close(s.grants[r])
	delete(s.grants, r)
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
