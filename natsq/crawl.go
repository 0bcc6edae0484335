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
	"time"

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

// String is s as flags: --scope host --depth 3 ….
func (s CrawlSettings) String() string {
	b := fmt.Sprintf("--scope %s --depth %d --max-redirects %d", s.Scope, s.Depth, s.MaxRedirects)
	for _, re := range s.Include {
		b += " --include " + strconv.Quote(re)
	}
	for _, re := range s.Exclude {
		b += " --exclude " + strconv.Quote(re)
	}
	if s.MaxPages > 0 {
		b += " --max-pages " + strconv.FormatInt(s.MaxPages, 10)
	}
	if s.Revisit != "" {
		b += " --revisit " + s.Revisit
	}
	return b
}

// StartCrawl starts the crawl of stream with settings s, or joins it: it
// makes the crawl's buckets when they are missing (replicas copies) and
// otherwise takes them as they are, since an update would reset the seen
// bucket's limits (--max-pages) while the crawl runs. The crawl's settings
// are s when it has none yet; otherwise the stored ones, and a setting
// given (the flag names, without "--") that differs from them is refused,
// naming the flag. It returns the crawl's settings and its seen set.
func StartCrawl(ctx context.Context, js jetstream.JetStream, stream string, replicas int, s CrawlSettings, given []string) (CrawlSettings, jetstream.KeyValue, error) {
	bucket := func(cfg jetstream.KeyValueConfig) (kv jetstream.KeyValue, err error) {
		cfg.History, cfg.Storage, cfg.Replicas = 1, jetstream.FileStorage, replicas
		err = Retry(ctx, func() (err error) {
			if kv, err = js.KeyValue(ctx, cfg.Bucket); !errors.Is(err, jetstream.ErrBucketNotFound) {
				return err
			}
			if kv, err = js.CreateKeyValue(ctx, cfg); errors.Is(err, jetstream.ErrBucketExists) {
				kv, err = js.KeyValue(ctx, cfg.Bucket) // another worker made it meanwhile
			}
			return err
		})
		return kv, err
	}
	settingsKV, err := bucket(jetstream.KeyValueConfig{Bucket: CrawlBucket(stream)})
	if err != nil {
		return s, nil, fmt.Errorf("crawl bucket: %w", err)
	}
	if err := Retry(ctx, func() (err error) { s, err = agreeCrawl(ctx, js, settingsKV, stream, s, given); return err }); err != nil {
		return s, nil, err
	}
	revisit, _ := time.ParseDuration(s.Revisit)
	seen, err := bucket(jetstream.KeyValueConfig{Bucket: SeenBucket(stream), TTL: revisit})
	if err != nil {
		return s, nil, fmt.Errorf("seen bucket: %w", err)
	}
	if s.MaxPages > 0 {
		if err := Retry(ctx, func() error { return limitPages(ctx, js, stream, s.MaxPages) }); err != nil {
			return s, nil, fmt.Errorf("--max-pages: %w", err)
		}
	}
	return s, seen, nil
}

// agreeCrawl stores s as the crawl's settings when it has none yet, and
// otherwise returns the stored ones, refusing a given setting that differs.
func agreeCrawl(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue, stream string, s CrawlSettings, given []string) (CrawlSettings, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return s, err
	}
	if _, err := kv.Create(ctx, settingsKey, b); err == nil || !errors.Is(err, jetstream.ErrKeyExists) {
		return s, err
	}
	v, _, err := Latest(ctx, js, kv.Bucket(), settingsKey)
	if err != nil {
		return s, err
	}
	var was CrawlSettings
	if err := json.Unmarshal(v, &was); err != nil {
		return s, fmt.Errorf("the crawl's settings in bucket %s: %w", CrawlBucket(stream), err)
	}
	for _, c := range []struct {
		flag      string
		now, then any
		same      bool
	}{
		{"scope", s.Scope, was.Scope, s.Scope == was.Scope},
		{"depth", s.Depth, was.Depth, s.Depth == was.Depth},
		{"include", s.Include, was.Include, slices.Equal(s.Include, was.Include)},
		{"exclude", s.Exclude, was.Exclude, slices.Equal(s.Exclude, was.Exclude)},
		{"max-redirects", s.MaxRedirects, was.MaxRedirects, s.MaxRedirects == was.MaxRedirects},
		{"max-pages", s.MaxPages, was.MaxPages, s.MaxPages == was.MaxPages},
		{"revisit", s.Revisit, was.Revisit, s.Revisit == was.Revisit},
	} {
		if !c.same && slices.Contains(given, c.flag) {
			return s, fmt.Errorf("--%s %v: the crawl of stream %s runs with --%s %v; every worker of a crawl applies its settings (leave the flag out to take them; a new crawl needs a new stream)", c.flag, c.now, stream, c.flag, c.then)
		}
	}
	return was, nil
}

// limitPages makes the seen bucket hold at most maxPages keys: its stream
// refuses a new message past that
// (key-value buckets discard new), so a key's create-only write past
// --max-pages fails (IsMaxPages) and the URL is not admitted, for the
// whole crawl, whichever worker asks.
func limitPages(ctx context.Context, js jetstream.JetStream, stream string, maxPages int64) error {
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
