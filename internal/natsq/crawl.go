package natsq

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// A crawl through the queue (sluice --in … --follow): the queue is the
// crawl's frontier. A message of a URL the crawl admitted carries its
// place in the crawl in these header fields; a message without them is a
// seed, whoever published it.
const (
	HeaderDepth  = "Sluice-Depth"  // links followed from its seed
	HeaderParent = "Sluice-Parent" // the stream sequence of the message whose page admitted it
	HeaderHops   = "Sluice-Hops"   // redirects followed in a row to get here
	HeaderOrigin = "Sluice-Origin" // "link", "redirect", or "again": a page found again nearer its seed, fetched again to follow its links from there
	HeaderScope  = "Sluice-Scope"  // its seed's scope: the kind, a space, the key ("host a.test:8080")
)

// SeenBucket is the key-value bucket of a crawl's seen set: a URL's key
// (SeenKey) is created, create-only, by the worker that admits it, its
// value a Seen. With --revisit D the bucket's keys live D (its TTL: the
// stream's MaxAge, no delete markers), after which the URL can be
// admitted again.
func SeenBucket(stream string) string { return "sluice_seen_" + stream }

// Seen is a seen key's value: the MsgID of the message whose page
// admitted the URL ("seed:" and its own for a seed) and the depth it was
// admitted at; and, once a page nearer a seed found it again, the least
// depth it has been found at and the MsgID of that page's message, which
// had it fetched again from there (HeaderOrigin "again"). Written as
// "BY DEPTH" or "BY DEPTH LEAST LEASTBY".
type Seen struct {
	By      string
	Depth   int
	Least   int
	LeastBy string // "" until it is found again nearer a seed
}

// Value is s as the key holds it.
func (s Seen) Value() []byte {
	v := s.By + " " + strconv.Itoa(s.Depth)
	if s.LeastBy != "" {
		v += " " + strconv.Itoa(s.Least) + " " + s.LeastBy
	}
	return []byte(v)
}

// LeastDepth is the least depth the URL has been found at.
func (s Seen) LeastDepth() int {
	if s.LeastBy != "" {
		return min(s.Least, s.Depth)
	}
	return s.Depth
}

// ParseSeen reads a seen key's value; ok is false when it is not one.
func ParseSeen(b []byte) (s Seen, ok bool) {
	f := strings.Fields(string(b))
	if len(f) != 2 && len(f) != 4 {
		return Seen{}, false
	}
	s.By = f[0]
	var err error
	if s.Depth, err = strconv.Atoi(f[1]); err != nil {
		return Seen{}, false
	}
	if len(f) == 4 {
		if s.Least, err = strconv.Atoi(f[2]); err != nil {
			return Seen{}, false
		}
		s.LeastBy = f[3]
	}
	return s, true
}

// CrawlBucket is the key-value bucket of a crawl's settings, which
// outlive the seen keys.
func CrawlBucket(stream string) string { return "sluice_crawl_" + stream }

// SeenKey is a URL's key in the seen set: the first 128 bits of the
// SHA-256 of the URL as the WHATWG URL Standard serializes it, in hex.
func SeenKey(url string) string {
	sum := sha256.Sum256([]byte(url))
	return hex.EncodeToString(sum[:16])
}

// SeenSubject is the subject a URL's key is written on, to publish it
// create-only (Nats-Expected-Last-Subject-Sequence: 0) without a round
// trip of its own.
func SeenSubject(bucket, key string) string { return "$KV." + bucket + "." + key }

// LinkMsgID is the Nats-Msg-Id of the message of the URL of key, admitted
// from the page of message parent: a page worked twice publishes its links
// twice, and the stream keeps one; the same URL admitted again later
// (--revisit) from another page is a message of its own.
func LinkMsgID(key, parent string) string { return "crawl:" + key + ":" + parent }

// settingsKey holds the crawl's settings in its crawl bucket.
const settingsKey = "settings"

// CrawlSettings are what every worker of a crawl must apply alike.
type CrawlSettings struct {
	Scope        string   `json:"scope"`
	Depth        int      `json:"depth"`
	Include      []string `json:"include,omitempty"`
	Exclude      []string `json:"exclude,omitempty"`
	MaxRedirects int      `json:"max_redirects"`
	MaxPages     int64    `json:"max_pages,omitempty"`
	Revisit      string   `json:"revisit,omitempty"`
}

// AgreeCrawl stores s as the crawl's settings when it has none yet (the
// first worker starts the crawl), and otherwise refuses settings that
// differ from the stored ones, naming the flag.
func AgreeCrawl(ctx context.Context, kv jetstream.KeyValue, stream string, s CrawlSettings) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if _, err := kv.Create(ctx, settingsKey, b); err == nil || !errors.Is(err, jetstream.ErrKeyExists) {
		return err
	}
	e, err := kv.Get(ctx, settingsKey)
	if err != nil {
		return err
	}
	var was CrawlSettings
	if err := json.Unmarshal(e.Value(), &was); err != nil {
		return fmt.Errorf("the crawl's settings in bucket %s: %w", CrawlBucket(stream), err)
	}
	differ := func(flag string, now, then any) error {
		return fmt.Errorf("%s %v: the crawl of stream %s runs with %s %v; every worker of a crawl applies its settings (a new crawl needs a new stream)", flag, now, stream, flag, then)
	}
	switch {
	case s.Scope != was.Scope:
		return differ("--scope", s.Scope, was.Scope)
	case s.Depth != was.Depth:
		return differ("--depth", s.Depth, was.Depth)
	case !slices.Equal(s.Include, was.Include):
		return differ("--include", s.Include, was.Include)
	case !slices.Equal(s.Exclude, was.Exclude):
		return differ("--exclude", s.Exclude, was.Exclude)
	case s.MaxRedirects != was.MaxRedirects:
		return differ("--max-redirects", s.MaxRedirects, was.MaxRedirects)
	case s.MaxPages != was.MaxPages:
		return differ("--max-pages", s.MaxPages, was.MaxPages)
	case s.Revisit != was.Revisit:
		return differ("--revisit", s.Revisit, was.Revisit)
	}
	return nil
}

// LimitPages makes the seen bucket hold at most maxPages keys: its stream
// refuses a new message past that
// (key-value buckets discard new), so a key's create-only write past
// --max-pages fails (IsMaxPages) and the URL is not admitted, for the
// whole crawl, whichever worker asks.
func LimitPages(ctx context.Context, js jetstream.JetStream, stream string, maxPages int64) error {
	s, err := js.Stream(ctx, "KV_"+SeenBucket(stream))
	if err != nil {
		return err
	}
	cfg := s.CachedInfo().Config
	if cfg.MaxMsgs == maxPages {
		return nil
	}
	cfg.MaxMsgs = maxPages
	_, err = js.UpdateStream(ctx, cfg)
	return err
}

// IsMaxPages reports whether a seen key's write was refused because the
// bucket holds --max-pages keys.
func IsMaxPages(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == jsStoreFailed && strings.Contains(api.Description, "maximum messages")
}

// jsStoreFailed is nats-server's JSStreamStoreFailedF: "maximum messages
// exceeded" from a stream that discards new messages.
const jsStoreFailed jetstream.ErrorCode = 10077
