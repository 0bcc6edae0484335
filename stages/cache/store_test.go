package cache

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func open(t *testing.T, dir string, opt Options) *Store {
	t.Helper()
	if opt.Max == 0 {
		opt.Max = 1 << 30
	}
	s, err := Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func response(body string) *Stored {
	at := time.Date(2026, 6, 1, 12, 0, 0, 123, time.UTC)
	return &Stored{
		Status: 200, Header: http.Header{"Etag": {`"x"`}, "Set-Cookie": {"a=1", "b=2"}}, Body: []byte(body),
		Length: int64(len(body)), Sum: sha256.Sum256([]byte(body)),
		Truncated: true, Vary: "Accept:text/html\n", Requested: at, Received: at.Add(time.Second),
	}
}

// What is stored comes back whole, after the store is closed and opened.
func TestStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	want := response("<p>hello</p>")
	s.Store("http://a.test/", want)
	if got := s.Lookup("http://b.test/"); got != nil {
		t.Errorf("Lookup of another key = %+v", got)
	}
	s.Close()
	s = open(t, dir, Options{})
	got := s.Lookup("http://a.test/")
	if got == nil || got.Status != 200 || got.Body != nil || !bytes.Equal(s.Body("http://a.test/"), want.Body) ||
		got.Length != want.Length || got.Sum != want.Sum || !got.Truncated || got.Vary != want.Vary ||
		!got.Requested.Equal(want.Requested) || !got.Received.Equal(want.Received) ||
		fmt.Sprint(got.Header) != fmt.Sprint(want.Header) {
		t.Errorf("Lookup = %+v; want %+v", got, want)
	}
	if size, n := s.Size(); n != 1 || size < int64(len(want.Body)) {
		t.Errorf("Size = %d bytes, %d entries", size, n)
	}
}

// Past Max, the least recently used entries go first: a Touch or a new
// Store makes an entry recent. The size kept never passes Max.
func TestStoreEvicts(t *testing.T) {
	s := open(t, t.TempDir(), Options{Max: 4500})
	body := strings.Repeat("x", 900)
	for i := range 4 {
		s.Store(fmt.Sprint(i), response(body))
	}
	s.Touch("0") // 1 is now the least recently used
	s.Store("4", response(body))
	s.Store("5", response(body))
	for key, kept := range map[string]bool{"0": true, "1": false, "2": false, "3": true, "4": true, "5": true} {
		if got := s.Lookup(key) != nil; got != kept {
			t.Errorf("entry %s kept: %v; want %v", key, got, kept)
		}
	}
	if size, n := s.Size(); size > 4500 || n != 4 {
		t.Errorf("Size = %d bytes, %d entries; want at most 4500, 4", size, n)
	}
	s.Store("huge", response(strings.Repeat("y", 5000))) // larger than Max: not kept, nothing evicted
	if s.Lookup("huge") != nil || s.Lookup("5") == nil {
		t.Error("an entry larger than Max was kept, or evicted others")
	}
}

// A second opener fails at once, naming the lock; with Wait it waits for
// the first to close.
func TestStoreLocked(t *testing.T) {
	dir := t.TempDir()
	first := open(t, dir, Options{})
	_, err := Open(dir, Options{Max: 1 << 20})
	if err == nil || !strings.Contains(err.Error(), "in use by another sluice") || !strings.Contains(err.Error(), "--cache-wait") {
		t.Fatalf("second Open = %v; want the lock named", err)
	}
	opened := make(chan error, 1)
	go func() {
		s, err := Open(dir, Options{Max: 1 << 20, Wait: true})
		if err == nil {
			s.Close()
		}
		opened <- err
	}()
	first.Store("k", response("v")) // the waiter cannot have opened meanwhile: it would have the lock
	select {
	case err := <-opened:
		t.Fatalf("Open with Wait returned while the first held the file: %v", err)
	default:
	}
	first.Close()
	if err := <-opened; err != nil {
		t.Errorf("Open with Wait after the first closed: %v", err)
	}
}

