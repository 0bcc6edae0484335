package flow

import (
	"sync"
	"sync/atomic"

	"sluice/record"
)

// Keeper is a writer that comes before the output: an archive (--warc).
// Its methods are called from the sink's goroutine.
type Keeper interface {
	// Keep takes, buffered, what r holds for this writer (it may add to r
	// what the output should say of it: where it was kept).
	Keep(r *record.Record) error
	// Commit makes durable everything kept so far.
	Commit() error
}

// Chain is the Writer of a sink whose records go to keepers before the
// output: a record goes on to out only once every keeper has made it
// durable, so that a record told durable (counted written; acked, with
// --in; logged written, with --state) is in every writer. After a keeper
// has failed, no record goes on to out: each is told lost and counted
// Lost, and onErr, called once, stops the run. What a keeper
// failed to make durable is not in the output either: an output line always
// points at what the archive holds.
type Chain struct {
	keepers []Keeper
	out     Writer
	onErr   func(error)
	held    []*record.Record                // kept, not yet committed
	aside   []*record.Record                // kept, not to be written, not yet committed
	durable func(r *record.Record, ok bool) // Track's; nil when untracked

	lost atomic.Int64
	mu   sync.Mutex
	err  error
}

var _ Writer = (*Chain)(nil)

// NewChain returns a writer that hands every record to keepers, in order,
// then to out.
func NewChain(out Writer, onErr func(error), keepers ...Keeper) *Chain {
	return &Chain{keepers: keepers, out: out, onErr: onErr}
}

// Track tells durable what became of each record: out tells of those it
// writes, the chain of those it drops and those it sets aside.
func (c *Chain) Track(durable func(r *record.Record, ok bool)) {
	c.durable = durable
	c.out.Track(durable)
}

// tell tells the tracker, if any, what became of r.
func (c *Chain) tell(r *record.Record, ok bool) {
	if c.durable != nil {
		c.durable(r, ok)
	}
}

// Write keeps r in every keeper and holds it for out until they commit.
func (c *Chain) Write(r *record.Record) {
	if c.keep(r) {
		c.held = append(c.held, r)
		return
	}
	c.drop(r)
}

// Aside keeps r, a record that is never written (a crawl's own sitemap, a
// page fetched again), in every keeper, without writing it on; it is told
// durable with the next commit.
func (c *Chain) Aside(r *record.Record) {
	if c.keep(r) {
		c.aside = append(c.aside, r)
		return
	}
	c.tell(r, false) // not lost: it was never to be written
}

func (c *Chain) keep(r *record.Record) bool {
	if c.Err() != nil {
		return false
	}
	for _, k := range c.keepers {
		if err := k.Keep(r); err != nil {
			c.fail(err)
			return false
		}
	}
	return true
}

// Flush commits every keeper, then writes the records they hold on to out
// and flushes it; after a failed commit those records are dropped.
func (c *Chain) Flush(end bool) {
	if c.Err() == nil {
		for _, k := range c.keepers {
			if err := k.Commit(); err != nil {
				c.fail(err)
				break
			}
		}
	}
	ok := c.Err() == nil
	for i, r := range c.held {
		if ok {
			c.out.Write(r)
		} else {
			c.drop(r)
		}
		c.held[i] = nil
	}
	c.held = c.held[:0]
	for i, r := range c.aside {
		c.tell(r, ok)
		c.aside[i] = nil
	}
	c.aside = c.aside[:0]
	c.out.Flush(end)
}

func (c *Chain) drop(r *record.Record) {
	c.lost.Add(1)
	c.tell(r, false)
}

func (c *Chain) fail(err error) {
	c.mu.Lock()
	first := c.err == nil
	if first {
		c.err = err
	}
	c.mu.Unlock()
	if first && c.onErr != nil {
		c.onErr(err)
	}
}

// Err returns the first keeper's error, if any.
func (c *Chain) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Lost returns how many records were not written because a keeper had
// failed.
func (c *Chain) Lost() int64 { return c.lost.Load() }
