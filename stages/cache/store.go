// Store keeps responses on disk for --cache: one bbolt file
// (go.etcd.io/bbolt, a B+tree in one file with ACID transactions and an
// flock) in the cache directory, bounded in size, least recently used
// entries evicted first.

package cache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FileName is the cache's file in its directory.
const FileName = "sluice-cache.db"

// format marks a bbolt file as a sluice cache, in the meta bucket.
const format = "sluice-cache 1"

var (
	metaBucket    = []byte("sluice")
	entriesBucket = []byte("entries") // URL -> stamp (8 bytes) + the response but its body
	bodiesBucket  = []byte("bodies")  // URL -> the body, apart: a 304 or a use rewrites the entry alone
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
	broken atomic.Bool // a write failed (disk full, corruption): nothing more is stored or looked up
	warned sync.Once
	clock  atomic.Int64 // last stamp given: nanoseconds, strictly increasing in a run
	writes chan write   // to the writer goroutine, which commits them in batches
	done   chan struct{}
	closed sync.Once
}

// write is a change to commit; its error comes back on done.
type write struct {
	fn   func(*bolt.Tx) error
	done chan error
}

var _ Cache = (*Store)(nil)

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
	// bbolt panics on some damaged files, and reading a page past the end
	// of a cut file faults (SIGBUS), which SetPanicOnFault turns into a
	// panic of this goroutine.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
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
	if err := whole(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s is damaged (%v): move it away or delete it", path, err)
	}
	s = &Store{db: db, opt: opt, writes: make(chan write), done: make(chan struct{})}
	s.clock.Store(time.Now().UnixNano())
	go s.writer()
	return s, nil
}

// whole checks that the file holds every page its meta page counts: a
// file cut short (a copy that stopped, a full disk long ago) would fault
// when those pages are read.
func whole(db *bolt.DB) error {
	info, err := os.Stat(db.Path())
	if err != nil {
		return err
	}
	return db.View(func(tx *bolt.Tx) error {
		if tx.Size() > info.Size() {
			return fmt.Errorf("%d bytes, its pages need %d", info.Size(), tx.Size())
		}
		return nil
	})
}

