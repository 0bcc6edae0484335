package sinks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jsoniter "github.com/json-iterator/go"

	"sluice/flow"
	"sluice/record"
)

// WARCOptions configure a WARC writer.
type WARCOptions struct {
	Dir     string
	Prefix  string                   // file names start with it
	Host    string                   // and end with it: the machine's name
	MaxSize int64                    // a file is closed before an archive would take it past this; one larger alone gets a file of its own
	CDX     bool                     // write a CDXJ index beside each file
	Info    func(name string) []byte // the warcinfo record the file of that name starts with, one gzip member
}

// WARC writes the records' archives (record.Archive) to WARC files in a
// directory: the flow.Keeper of --warc, ahead of the output in a
// flow.Chain. Files are named prefix-timestamp-serial-host.warc.gz, end in
// .open while they are written, start with a warcinfo record, and are
// closed once the next record would take them past MaxSize. With CDX, each
// has a CDXJ index beside it (.cdxj), written as records are.
//
// Keep appends whole gzip members to a buffer, written out as it fills
// (always on a member's boundary) and by Commit. After a failed write
// (disk full, a file size limit) the file is cut back to what the last
// Commit made durable, closed and renamed, so what it holds stays readable
// and is exactly what the output says was archived; every later Keep and
// Commit fails.
//
// Keep, Commit and Close are for the sink's goroutine; Loose, Err and the
// counters are safe for concurrent use.
type WARC struct {
	opt    WARCOptions
	serial int

	file  *warcFile // the one being written; nil between files
	index *warcFile // its CDXJ index, with CDX

	records atomic.Int64
	files   atomic.Int64
	bytes   atomic.Int64

	mu    sync.Mutex
	loose []*record.Archive // robots.txt archives, from the fetch workers
	err   error
}

var _ flow.Keeper = (*WARC)(nil)

// warcFile is a file being written, with its buffer.
type warcFile struct {
	f         *os.File
	name      string // its name once closed, without the .open suffix
	size      int64  // written and buffered
	committed int64  // made durable by the last Commit
	info      int64  // the warcinfo's length: a file holding no more is not closed for being full
	buf       []byte
}

// flushAt is how much a file buffers before it writes.
const flushAt = 1 << 20

// NewWARC returns a writer into opt.Dir, which must exist; it opens its
// first file with its first record.
func NewWARC(opt WARCOptions) *WARC { return &WARC{opt: opt} }

// Loose takes the archive of a record that is never written (a --robots
// robots.txt), to be written with the next record.
func (w *WARC) Loose(a *record.Archive) {
	w.mu.Lock()
	w.loose = append(w.loose, a)
	w.mu.Unlock()
}

// Err returns the first write error.
func (w *WARC) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Records returns how many WARC records were written (warcinfo aside);
// Files how many files were opened; Bytes how many bytes they hold.
func (w *WARC) Records() int64 { return w.records.Load() }
func (w *WARC) Files() int64   { return w.files.Load() }
func (w *WARC) Bytes() int64   { return w.bytes.Load() }

// Keep writes r's archive, and gives r the place of its response record.
func (w *WARC) Keep(r *record.Record) error {
	if err := w.Err(); err != nil {
		return err
	}
	if err := w.takeLoose(); err != nil {
		return err
	}
	if r.Archive == nil {
		return nil
	}
	ref, err := w.write(r.Archive)
	if err != nil {
		return err
	}
	r.WARC, r.Archive = ref, nil
	return nil
}

// Commit writes out what is buffered.
func (w *WARC) Commit() error {
	if err := w.Err(); err != nil {
		return err
	}
	if err := w.takeLoose(); err != nil {
		return err
	}
	for _, f := range []*warcFile{w.file, w.index} {
		if f == nil {
			continue
		}
		if err := f.flush(); err != nil {
			return w.fail(err)
		}
	}
	for _, f := range []*warcFile{w.file, w.index} {
		if f != nil {
			f.committed = f.size
		}
	}
	return nil
}

// Close commits and closes the file being written.
func (w *WARC) Close() error {
	if err := w.Commit(); err != nil {
		return err
	}
	return w.closeFiles()
}

func (w *WARC) takeLoose() error {
	w.mu.Lock()
	loose := w.loose
	w.loose = nil
	w.mu.Unlock()
	for _, a := range loose {
		if _, err := w.write(a); err != nil {
			return err
		}
	}
	return nil
}

// write appends a's members and returns where its Ref is. An archive's
// members go into one file: the one being written, unless they would take
// it past MaxSize.
func (w *WARC) write(a *record.Archive) (*record.WARCRef, error) {
	size := 0
	for _, m := range a.Members {
		size += len(m.Bytes)
	}
	if w.file != nil && w.file.size+int64(size) > w.opt.MaxSize && w.file.size > w.file.info {
		if err := w.closeFiles(); err != nil {
			return nil, w.fail(err)
		}
	}
	if w.file == nil {
		if err := w.open(); err != nil {
			return nil, w.fail(err)
		}
	}
	var ref *record.WARCRef
	for i, m := range a.Members {
		offset := w.file.size
		if err := w.file.add(m.Bytes); err != nil {
			return nil, w.fail(err)
		}
		w.records.Add(1)
		w.bytes.Add(int64(len(m.Bytes)))
		if i == a.Ref {
			ref = &record.WARCRef{File: w.file.name, Offset: offset, Length: int64(len(m.Bytes))}
		}
		if w.index != nil && m.Index != nil {
			if err := w.index.add(cdxLine(m.Index, w.file.name, offset, len(m.Bytes))); err != nil {
				return nil, w.fail(err)
			}
		}
	}
	return ref, nil
}

