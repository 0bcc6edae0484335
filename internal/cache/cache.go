// Package cache keeps HTTP responses between runs for --cache: one bbolt
// file (go.etcd.io/bbolt, a B+tree in one file with ACID transactions and
// an flock) in the cache directory, bounded in size, least recently used
// entries evicted first. The HTTP rules (what to keep, when it is fresh,
// conditional requests) are the fetch stage's (stages.Cache); this package
// stores and finds.
package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"sluice/stages"
)

// FileName is the cache's file in its directory.
const FileName = "sluice-cache.db"

// format marks a bbolt file as a sluice cache, in the meta bucket.
const format = "sluice-cache 1"

var (
	metaBucket    = []byte("sluice")
	entriesBucket = []byte("entries") // URL -> stamp (8 bytes) + encoded response
	lruBucket     = []byte("lru")     // stamp (8 bytes) + URL -> nothing: entries by last use
	formatKey     = []byte("format")
	sizeKey       = []byte("size") // bytes of the entries' values, 8 bytes big-endian
)

// Options are --cache-max, --cache-wait, and where warnings go.
type Options struct {
	Max  int64            // most bytes of entries kept; the least recently used go first
	Wait bool             // wait for another sluice using the directory to end, instead of failing
	Warn func(msg string) // told once when the cache stops working during a run
}

// Store is an open cache. It is safe for concurrent use.
type Store struct {
	db     *bolt.DB
	opt    Options
	broken atomic.Bool // a write failed (disk full, corruption): nothing more is stored
	warned sync.Once
	clock  atomic.Int64 // last stamp given: nanoseconds, strictly increasing in a run
}

var _ stages.Cache = (*Store)(nil)

// Open opens (making when absent) the cache in dir. Another process that
// has it open makes Open fail at once, naming the lock, unless opt.Wait.
// A file that is not a sluice cache, or is damaged, is an error that says
// which file; never a panic.
func Open(dir string, opt Options) (s *Store, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	timeout := 100 * time.Millisecond
	if opt.Wait {
		timeout = 0 // bbolt waits for the lock without a limit
	}
	defer func() {
		if p := recover(); p != nil { // bbolt panics on some damaged files
			s, err = nil, fmt.Errorf("%s is damaged (%v): move it away or delete it", path, p)
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("%s is in use by another sluice (it holds the file's lock): wait for it to end, or give --cache-wait", path)
	case err != nil:
		return nil, fmt.Errorf("%s is not a cache sluice can open (%v): move it away or delete it", path, err)
	}
	if err := db.Update(initialize); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s = &Store{db: db, opt: opt}
	s.clock.Store(time.Now().UnixNano())
	return s, nil
}

// initialize makes the buckets of a new file, and checks an old one is a
// sluice cache: its meta bucket says so.
func initialize(tx *bolt.Tx) error {
	if meta := tx.Bucket(metaBucket); meta != nil {
		if string(meta.Get(formatKey)) != format {
			return fmt.Errorf("not a cache of this sluice (its format is %q, this sluice's %q)", meta.Get(formatKey), format)
		}
		if tx.Bucket(entriesBucket) == nil || tx.Bucket(lruBucket) == nil {
			return errors.New("damaged: a bucket is missing; move it away or delete it")
		}
		return nil
	}
	foreign := false
	tx.ForEach(func([]byte, *bolt.Bucket) error { foreign = true; return nil })
	if foreign {
		return errors.New("a bbolt file that is not a sluice cache: give --cache a directory of its own")
	}
	meta, err := tx.CreateBucket(metaBucket)
	if err != nil {
		return err
	}
	if err := meta.Put(formatKey, []byte(format)); err != nil {
		return err
	}
	if _, err := tx.CreateBucket(entriesBucket); err != nil {
		return err
	}
	_, err = tx.CreateBucket(lruBucket)
	return err
}

// Close closes the file; what was stored is on disk.
func (s *Store) Close() error { return s.db.Close() }

// Lookup returns the response kept for key, or nil.
func (s *Store) Lookup(key string) (kept *stages.Stored) {
	defer s.recover()
	s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(entriesBucket).Get([]byte(key))
		if len(v) > 8 {
			kept, _ = decode(v[8:]) // a value it cannot read is a miss, and is replaced
		}
		return nil
	})
	return kept
}

