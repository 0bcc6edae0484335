package sources

import (
	"context"
	"errors"
	"maps"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice/natsq"
	"sluice/record"
)

// queueCrawl is a Queue's crawl (--in with --follow): the queue is the
// frontier. A message's place in the crawl travels in its header fields
// (natsq.HeaderDepth and the rest); one without them is a seed. Every
// worker decides alone from the message and the crawl's settings, which
// the first worker stored and the others must match (natsq.AgreeCrawl).
//
// Seen, by the server: a URL is admitted by the worker whose create-only
// write of its key into the seen bucket the server takes; a second
// worker finding the same link is refused. The key's value is the MsgID
// of the message whose page admitted it, so that when that message comes
// back (its worker died before acking it) its links are published again,
// under the same Nats-Msg-Id: the stream drops the copy of a publish that
// had been made. A page's message is acked only after the publishes of the
// links it admitted are confirmed: Offer returns once they are, before the
// page's record goes on to the sink.
type queueCrawl struct {
	depth     int                                              // the crawl's --depth
	scopeKind string                                           // the crawl's --scope
	scopeOf   func(kind, href string, u *url.URL) record.Scope // a seed's scope, as the crawl stage decides it
	bucket    string
	kv        jetstream.KeyValue
	js        jetstream.JetStream // the crawl's publishes, with room for a page's links (crawlBatch), apart from the sink's
	pages     sync.WaitGroup      // the pages whose writes are under way (offer); Close waits for them

	mu          sync.Mutex
	least       map[string]int                 // seen keys' least depths as this worker last knew them (they only fall): at most leastKept
	scopes      map[record.Scope]*record.Scope // shared by the tasks of a seed
	notAdmitted map[string]int64
	admitted    atomic.Int64
}

// crawlWait bounds the wait for the broker's confirmation of a page's
// seen keys and link publishes; a page whose links are not confirmed in
// time is handed back, and its links published again when it comes back.
const crawlWait = 30 * time.Second

// Crawl makes the queue the frontier of a crawl with settings s, or of the
// crawl it already is: it makes the crawl's buckets when they are missing
// and agrees on the settings (natsq.StartCrawl): those given must match the
// crawl's, and the rest are taken from it. It returns the crawl's settings,
// and is called before the source is connected. scopeOf gives a seed's
// scope of the crawl's kind (crawl.ScopeOf).
func (w *Queue) Crawl(ctx context.Context, s natsq.CrawlSettings, given []string, scopeOf func(kind, href string, u *url.URL) record.Scope) (natsq.CrawlSettings, error) {
	s, kv, err := natsq.StartCrawl(ctx, w.js, w.q.Stream, w.stream.CachedInfo().Config.Replicas, s, given)
	if err != nil {
		return s, err
	}
	js, err := jetstream.New(w.js.Conn(), jetstream.WithPublishAsyncMaxPending(4*crawlBatch), jetstream.WithPublishAsyncTimeout(crawlWait))
	if err != nil {
		return s, err
	}
	w.crawl = &queueCrawl{depth: s.Depth, scopeKind: s.Scope, scopeOf: scopeOf, bucket: natsq.SeenBucket(w.q.Stream), kv: kv, js: js, least: map[string]int{},
		scopes: map[record.Scope]*record.Scope{}, notAdmitted: map[string]int64{}}
	return s, nil
}

