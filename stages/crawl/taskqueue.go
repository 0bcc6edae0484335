package crawl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"sluice/stages/internal/fifo"
)

// pending is a task admitted to the frontier and not yet released: the
// URL and the envelope, with the scope by its index in the frontier's
// table so that it can be written to disk.
type pending struct {
	url    string
	host   string // the politeness key, for --max-host-pages
	origin uint8
	depth  int
	parent int64
	hops   int
	scope  int
	id     int64 // the task's number in --state's log; 0 without --state
	seq    int64 // set when released before (--state: in flight when a run was killed); 0 otherwise
}

// taskQueue is the frontier's FIFO of pending tasks: at most memMax in
// memory at its head, a tail of at most chunk, and whatever lies between
// in segments of chunk tasks appended to a file in dir, read back in order.
// So a crawl that has found ten million URLs holds a few thousand of them
// in memory. The file is made when first needed and removed by close.
// Not safe for concurrent use.
type taskQueue struct {
	memMax, chunk int
	dir           string

	head, tail fifo.Queue[pending]
	segs       fifo.Queue[segment] // on disk, in order, between head and tail
	file       *os.File
	end        int64 // where the next segment goes
	spilled    int   // tasks on disk
	buf        []byte
	noDisk     bool // a write failed: the queue keeps everything in memory from then on
}

type segment struct {
	off, size int64
	n         int // tasks in it
}

func newTaskQueue(dir string, memMax, chunk int) *taskQueue {
	return &taskQueue{dir: dir, memMax: max(1, memMax), chunk: max(1, chunk)}
}

func (q *taskQueue) len() int { return q.head.Len() + q.spilled + q.tail.Len() }

// push adds p at the back.
func (q *taskQueue) push(p pending) error {
	if q.segs.Len() == 0 && q.tail.Len() == 0 && q.head.Len() < q.memMax {
		q.head.Push(p)
		return nil
	}
	q.tail.Push(p)
	if q.noDisk || q.tail.Len() < q.chunk {
		return nil
	}
	if err := q.spill(); err != nil {
		q.noDisk = true // nothing lost: the tail stays in memory
		return err
	}
	return nil
}

// pop takes the task at the front; false when there is none. A segment
// that cannot be read back is dropped with an error that says how many
// tasks it held.
func (q *taskQueue) pop() (pending, bool, error) {
	if q.head.Len() == 0 {
		if q.segs.Len() > 0 {
			if err := q.load(); err != nil {
				return pending{}, false, err
			}
		} else {
			q.head, q.tail = q.tail, q.head
		}
	}
	p, ok := q.head.Pop()
	return p, ok, nil
}

// spill writes the tail to the file as one segment; on failure the tail
// is left as it was.
func (q *taskQueue) spill() error {
	if q.file == nil {
		f, err := os.CreateTemp(q.dir, "sluice-frontier-*")
		if err != nil {
			return fmt.Errorf("frontier: %w", err)
		}
		q.file = f
	}
	b := q.buf[:0]
	n := q.tail.Len()
	for _, p := range q.tail.All() {
		b = appendPending(b, p)
	}
	q.buf = b
	if _, err := q.file.WriteAt(b, q.end); err != nil {
		return fmt.Errorf("frontier: spill to disk: %w", err)
	}
	q.tail.Clear()
	q.segs.Push(segment{q.end, int64(len(b)), n})
	q.end += int64(len(b))
	q.spilled += n
	return nil
}

// load reads the first segment on disk into the head.
func (q *taskQueue) load() error {
	s, _ := q.segs.Pop()
	if cap(q.buf) < int(s.size) {
		q.buf = make([]byte, s.size)
	}
	b := q.buf[:s.size]
	var tasks []pending
	_, err := q.file.ReadAt(b, s.off)
	for err == nil && len(b) > 0 {
		var p pending
		if p, b, err = readPending(b); err == nil {
			tasks = append(tasks, p)
		}
	}
	if err != nil {
		q.spilled -= s.n
		return fmt.Errorf("frontier: read back %d spilled tasks: %w", s.n, err)
	}
	for _, p := range tasks {
		q.head.Push(p)
	}
	q.spilled -= len(tasks)
	if q.segs.Len() == 0 { // all read: the file starts again
		q.end = 0
		return q.file.Truncate(0)
	}
	return nil
}

// shrink lets go of an empty queue's buffers.
func (q *taskQueue) shrink() {
	if q.len() == 0 && q.head.Cap()+q.tail.Cap() > 0 {
		q.head, q.tail = fifo.Queue[pending]{}, fifo.Queue[pending]{}
	}
}

