package sinks

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"sluice/flow"
	"sluice/record"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer that counts writes and is safe to read while
// the sink writes.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// run runs a sink over w on a goroutine of its own, as the pipeline's To
// does; wait closes its input and returns once the sink is done.
func run(w flow.Writer, acks ...*flow.Acks) (sink *flow.Sink, wait func()) {
	sink = flow.NewSink(w)
	for _, a := range acks {
		sink.Settle(a)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sink.AwaitCompletion()
	}()
	return sink, func() {
		close(sink.In())
		<-done
	}
}

func TestNDJSONWritesEveryRecord(t *testing.T) {
	var out syncBuffer
	s := NewNDJSON(&out, NDJSONOptions{})
	sink, wait := run(s)
	const n = 1000
	for i := 1; i <= n; i++ {
		sink.In() <- &record.Record{Seq: int64(i), URL: "http://a.test/"}
	}
	wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != n || s.Count() != n {
		t.Fatalf("wrote %d lines, Count() = %d; want %d", len(lines), s.Count(), n)
	}
	for i, l := range lines {
		var v struct{ Seq int }
		if err := json.Unmarshal([]byte(l), &v); err != nil || v.Seq != i+1 {
			t.Fatalf("line %d = %q (%v); want seq %d", i, l, err, i+1)
		}
	}
	if out.writes > 100 {
		t.Errorf("%d writes for %d records sent back to back; want them batched", out.writes, n)
	}
}

// A record is on the output soon after the pipeline goes idle, without
// waiting for the buffer to fill or the input to end.
func TestNDJSONFlushesWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out syncBuffer
		sink, wait := run(NewNDJSON(&out, NDJSONOptions{}))
		sink.In() <- &record.Record{Seq: 1, URL: "http://a.test/"}
		synctest.Wait()
		if out.String() != "" {
			t.Fatalf("flushed before the idle delay: %q", out.String())
		}
		time.Sleep(flow.IdleFlush)
		synctest.Wait()
		if got := out.String(); !strings.HasPrefix(got, `{"seq":1,`) {
			t.Errorf("after %v idle, output = %q; want the record", flow.IdleFlush, got)
		}
		wait()
	})
}

type failWriter struct{ err error }

func (w failWriter) Write(p []byte) (int, error) { return 0, w.err }

// After a write error the sink reports it once and keeps taking records, so
// the stages upstream can finish by draining instead of blocking forever.
func TestNDJSONDrainsAfterWriteError(t *testing.T) {
	boom := errors.New("disk full")
	var calls int
	s := NewNDJSON(failWriter{boom}, NDJSONOptions{OnError: func(err error) {
		calls++
		if !errors.Is(err, boom) {
			t.Errorf("OnError(%v); want %v", err, boom)
		}
	}})
	sink, wait := run(s)
	for i := 0; i < 100_000; i++ { // far more than any buffer holds
		sink.In() <- &record.Record{Seq: int64(i + 1), URL: "http://a.test/" + strings.Repeat("x", 100)}
	}
	wait()
	if calls != 1 {
		t.Errorf("OnError called %d times; want 1", calls)
	}
	if !errors.Is(s.Err(), boom) {
		t.Errorf("Err() = %v; want %v", s.Err(), boom)
	}
}