// task gives r, from msg, its place in the crawl: from the header fields,
// or as a seed, whose URL it marks seen (so that a link back to it is not
// followed), waiting out a cluster's election (natsq.Retry); a seed whose
// mark the broker did not take is not started but handed back, for later.
// A record with no URL to crawl from is written as it is. call makes the
// context of one call to the broker.
func (c *queueCrawl) task(r *record.Record, h nats.Header, call func() (context.Context, context.CancelFunc)) {
	if r.Target == nil || r.Skip != "" {
		return
	}
	href, err := record.WebURL(r.URL)
	if err != nil {
		return
	}
	t := r.Task
	depth := h.Get(natsq.HeaderDepth)
	if depth == "" {
		t.Origin = record.OriginInput
		t.Scope = c.scope(c.scopeOf(c.scopeKind, href, r.Target))
		err := natsq.Retry(context.Background(), func() error {
			ctx, cancel := call()
			defer cancel()
			// Not its own MsgID: that would read as "admitted by this
			// page" to the seed's own link back to itself, published
			// again when the seed's message comes back.
			key := natsq.SeenKey(href)
			_, err := c.kv.Create(ctx, key, natsq.Seen{By: "seed:" + t.MsgID}.Value())
			switch {
			case err == nil:
				c.admitted.Add(1)
			case errors.Is(err, jetstream.ErrKeyExists):
				// Found before as a link: crawled from here at depth 0, so
				// that no page found later has it fetched again.
				_, err = c.nearer(ctx, key, 0, "seed:"+t.MsgID)
			case natsq.IsMaxPages(err):
				return nil // past --max-pages: crawled, written, leads nowhere new
			}
			return err
		})
		if err != nil {
			r.Fail(record.KindCanceled, "not started: the crawl's seen set did not take the seed (%v); handed back", err)
		}
		return
	}
	switch h.Get(natsq.HeaderOrigin) {
	case "redirect":
		t.Origin = record.OriginRedirect
	case "again":
		t.Origin = record.OriginAgain
	default:
		t.Origin = record.OriginLink
	}
	t.Depth, _ = strconv.Atoi(depth)
	t.Hops, _ = strconv.Atoi(h.Get(natsq.HeaderHops))
	t.Parent, _ = strconv.ParseInt(h.Get(natsq.HeaderParent), 10, 64)
	kind, key, _ := strings.Cut(h.Get(natsq.HeaderScope), " ")
	t.Scope = c.scope(record.Scope{Kind: kind, Key: key})
}

func (c *queueCrawl) scope(s record.Scope) *record.Scope {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.scopes[s]
	if !ok {
		p = &s
		c.scopes[s] = p
	}
	return p
}

// Frontier is the queue as the discover stage's Offerer (crawl.Offerer).
func (w *Queue) Frontier() Offerer { return queueFrontier{w} }

// Offerer is what the discover stage offers a page's links to.
type Offerer interface {
	Offer(parent *record.Record, found []record.Found)
	Count(reason string)
}

type queueFrontier struct{ w *Queue }

func (f queueFrontier) Offer(parent *record.Record, found []record.Found) { f.w.offer(parent, found) }

// Count counts a URL the discover stage did not offer, by reason.
func (f queueFrontier) Count(reason string) { f.w.crawl.count(reason) }

func (c *queueCrawl) count(reason string) {
	c.mu.Lock()
	c.notAdmitted[reason]++
	c.mu.Unlock()
}

// offer admits what parent's page leads to: each URL whose seen key this
// worker creates (or created before, from parent's message, when it comes
// back) is published to its host's subject. The writes start at once and
// are seen through by a goroutine of the page's own, so that the parse
// worker goes on; parent's message is acked only once they are confirmed
// and its record is durably written, whichever comes last (neither the
// sink nor that goroutine waits for the other), and handed back when they
// are not, to be worked again.
func (w *Queue) offer(parent *record.Record, found []record.Found) {
	if len(found) == 0 {
		return
	}
	c := w.crawl
	t := parent.Task
	p := &offered{keys: make([]string, len(found)), created: make([]jetstream.PubAckFuture, len(found))}
	p.ok.Store(true)
	for i, f := range found[:min(len(found), crawlBatch)] {
		p.create(c, i, f, t.MsgID)
	}
	w.msgAcks.Wrap(parent, p.settleAfter)
	c.pages.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), crawlWait)
		defer cancel()
		c.admit(ctx, w.q.Subject, parent, found, p)
		if !p.ok.Load() {
			w.brokerErr("publish a crawl's links", errors.New("not confirmed: the page is handed back"))
		}
		p.linked()
	})
}

// crawlBatch is how many of a page's writes wait for the broker at once.
const crawlBatch = 512

// offered is a page's writes under way.
type offered struct {
	keys    []string
	created []jetstream.PubAckFuture // the seen keys' create-only writes
	ok      atomic.Bool              // every write that had to be confirmed was

	// The page's message is settled by whichever comes last: the sink's
	// verdict on its record, or the end of its writes.
	mu      sync.Mutex
	settle  func(done bool) // the message's own settling
	verdict *bool           // the sink's, once given
	done    bool            // the writes are all answered
}

