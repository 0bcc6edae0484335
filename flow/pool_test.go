package flow

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"sluice/record"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Map runs its function on every record but those that pass (failed before a
// response, or skipped), which go by untouched; every record comes out.
func TestMapPassThrough(t *testing.T) {
	var calls atomic.Int64
	m := Map(context.Background(), 4, func(_ context.Context, r *record.Record) {
		calls.Add(1)
		r.Status = 200
	})
	failed := &record.Record{Seq: 2}
	failed.Fail(record.KindConnect, "refused")
	httpErr := &record.Record{Seq: 3, Response: record.Response{Status: 404}}
	httpErr.Fail(record.KindHTTP, "HTTP 404")
	in := []*record.Record{{Seq: 1}, failed, httpErr, {Seq: 4, Skip: "duplicate"}}
	go func() {
		for _, r := range in {
			m.In() <- r
		}
		close(m.In())
	}()
	n := 0
	for range m.Out() {
		n++
	}
	if n != 4 || calls.Load() != 2 {
		t.Fatalf("%d records out, %d calls; want 4 out, 2 calls (the first and the http error)", n, calls.Load())
	}
	if in[0].Status != 200 || failed.Status != 0 || httpErr.Status != 200 || in[3].Status != 0 {
		t.Errorf("statuses %d %d %d %d; want 200 0 200 0", in[0].Status, failed.Status, httpErr.Status, in[3].Status)
	}
}

// Misuse fails loudly: no workers, and an output connected twice.
func TestMisusePanics(t *testing.T) {
	panics := func(name string, fn func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		fn()
	}
	panics("NewPool(0)", func() { NewPool(0, func(*record.Record) bool { return true }) })
	p := NewPool(1, func(*record.Record) bool { return true })
	out := p.Out()
	panics("Via after Out", func() { p.Via(NewPool(1, func(*record.Record) bool { return true })) })
	close(p.In())
	for range out {
	}
}

// collect is a Writer that keeps what it is given.
type collect struct{ got []*record.Record }

func (c *collect) Write(r *record.Record)           { c.got = append(c.got, r) }
func (c *collect) Flush(bool)                       {}
func (c *collect) Track(func(*record.Record, bool)) {}

// -v: one line per record written, whatever the writer; none for a
// skipped record. The URL is quoted, so a hostile one cannot drive the
// terminal.
func TestSinkLog(t *testing.T) {
	var w collect
	var log strings.Builder
	s := NewSink(&w)
	s.LogTo(&log)
	ok := &record.Record{Seq: 1, URL: "http://a.test/", Attempts: 1, Response: record.Response{Status: 200}}
	bad := &record.Record{Seq: 2, URL: "x\x1b[2J"}
	bad.Fail(record.KindInvalidInput, "nope")
	go func() {
		for _, r := range []*record.Record{ok, {Seq: 3, Skip: "duplicate"}, bad} {
			s.In() <- r
		}
		close(s.In())
	}()
	s.AwaitCompletion()
	want := "sluice: #1 200 0.0ms \"http://a.test/\"\nsluice: #2 invalid_input 0.0ms \"x\\x1b[2J\"\n"
	if log.String() != want || len(w.got) != 2 {
		t.Errorf("log = %q, %d written; want %q, 2", log.String(), len(w.got), want)
	}
}
