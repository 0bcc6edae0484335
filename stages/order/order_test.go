package order

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"sluice/flow"
	"sluice/record"
)

// orderPipeline is gate -> scramble -> reorder buffer, with a count of the
// records between gate and buffer output.
func orderPipeline(o *Order, delay func(seq int64) time.Duration) (in chan<- any, out <-chan any, inside *atomic.Int64) {
	inside = &atomic.Int64{}
	gate := o.Gate()
	count := flow.NewPool(1, func(r *record.Record) bool { inside.Add(1); return true })
	scramble := flow.NewPool(8, func(r *record.Record) bool { time.Sleep(delay(r.Seq)); return true })
	last := gate.Via(count).Via(scramble).Via(o.Flow())
	return gate.In(), last.Out(), inside
}

// Records scrambled by eight workers of random speed come out in seq order,
// and never more than the capacity are between the gate and the output.
func TestOrderRestoresInputOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const capacity, n = 8, 500
		o := NewOrder(capacity)
		in, out, inside := orderPipeline(o, func(int64) time.Duration {
			return time.Duration(rand.IntN(50)) * time.Millisecond
		})
		go func() {
			for i := range n {
				in <- &record.Record{Seq: int64(i + 1)}
			}
			close(in)
		}()
		var want int64 = 1
		var most int64
		for v := range out {
			// The one just taken has left; what remains is held.
			most = max(most, inside.Add(-1))
			if r := v.(*record.Record); r.Seq != want {
				t.Fatalf("record %d came out where %d was due", r.Seq, want)
			}
			want++
		}
		if want != n+1 {
			t.Fatalf("%d records out of %d", want-1, n)
		}
		if most > capacity {
			t.Errorf("%d records between gate and output at once; want at most %d", most, capacity)
		}
	})
}

// While the first record is stuck, the gate lets exactly capacity records
// in and holds the rest back: backpressure, not growth.
func TestOrderGateHoldsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const capacity = 5
		o := NewOrder(capacity)
		in, out, inside := orderPipeline(o, func(seq int64) time.Duration {
			if seq == 1 {
				return time.Hour
			}
			return 0
		})
		var sent atomic.Int64
		go func() {
			for i := range 50 {
				in <- &record.Record{Seq: int64(i + 1)}
				sent.Add(1)
			}
			close(in)
		}()
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := inside.Load(); got != capacity {
			t.Errorf("%d records past the gate while seq 1 is stuck; want %d", got, capacity)
		}
		if got := sent.Load(); got > capacity+2 {
			t.Errorf("the source got %d records in; want it held back near %d", got, capacity)
		}
		n := 0
		for range out {
			n++
		}
		if n != 50 {
			t.Errorf("%d records out of 50 once seq 1 came through", n)
		}
	})
}