// settleAfter returns what the sink's verdict on the page goes to: the
// page's message is settled once its writes are answered too, done only
// if they were all confirmed. Neither waits for the other.
func (p *offered) settleAfter(settle func(done bool)) func(done bool) {
	p.settle = settle
	return func(done bool) {
		p.mu.Lock()
		p.verdict = &done
		linked := p.done
		p.mu.Unlock()
		if linked {
			p.settle(done && p.ok.Load())
		}
	}
}

// linked notes that the page's writes are all answered, and settles its
// message if the sink has given its verdict.
func (p *offered) linked() {
	p.mu.Lock()
	p.done = true
	verdict := p.verdict
	p.mu.Unlock()
	if verdict != nil {
		p.settle(*verdict && p.ok.Load())
	}
}

// create starts the create-only write of f's seen key, its value the
// admitting message's id and f's depth.
func (p *offered) create(c *queueCrawl, i int, f record.Found, msgID string) {
	p.keys[i] = natsq.SeenKey(f.URL)
	m := nats.NewMsg(natsq.SeenSubject(c.bucket, p.keys[i]))
	m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0") // create-only
	m.Data = natsq.Seen{By: msgID, Depth: f.Depth}.Value()
	var err error
	if p.created[i], err = c.js.PublishMsgAsync(m); err != nil {
		p.ok.Store(false)
	}
}

// admit sees a page's writes through, a batch at a time: the seen keys,
// then the messages of the URLs this page admitted.
func (c *queueCrawl) admit(ctx context.Context, subject string, parent *record.Record, found []record.Found, p *offered) {
	t := parent.Task
	for from := 0; from < len(found); from += crawlBatch {
		to := min(from+crawlBatch, len(found))
		if from > 0 {
			for i := from; i < to; i++ {
				p.create(c, i, found[i], t.MsgID)
			}
		}
		var links []jetstream.PubAckFuture
		for i := from; i < to; i++ {
			if p.created[i] == nil {
				continue
			}
			f := found[i]
			err := wait(ctx, p.created[i])
			switch {
			case err == nil:
				c.know(p.keys[i], f.Depth)
			case isWrongLastSeq(err):
				var ok bool
				if f, ok, err = c.foundBefore(ctx, p.keys[i], f, t); err != nil {
					p.ok.Store(false)
					continue
				} else if !ok {
					c.count(record.NotSeen)
					continue
				}
			case natsq.IsMaxPages(err):
				c.count(record.NotMaxPages)
				continue
			default:
				p.ok.Store(false)
				continue
			}
			fut, err := c.js.PublishMsgAsync(c.linkMsg(subject, parent, f, p.keys[i]))
			if err != nil {
				p.ok.Store(false)
				continue
			}
			links = append(links, fut)
		}
		for _, fut := range links {
			if err := wait(ctx, fut); err != nil {
				p.ok.Store(false)
				continue
			}
			c.admitted.Add(1)
		}
	}
}

// foundBefore decides on f, found on t's page, whose seen key exists: it
// is published when t's message admitted it, or found it nearer its seed,
// the first time it was worked (it may have died before the publish; the
// stream drops a copy of one made); and published to be fetched again
// (HeaderOrigin "again") when t's page is nearer its seed than any that
// found it before, so that its links are followed from there and the
// crawl reaches what a breadth-first crawl of --depth reaches. It
// reports whether f is to be published, as what.
//
// What it costs: with many pages in flight a page's links often reach a
// URL before a page nearer its seed does (a deep graph at -c 64: a quarter
// of the pages fetched twice), and where --depth never cuts the crawl those
// fetches change nothing. A cheaper way, not built: write the nearer depth
// always, but publish "again" only once some page has been cut at --depth
// (a key in the crawl's bucket), after one scan of the seen bucket for the
// keys found nearer before that.
func (c *queueCrawl) foundBefore(ctx context.Context, key string, f record.Found, t *record.Task) (record.Found, bool, error) {
	if !t.Redelivered && f.Depth >= c.depth {
		return f, false, nil // it could not lead further from here: no need to ask
	}
	if t.Redelivered {
		b, _, err := natsq.Latest(ctx, c.js, c.bucket, key)
		if err != nil {
			return f, false, ignoreGone(err)
		}
		v, _ := natsq.ParseSeen(b)
		switch t.MsgID {
		case v.By:
			f.Depth = v.Depth
			return f, true, nil
		case v.LeastBy:
			f.Depth, f.Origin = v.Least, record.OriginAgain
			return f, true, nil
		}
	}
	if f.Depth >= c.depth || c.knownAt(key, f.Depth) {
		return f, false, nil
	}
	nearer, err := c.nearer(ctx, key, f.Depth, t.MsgID)
	if !nearer || err != nil {
		return f, false, ignoreGone(err)
	}
	f.Origin = record.OriginAgain
	return f, true, nil
}

