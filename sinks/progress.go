package sinks

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Counts is what the progress line shows, read once per tick.
type Counts struct {
	Done        int64        // records written or skipped
	InFlight    int64        // requests under way
	Waiting     int64        // records held for a rate limit, a slot, a pause or a retry
	AtHostLimit int64        // hosts whose ready records wait only for a --host-concurrency slot
	Errors      int64        // records written with an error
	Requests    int64        // attempts started, for requests/s
	Read        int64        // records read
	BytesRead   int64        // input bytes read: with the input's size, estimates the records to come
	Crawl       *CrawlCounts // --follow; nil otherwise
}

// CrawlCounts is what the progress line shows of a crawl.
type CrawlCounts struct {
	Frontier int64 // admitted URLs waiting to be released
	Hosts    int64 // hosts the schedule keeps state for
}

// progressTick is how often the line is redrawn.
const progressTick = 250 * time.Millisecond

// Progress draws a live status line on a terminal (stderr; never stdout)
// with schollz/progressbar: records done, in flight, waiting, errors and
// requests/s; when the input's size is known, also a percentage and ETA of
// records done out of the records the input holds, estimated from the
// records read per byte read (exact once the input is read). One goroutine
// redraws it until Stop.
type Progress struct {
	bar   *progressbar.ProgressBar
	read  func() Counts
	total int64 // input bytes, -1 when unknown
	done  chan struct{}
	wg    sync.WaitGroup
}

// StartProgress starts drawing on w. total is the input's size in bytes,
// or -1 when it is not known (a pipe): then a spinner stands in for the bar.
func StartProgress(w io.Writer, total int64, read func() Counts) *Progress {
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(20),
		progressbar.OptionThrottle(progressTick),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	}
	max := int64(-1) // a spinner until the size of the input says more
	if total > 0 {
		max = 1 << 62 // replaced by the estimate at the first tick
		opts = append(opts, progressbar.OptionSetPredictTime(true), progressbar.OptionShowCount())
	} else {
		opts = append(opts, progressbar.OptionSpinnerType(14))
	}
	p := &Progress{bar: progressbar.NewOptions64(max, opts...), read: read, total: total, done: make(chan struct{})}
	p.wg.Go(p.run)
	return p
}

func (p *Progress) run() {
	t := time.NewTicker(progressTick)
	defer t.Stop()
	last, lastAt, rate := int64(0), time.Now(), 0.0
	for {
		select {
		case <-p.done:
			return
		case now := <-t.C:
			c := p.read()
			if dt := now.Sub(lastAt).Seconds(); dt > 0 {
				rate = 0.7*rate + 0.3*float64(c.Requests-last)/dt // smoothed
			}
			last, lastAt = c.Requests, now
			if p.total > 0 && c.BytesRead > 0 {
				p.bar.ChangeMax64(max(c.Done+1, c.Read*p.total/c.BytesRead)) // +1: the bar ends at Stop, not before
			}
			p.bar.Set64(c.Done) // an error here is a failed redraw: the next tick tries again
			p.bar.Describe(Describe(c, rate))
		}
	}
}

// Describe is the line's text.
func Describe(c Counts, rate float64) string {
	waiting := fmt.Sprint(c.Waiting)
	if c.AtHostLimit > 0 {
		hosts := "hosts"
		if c.AtHostLimit == 1 {
			hosts = "host"
		}
		waiting += fmt.Sprintf(" (%d %s at --host-concurrency)", c.AtHostLimit, hosts)
	}
	line := fmt.Sprintf("done %d · in flight %d · waiting %s · errors %d · %.0f req/s", c.Done, c.InFlight, waiting, c.Errors, rate)
	if c.Crawl != nil {
		line += fmt.Sprintf(" · frontier %d · hosts %d", c.Crawl.Frontier, c.Crawl.Hosts)
	}
	return line
}

// Stop ends the redraws and clears the line. Finish (with ClearOnFinish)
// also ends the library's own spinner goroutine, which Clear would not.
func (p *Progress) Stop() {
	close(p.done)
	p.wg.Wait()
	p.bar.Finish() // clears the line; if drawing fails there is nothing left to do
}