// close removes the file.
func (q *taskQueue) close() error {
	if q.file == nil {
		return nil
	}
	err := q.file.Close()
	return errors.Join(err, os.Remove(q.file.Name()))
}

func appendPending(b []byte, p pending) []byte {
	b = binary.AppendUvarint(b, uint64(len(p.url)))
	b = append(b, p.url...)
	b = binary.AppendUvarint(b, uint64(len(p.host)))
	b = append(b, p.host...)
	b = append(b, p.origin)
	b = binary.AppendUvarint(b, uint64(p.depth))
	b = binary.AppendUvarint(b, uint64(p.parent))
	b = binary.AppendUvarint(b, uint64(p.hops))
	b = binary.AppendUvarint(b, uint64(p.scope))
	b = binary.AppendUvarint(b, uint64(p.id))
	return binary.AppendUvarint(b, uint64(p.seq))
}

var errCorrupt = errors.New("spilled task unreadable")

func readPending(b []byte) (pending, []byte, error) {
	var p pending
	str := func() (string, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return "", false
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, true
	}
	num := func() (int64, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			return 0, false
		}
		b = b[k:]
		return int64(n), true
	}
	var ok bool
	if p.url, ok = str(); !ok {
		return p, nil, errCorrupt
	}
	if p.host, ok = str(); !ok || len(b) == 0 {
		return p, nil, errCorrupt
	}
	p.origin, b = b[0], b[1:]
	var depth, parent, hops, scope int64
	for _, v := range []*int64{&depth, &parent, &hops, &scope, &p.id, &p.seq} {
		if *v, ok = num(); !ok {
			return p, nil, errCorrupt
		}
	}
	p.depth, p.parent, p.hops, p.scope = int(depth), parent, int(hops), int(scope)
	return p, b, nil
}

// levels are a frontier's pending tasks by depth, one taskQueue each, and
// its released tasks still outstanding by depth. Tasks are released level
// by level: none of depth d+1 while one of depth d or less is pending or
// outstanding, so that every URL is first found, and admitted, at its
// least depth (a page of depth 2 that answers before one of depth 1 would
// otherwise claim the links they share a level too deep).
//
// A task waiting out a retry's backoff no longer holds its level back
// (retry): one flaky page would otherwise stall the crawl for its backoff
// at every level. The links it leads to still get its depth plus one; only
// a URL that a page of the next level also links to may be found there
// first, a level too deep. Not safe for concurrent use.
type levels struct {
	queues   []*taskQueue
	out      []int64 // released, not done and not retrying, by depth
	retrying int64   // released, not done, and gone into a retry at least once
	dir      string
	mem      int
}

func (l *levels) at(depth int) {
	for len(l.queues) <= depth {
		l.queues = append(l.queues, newTaskQueue(l.dir, l.mem, 4096))
		l.out = append(l.out, 0)
	}
}

func (l *levels) push(p pending) error {
	l.at(p.depth)
	return l.queues[p.depth].push(p)
}

// pop releases the next task, when its level may go.
func (l *levels) pop() (pending, bool, error) {
	for d, q := range l.queues {
		if q.len() == 0 && l.out[d] == 0 {
			// A level done with (a retrying task's links may still come to
			// the next, which makes new buffers): its buffers go, not kept
			// a whole crawl long.
			q.shrink()
		}
		if q.len() > 0 {
			p, ok, err := q.pop()
			if ok {
				l.out[d]++
			}
			return p, ok, err
		}
		if l.out[d] > 0 {
			return pending{}, false, nil // level d is not done yet
		}
	}
	return pending{}, false, nil
}

func (l *levels) released(depth int) {
	l.at(depth)
	l.out[depth]++
}

// done counts a released task done; retried says it had gone into a retry.
func (l *levels) done(depth int, retried bool) {
	if retried {
		l.retrying--
		return
	}
	l.out[depth]--
}

// retry takes a released task of depth out of its level's count.
func (l *levels) retry(depth int) {
	l.out[depth]--
	l.retrying++
}

func (l *levels) pending() int {
	n := 0
	for _, q := range l.queues {
		n += q.len()
	}
	return n
}

func (l *levels) outstanding() int64 {
	n := l.retrying
	for _, o := range l.out {
		n += o
	}
	return n
}

func (l *levels) close() error {
	var errs []error
	for _, q := range l.queues {
		errs = append(errs, q.close())
	}
	return errors.Join(errs...)
}