// The sink side of the pass-through rule: a skipped record is counted by
// its reason and never written, a canceled record from a queue is handed
// back instead of written, and the rest are written in the order given.
func TestSinkPassThrough(t *testing.T) {
	var out syncBuffer
	w := NewNDJSON(&out, NDJSONOptions{})
	var settled []bool
	canceled := &record.Record{Seq: 3, URL: "http://a.test/c"}
	acks := flow.NewAcks()
	acks.Add(canceled, flow.Ack{Settle: func(done bool) { settled = append(settled, done) }})
	sink, wait := run(w, acks)
	canceled.Fail(record.KindCanceled, "stopped")
	for _, r := range []*record.Record{
		{Seq: 1, URL: "http://a.test/a", Response: record.Response{Status: 200}},
		{Seq: 2, URL: "http://a.test/a", Skip: "duplicate"},
		canceled,
		{Seq: 4, URL: "http://a.test/d", Skip: "resume"},
		{Seq: 5, URL: "http://a.test/e", Response: record.Response{Status: 404}},
	} {
		sink.In() <- r
	}
	wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"seq":1,`) || !strings.HasPrefix(lines[1], `{"seq":5,`) {
		t.Errorf("output = %q; want seqs 1 and 5 only", out.String())
	}
	if got := sink.Skipped(); got["duplicate"] != 1 || got["resume"] != 1 || len(got) != 2 {
		t.Errorf("Skipped() = %v; want one duplicate, one resume", got)
	}
	if sink.Requeued() != 1 || len(settled) != 1 || settled[0] {
		t.Errorf("Requeued() = %d, settled %v; want 1, handed back once", sink.Requeued(), settled)
	}
	if w.Count() != 2 {
		t.Errorf("Count() = %d; want 2", w.Count())
	}
}

func TestProgressDescribe(t *testing.T) {
	got := Describe(Counts{Done: 5, InFlight: 2, Waiting: 7, Errors: 1}, 12.4)
	if want := "done 5 · in flight 2 · waiting 7 · errors 1 · 12 req/s"; got != want {
		t.Errorf("Describe = %q; want %q", got, want)
	}
	got = Describe(Counts{Done: 5, InFlight: 2, Waiting: 7, AtHostLimit: 1}, 3)
	if want := "done 5 · in flight 2 · waiting 7 (1 host at --host-concurrency) · errors 0 · 3 req/s"; got != want {
		t.Errorf("Describe = %q; want %q", got, want)
	}
}

// The progress goroutine ends at Stop (goleak checks the package) and draws
// only on the writer it is given.
func TestProgressDrawsAndStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out syncBuffer
		p := StartProgress(&out, -1, func() Counts { return Counts{Done: 3, Requests: 3} })
		time.Sleep(3 * progressTick) // virtual time: three ticks
		synctest.Wait()
		p.Stop()
		time.Sleep(time.Second) // the library's spinner goroutine ends at its next tick after Stop
		if !strings.Contains(out.String(), "done 3 ·") {
			t.Errorf("progress wrote %q; want the status line", out.String())
		}
	})
}

// A tracked writer tells what it wrote as durable only once it is flushed
// out, and as lost when the output failed; the sink then settles each
// record's acknowledgement and tells its Durable hook of those written.
func TestNDJSONTellsDurable(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  io.Writer
		want bool
	}{
		{"written", &syncBuffer{}, true},
		{"output failed", failWriter{errors.New("disk full")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewNDJSON(tc.out, NDJSONOptions{})
			var told []bool
			w.Track(func(_ *record.Record, ok bool) { told = append(told, ok) })
			w.Write(&record.Record{Seq: 1, URL: "http://a.test/", Response: record.Response{Status: 200}})
			w.Write(&record.Record{Seq: 2, URL: "http://a.test/b", Response: record.Response{Status: 200}})
			if tc.want && len(told) != 0 {
				t.Fatalf("told %v before the flush; want nothing until the lines are out", told)
			}
			w.Flush(true)
			if len(told) != 2 || told[0] != tc.want || told[1] != tc.want {
				t.Errorf("told %v; want [%v %v]", told, tc.want, tc.want)
			}
		})
	}

	// Through the sink: acknowledgements settled, the hook told, in that order.
	var out syncBuffer
	w := NewNDJSON(&out, NDJSONOptions{})
	acks := flow.NewAcks()
	var settled, written []int64
	var mu sync.Mutex
	recs := []*record.Record{{Seq: 1, URL: "http://a.test/"}, {Seq: 2, URL: "http://a.test/b"}}
	for _, r := range recs {
		acks.Add(r, flow.Ack{Settle: func(done bool) {
			if done {
				mu.Lock()
				settled = append(settled, r.Seq)
				mu.Unlock()
			}
		}})
	}
	sink := flow.NewSink(w)
	sink.Settle(acks)
	sink.Durable(func(r *record.Record) {
		mu.Lock()
		written = append(written, r.Seq)
		mu.Unlock()
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sink.AwaitCompletion()
	}()
	for _, r := range recs {
		sink.In() <- r
	}
	close(sink.In())
	<-done
	if len(settled) != 2 || len(written) != 2 || acks.Has(recs[0]) || acks.Has(recs[1]) {
		t.Errorf("settled %v, written %v; want both, and no acknowledgement left", settled, written)
	}
}