// open starts the next file with its warcinfo record. A name taken (by
// another sluice writing into the same directory in the same millisecond)
// takes the next serial.
func (w *WARC) open() error {
	var f *warcFile
	var base string
	for err := fs.ErrExist; err != nil; {
		w.serial++
		base = fmt.Sprintf("%s-%s-%05d-%s", w.opt.Prefix, strings.Replace(time.Now().UTC().Format("20060102150405.000"), ".", "", 1), w.serial, w.opt.Host)
		if f, err = createFile(w.opt.Dir, base+".warc.gz"); err != nil && (!errors.Is(err, fs.ErrExist) || w.serial%1000 == 0) {
			return err
		}
	}
	w.file = f
	w.files.Add(1)
	if err := f.add(w.opt.Info(f.name)); err != nil {
		return err
	}
	f.info = f.size
	if w.opt.CDX {
		var err error
		if w.index, err = createFile(w.opt.Dir, base+".cdxj"); err != nil {
			return err
		}
	}
	return nil
}

func createFile(dir, name string) (*warcFile, error) {
	f, err := os.OpenFile(filepath.Join(dir, name+".open"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
	if err != nil {
		return nil, err
	}
	return &warcFile{f: f, name: name}, nil
}

// add appends b, writing the buffer out first when b would fill it; a b
// as large as the buffer is written as it is.
func (f *warcFile) add(b []byte) error {
	if len(f.buf) > 0 && len(f.buf)+len(b) > flushAt {
		if err := f.flush(); err != nil {
			return err
		}
	}
	if len(b) >= flushAt {
		if _, err := f.f.Write(b); err != nil {
			return err
		}
		f.size += int64(len(b))
		return nil
	}
	if f.buf == nil {
		f.buf = make([]byte, 0, flushAt)
	}
	f.buf = append(f.buf, b...)
	f.size += int64(len(b))
	return nil
}

func (f *warcFile) flush() error {
	if len(f.buf) == 0 {
		return nil
	}
	_, err := f.f.Write(f.buf)
	f.buf = f.buf[:0]
	return err
}

// close writes out the buffer, closes the file and takes off its .open
// suffix.
func (f *warcFile) close() error {
	err := f.flush()
	return errors.Join(err, f.f.Close(), os.Rename(f.f.Name(), filepath.Join(filepath.Dir(f.f.Name()), f.name)))
}

// cut ends a file that failed: back to what was committed, closed and
// renamed; removed when nothing of it was.
func (f *warcFile) cut() error {
	f.buf = f.buf[:0]
	if f.committed == 0 {
		return errors.Join(f.f.Close(), os.Remove(f.f.Name()))
	}
	err := f.f.Truncate(f.committed)
	return errors.Join(err, f.f.Close(), os.Rename(f.f.Name(), filepath.Join(filepath.Dir(f.f.Name()), f.name)))
}

func (w *WARC) closeFiles() error {
	var err error
	for _, f := range []*warcFile{w.file, w.index} {
		if f != nil {
			err = errors.Join(err, f.close())
		}
	}
	w.file, w.index = nil, nil
	return err
}

// fail keeps err as the writer's error and cuts the files being written.
func (w *WARC) fail(err error) error {
	err = fmt.Errorf("--warc: %w", err)
	for _, f := range []*warcFile{w.file, w.index} {
		if f != nil {
			f.cut() // the first error is the one to tell
		}
	}
	w.file, w.index = nil, nil
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// cdxLine is e's CDXJ line, as warcio's cdx-index writes it: the SURT
// key, the timestamp, and a JSON object whose values are strings.
func cdxLine(e *record.IndexEntry, file string, offset int64, length int) []byte {
	s := cdxJSON.BorrowStream(nil)
	defer cdxJSON.ReturnStream(s)
	s.WriteRaw(e.Key + " " + e.Timestamp + " ")
	s.WriteObjectStart()
	pair := func(k, v string) {
		s.WriteObjectField(k)
		s.WriteString(v)
	}
	pair("url", e.URL)
	if e.Mime != "" {
		s.WriteMore()
		pair("mime", e.Mime)
	}
	s.WriteMore()
	pair("status", strconv.Itoa(e.Status))
	if d, ok := strings.CutPrefix(e.Digest, "sha1:"); ok {
		s.WriteMore()
		pair("digest", d)
	}
	s.WriteMore()
	pair("length", strconv.Itoa(length))
	s.WriteMore()
	pair("offset", strconv.FormatInt(offset, 10))
	s.WriteMore()
	pair("filename", file)
	s.WriteObjectEnd()
	s.WriteRaw("\n")
	return append([]byte(nil), s.Buffer()...)
}

var cdxJSON = jsoniter.Config{EscapeHTML: false}.Froze()