// initialize makes the buckets of a new file, and checks an old one is a
// sluice cache: its meta bucket says so.
func initialize(tx *bolt.Tx) error {
	if meta := tx.Bucket(metaBucket); meta != nil {
		if string(meta.Get(formatKey)) != format {
			return fmt.Errorf("not a cache of this sluice (its format is %q, this sluice's %q)", meta.Get(formatKey), format)
		}
		if tx.Bucket(entriesBucket) == nil || tx.Bucket(bodiesBucket) == nil || tx.Bucket(lruBucket) == nil {
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
	for _, name := range [][]byte{entriesBucket, bodiesBucket, lruBucket} {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the file; what was stored is on disk. Later calls do
// nothing.
func (s *Store) Close() (err error) {
	s.closed.Do(func() {
		close(s.writes)
		<-s.done
		err = s.db.Close()
	})
	return err
}

// Lookup returns the response kept for key, or nil.
func (s *Store) Lookup(key string) (kept *Stored) {
	if s.broken.Load() {
		return nil
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.recover()
	s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(entriesBucket).Get([]byte(key))
		if len(v) > 8 {
			kept, _ = decodeStored(v[8:]) // a value it cannot read is a miss, and is replaced
		}
		return nil
	})
	return kept
}

// Body returns the body kept for key, or nil.
func (s *Store) Body(key string) (body []byte) {
	if s.broken.Load() {
		return nil
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.recover()
	s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bodiesBucket).Get([]byte(key)); b != nil {
			body = bytes.Clone(b)
		}
		return nil
	})
	return body
}

// Store keeps st under key (it is encoded before Store returns), evicting
// the least recently used entries past Options.Max.
func (s *Store) Store(key string, st *Stored) { s.put(key, st, true) }

// Refresh rewrites key's entry from st, keeping the body stored: a 304
// renews the header fields and times alone.
func (s *Store) Refresh(key string, st *Stored) { s.put(key, st, false) }

func (s *Store) put(key string, st *Stored, body bool) {
	if s.broken.Load() {
		return
	}
	v := encodeStored(binary.BigEndian.AppendUint64(nil, uint64(s.stamp())), st)
	if int64(len(v)+len(st.Body)) > s.opt.Max {
		return
	}
	s.write(func(tx *bolt.Tx) error {
		if !body && tx.Bucket(entriesBucket).Get([]byte(key)) == nil {
			return nil // evicted meanwhile: the body is gone too
		}
		var b []byte
		if body {
			b = st.Body
		}
		return s.replace(tx, []byte(key), v, b, body)
	})
}

// Invalidate forgets key's entry and its body, and those of the keys that
// start with key and a NUL (the variants of a response kept under key).
func (s *Store) Invalidate(key string) {
	if s.broken.Load() {
		return
	}
	s.write(func(tx *bolt.Tx) error {
		entries := tx.Bucket(entriesBucket)
		doomed := [][]byte{[]byte(key)}
		prefix := []byte(key + "\x00")
		c := entries.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			doomed = append(doomed, bytes.Clone(k))
		}
		for _, k := range doomed {
			if err := s.remove(tx, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// remove deletes key's entry, body and place by last use, and the size
// they took.
func (s *Store) remove(tx *bolt.Tx, key []byte) error {
	entries, bodies, lru, meta := tx.Bucket(entriesBucket), tx.Bucket(bodiesBucket), tx.Bucket(lruBucket), tx.Bucket(metaBucket)
	old := entries.Get(key)
	if len(old) < 8 {
		return nil
	}
	size := int64(0)
	if b := meta.Get(sizeKey); len(b) == 8 {
		size = int64(binary.BigEndian.Uint64(b))
	}
	size -= int64(len(old) + len(bodies.Get(key)))
	if err := lru.Delete(append(old[:8:8], key...)); err != nil {
		return err
	}
	if err := entries.Delete(key); err != nil {
		return err
	}
	if err := bodies.Delete(key); err != nil {
		return err
	}
	return meta.Put(sizeKey, binary.BigEndian.AppendUint64(nil, uint64(max(size, 0))))
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
		return s.replace(tx, []byte(key), append(nv, v[8:]...), nil, false)
	})
}

// replace puts key's entry v (its stamp first), and its body when
// withBody, in place of the old ones, moves it to its place by last use,
// and evicts from the least recently used end past Options.Max. The size
// is read and written in the transaction, so writes committed together
// add up.
func (s *Store) replace(tx *bolt.Tx, key, v, body []byte, withBody bool) error {
	entries, bodies, lru, meta := tx.Bucket(entriesBucket), tx.Bucket(bodiesBucket), tx.Bucket(lruBucket), tx.Bucket(metaBucket)
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
	if withBody {
		size -= int64(len(bodies.Get(key)))
		if err := bodies.Put(key, body); err != nil {
			return err
		}
		size += int64(len(body))
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
		size -= int64(len(entries.Get(victim)) + len(bodies.Get(victim)))
		if err := entries.Delete(victim); err != nil {
			return err
		}
		if err := bodies.Delete(victim); err != nil {
			return err
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return meta.Put(sizeKey, binary.BigEndian.AppendUint64(nil, uint64(max(size, 0))))
}

// write runs fn in a write transaction, committed with the other
// goroutines' that wait meanwhile (one commit, one fsync, for many), and
// returns once it is on disk. A failure (a full disk, a damaged file)
// stops the cache for the rest of the run, with one warning.
func (s *Store) write(fn func(*bolt.Tx) error) {
	w := write{fn, make(chan error, 1)}
	s.writes <- w
	if err := <-w.done; err != nil {
		s.fail(err)
	}
}

// gatherFor is how long the writer gathers writes after the first of a
// commit (each commit writes pages and the freelist, and waits for
// fdatasync). 10,000 revalidations at -c 64 took 1,290 commits without
// it, 825 at 1 ms and 253 at 10 ms (CPU 3.6, 2.8, 2.5 s); 3,000 pages
// arriving slowly (bench/cache.sh's paced site) cost 4.2 s of CPU to
// store at 1 ms, 2.7 s at 10 ms. A record waits that long at most.
const gatherFor = 10 * time.Millisecond

// writer commits the writes that come, those that came within gatherFor
// of the first together.
func (s *Store) writer() {
	defer close(s.done)
	debug.SetPanicOnFault(true)
	var batch []write
	gather := time.NewTimer(0)
	<-gather.C
	for w := range s.writes {
		batch = append(batch[:0], w)
		gather.Reset(gatherFor)
	more:
		for len(batch) < 1024 {
			select {
			case w, ok := <-s.writes:
				if !ok {
					break more
				}
				batch = append(batch, w)
			case <-gather.C:
				break more
			}
		}
		gather.Stop()
		err := s.commit(batch)
		for _, w := range batch {
			w.done <- err
		}
	}
}

// commit runs a batch in one transaction. A write that fails alone makes
// them all fail: the cache stops, so there is nothing to redo.
func (s *Store) commit(batch []write) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	if s.broken.Load() {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, w := range batch {
			if err := w.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
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