// nearer writes into key that its URL was found at depth by the message
// by, when that is nearer its seed than it was found at before: it
// reports whether it wrote. The write expects the key's revision it read,
// so that of two workers finding it nearer at once, one writes.
func (c *queueCrawl) nearer(ctx context.Context, key string, depth int, by string) (bool, error) {
	for {
		b, rev, err := natsq.Latest(ctx, c.js, c.bucket, key)
		if err != nil {
			return false, err
		}
		v, ok := natsq.ParseSeen(b)
		if !ok || v.LeastDepth() <= depth {
			if ok {
				c.know(key, v.LeastDepth())
			}
			return false, nil
		}
		v.Least, v.LeastBy = depth, by
		_, err = c.kv.Update(ctx, key, v.Value(), rev)
		if err == nil {
			c.know(key, depth)
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return err == nil, err
		}
	}
}

// leastKept bounds the least depths a worker keeps (about 2.5 MB); past
// it they are forgotten, and asked for again.
const leastKept = 1 << 15

// know notes that key's URL has been found at depth.
func (c *queueCrawl) know(key string, depth int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.least) >= leastKept {
		clear(c.least)
	}
	if d, ok := c.least[key]; !ok || depth < d {
		c.least[key] = depth
	}
}

// knownAt reports whether key's URL is known to have been found at depth
// or nearer its seed: no page at depth can lead nearer.
func (c *queueCrawl) knownAt(key string, depth int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.least[key]
	return ok && d <= depth
}

// ignoreGone is err unless it says the key is gone (--revisit): the URL
// is not admitted again from the page that found it gone.
func ignoreGone(err error) error {
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

// linkMsg is the message of an admitted URL: on its host's subject, with
// its place in the crawl.
func (c *queueCrawl) linkMsg(subject string, parent *record.Record, f record.Found, key string) *nats.Msg {
	m := nats.NewMsg(natsq.InputSubject(subject, f.Host))
	m.Data = []byte(f.URL)
	m.Header.Set(jetstream.MsgIDHeader, natsq.LinkMsgID(key, parent.Task.MsgID))
	m.Header.Set(natsq.HeaderDepth, strconv.Itoa(f.Depth))
	m.Header.Set(natsq.HeaderParent, strconv.FormatInt(parent.Seq, 10))
	m.Header.Set(natsq.HeaderHops, strconv.Itoa(f.Hops))
	origin := "link"
	switch f.Origin {
	case record.OriginRedirect:
		origin = "redirect"
	case record.OriginAgain:
		origin = "again"
	}
	m.Header.Set(natsq.HeaderOrigin, origin)
	m.Header.Set(natsq.HeaderScope, f.Scope.Kind+" "+f.Scope.Key)
	return m
}

func wait(ctx context.Context, fut jetstream.PubAckFuture) error {
	select {
	case <-fut.Ok():
		return nil
	case err := <-fut.Err():
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isWrongLastSeq reports whether a create-only write was refused: the key
// exists (10071; 10164 on a replicated stream).
func isWrongLastSeq(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// CrawlStats are this worker's counts of the crawl (--stats).
func (w *Queue) CrawlStats() (admitted int64, notAdmitted map[string]int64) {
	c := w.crawl
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.admitted.Load(), maps.Clone(c.notAdmitted)
}

// Crawling reports whether the queue is a crawl's frontier.
func (w *Queue) Crawling() bool { return w.crawl != nil }
