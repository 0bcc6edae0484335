package schedule

import (
	"time"

	"sluice/record"
)

// RetryPolicy decides which attempts are tried again and when.
type RetryPolicy struct {
	Retries  int           // attempts after the first
	Statuses map[int]bool  // statuses worth another attempt
	Base     time.Duration // first backoff ceiling; doubles per attempt
	Max      time.Duration // cap on any wait, Retry-After included
	Unsafe   bool          // also retry requests that are not record.Record.Replayable
}

// DefaultRetryStatuses are the statuses retried unless --retry-on says otherwise.
var DefaultRetryStatuses = map[int]bool{429: true, 502: true, 503: true, 504: true}

// retryableKinds are the errors worth another attempt: the network's
// passing troubles, not answers that would come out the same again.
var retryableKinds = map[record.Kind]bool{record.KindTimeout: true, record.KindConnect: true, record.KindReset: true}

// retryable reports whether r's last attempt is worth another under p.
func (p *RetryPolicy) retryable(r *record.Record) bool {
	if r.Attempts == 0 || r.Attempts > p.Retries {
		return false
	}
	if !r.Replayable && !p.Unsafe {
		return false
	}
	if r.Status != 0 {
		return p.Statuses[r.Status]
	}
	return r.Err != nil && retryableKinds[r.Err.Kind]
}

// backoff is the wait before attempt r.Attempts+1: the server's Retry-After
// when it gave one, else exponential with full jitter (a uniform draw below
// Base * 2^(attempts-1)), never more than Max.
func (p *RetryPolicy) backoff(r *record.Record, rnd func(int64) int64) time.Duration {
	if r.RetryAfter > 0 {
		return min(r.RetryAfter, p.Max)
	}
	ceiling := p.Max
	if shift := r.Attempts - 1; shift < 62 && p.Base < p.Max>>shift {
		ceiling = p.Base << shift
	}
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rnd(int64(ceiling)))
}