// A file that is not a sluice cache is an error naming it, never a panic:
// garbage, a truncated cache, a bbolt file of someone else's.
func TestStoreForeignOrDamaged(t *testing.T) {
	garbage := t.TempDir()
	os.WriteFile(filepath.Join(garbage, FileName), bytes.Repeat([]byte("not a database "), 1000), 0o600)

	truncated := t.TempDir()
	s := open(t, truncated, Options{})
	for i := range 50 {
		s.Store(fmt.Sprint(i), response(strings.Repeat("z", 3000)))
	}
	s.Close()
	path := filepath.Join(truncated, FileName)
	info, _ := os.Stat(path)
	os.Truncate(path, info.Size()/3)

	foreign := t.TempDir()
	db, err := bolt.Open(filepath.Join(foreign, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("theirs")); return err })
	db.Close()

	for name, dir := range map[string]string{"garbage": garbage, "foreign": foreign} {
		_, err := Open(dir, Options{Max: 1 << 20})
		if err == nil || !strings.Contains(err.Error(), FileName) {
			t.Errorf("%s: Open = %v; want an error naming the file", name, err)
		}
	}
	// A truncated file may open (bbolt reads its pages lazily); then every
	// lookup must be a miss or an entry, and a failing write a warning.
	var warnings []string
	s, err = Open(truncated, Options{Max: 1 << 20, Warn: func(m string) { warnings = append(warnings, m) }})
	if err != nil {
		t.Logf("truncated: %v", err)
		if !strings.Contains(err.Error(), FileName) {
			t.Errorf("truncated: Open = %v; want an error naming the file", err)
		}
		return
	}
	defer s.Close()
	for i := range 50 {
		s.Lookup(fmt.Sprint(i))
	}
	s.Store("new", response("v"))
	if len(warnings) > 1 {
		t.Errorf("more than one warning: %q", warnings)
	}
}

// A write that fails stops storing with one warning; lookups go on.
func TestStoreWriteFails(t *testing.T) {
	var warnings []string
	s := open(t, t.TempDir(), Options{Warn: func(m string) { warnings = append(warnings, m) }})
	s.Store("a", response("v"))
	s.db.Close() // every write fails from here on, as on a full disk (Close then finds it closed)
	s.Store("b", response("v"))
	s.Store("c", response("v"))
	s.Touch("a")
	if len(warnings) != 1 || !strings.Contains(warnings[0], "nothing more is stored") {
		t.Errorf("warnings = %q; want one", warnings)
	}
}

// A damaged entry is a miss.
func TestDecodeDamaged(t *testing.T) {
	good := encodeStored(nil, response("body"))
	for i := range len(good) {
		if s, err := decodeStored(good[:i]); err == nil {
			t.Errorf("decode of %d of %d bytes = %+v, nil error", i, len(good), s)
		}
	}
	if _, err := decodeStored(append(good, 0)); err == nil {
		t.Error("decode with a byte more: nil error")
	}
	if _, err := decodeStored(append([]byte{9}, good[1:]...)); err == nil {
		t.Error("decode of another version: nil error")
	}
}

// A 304 refreshes the entry and keeps the body; a refresh of an entry
// that is gone stores nothing.
func TestStoreRefresh(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	s.Store("k", response("the body"))
	fresh := response("")
	fresh.Header = http.Header{"Etag": {`"y"`}}
	s.Refresh("k", fresh)
	got := s.Lookup("k")
	if got == nil || string(s.Body("k")) != "the body" || got.Header.Get("Etag") != `"y"` {
		t.Errorf("after Refresh: %+v", got)
	}
	s.Refresh("gone", fresh)
	if s.Lookup("gone") != nil {
		t.Error("Refresh of an absent entry stored one")
	}
	size, n := s.Size()
	if n != 1 || size < int64(len("the body")) {
		t.Errorf("Size = %d, %d", size, n)
	}
}

// Invalidate forgets an entry and its body, its variants, and the size
// they took; other entries and an unknown key are untouched.
func TestStoreInvalidate(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	s.Store("a", response(strings.Repeat("a", 1000)))
	s.Store("a\x00Foo:1\n", response("a variant"))
	s.Store("b", response("b"))
	s.Store("ab", response("not a variant of a"))
	before, _ := s.Size()
	s.Invalidate("a")
	s.Invalidate("never stored")
	if s.Lookup("a") != nil || s.Body("a") != nil || s.Lookup("a\x00Foo:1\n") != nil || s.Lookup("b") == nil || s.Lookup("ab") == nil {
		t.Errorf("after Invalidate(a): a %v, its variant %v, b %v, ab %v", s.Lookup("a"), s.Lookup("a\x00Foo:1\n"), s.Lookup("b"), s.Lookup("ab"))
	}
	if after, n := s.Size(); n != 2 || before-after < 1000 {
		t.Errorf("Size %d bytes, %d entries after; %d before", after, n, before)
	}
	s.Store("a", response("again")) // its LRU place is gone too: storing again works
	if s.Lookup("a") == nil {
		t.Error("a stored again is not found")
	}
}