// Store keeps st under key (it is encoded before Store returns), evicting
// the least recently used entries past Options.Max.
func (s *Store) Store(key string, st *stages.Stored) {
	if s.broken.Load() {
		return
	}
	v := binary.BigEndian.AppendUint64(nil, uint64(s.stamp()))
	v = encode(v, st)
	if int64(len(v)) > s.opt.Max {
		return
	}
	s.write(func(tx *bolt.Tx) error { return s.put(tx, []byte(key), v) })
}

// Touch marks key's entry as used now.
func (s *Store) Touch(key string) {
	if s.broken.Load() {
		return
	}
	stamp := s.stamp()
	s.write(func(tx *bolt.Tx) error {
		v := tx.Bucket(entriesBucket).Get([]byte(key))
		if len(v) <= 8 {
			return nil
		}
		nv := binary.BigEndian.AppendUint64(nil, uint64(stamp))
		return s.put(tx, []byte(key), append(nv, v[8:]...))
	})
}

// put replaces key's entry with v (its stamp first) in its place by last
// use, and evicts from the least recently used end past Options.Max. It
// may run more than once for one write (bbolt's Batch), to the same end.
func (s *Store) put(tx *bolt.Tx, key, v []byte) error {
	entries, lru, meta := tx.Bucket(entriesBucket), tx.Bucket(lruBucket), tx.Bucket(metaBucket)
	size := int64(0)
	if b := meta.Get(sizeKey); len(b) == 8 {
		size = int64(binary.BigEndian.Uint64(b))
	}
	if old := entries.Get(key); len(old) >= 8 {
		if err := lru.Delete(append(old[:8:8], key...)); err != nil {
			return err
		}
		size -= int64(len(old))
	}
	if err := entries.Put(key, v); err != nil {
		return err
	}
	if err := lru.Put(append(v[:8:8], key...), nil); err != nil {
		return err
	}
	size += int64(len(v))
	c := lru.Cursor()
	for k, _ := c.First(); k != nil && size > s.opt.Max; k, _ = c.First() {
		victim := k[8:]
		size -= int64(len(entries.Get(victim)))
		if err := entries.Delete(victim); err != nil {
			return err
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return meta.Put(sizeKey, binary.BigEndian.AppendUint64(nil, uint64(max(size, 0))))
}

// write runs fn in a write transaction, batched with other goroutines'
// (one commit, one fsync, for many). A failure (a full disk, a damaged
// file) stops storing for the rest of the run, with one warning.
func (s *Store) write(fn func(*bolt.Tx) error) {
	defer s.recover()
	if err := s.db.Batch(fn); err != nil {
		s.fail(err)
	}
}

func (s *Store) recover() {
	if p := recover(); p != nil {
		s.fail(fmt.Errorf("%v", p))
	}
}

func (s *Store) fail(err error) {
	s.broken.Store(true)
	s.warned.Do(func() {
		if s.opt.Warn != nil {
			s.opt.Warn(fmt.Sprintf("--cache: %s: %v; nothing more is stored in this run, which goes on", s.db.Path(), err))
		}
	})
}

// stamp is a strictly increasing time for the order of last use.
func (s *Store) stamp() int64 {
	for {
		last, now := s.clock.Load(), time.Now().UnixNano()
		next := max(now, last+1)
		if s.clock.CompareAndSwap(last, next) {
			return next
		}
	}
}

// Size returns the bytes of entries kept and how many there are.
func (s *Store) Size() (bytes int64, entries int) {
	s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(metaBucket).Get(sizeKey); len(b) == 8 {
			bytes = int64(binary.BigEndian.Uint64(b))
		}
		entries = tx.Bucket(entriesBucket).Stats().KeyN
		return nil
	})
	return bytes, entries
}
