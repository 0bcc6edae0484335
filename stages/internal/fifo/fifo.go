// Package fifo is a first-in first-out queue.
package fifo

// Queue is a queue on a slice that reuses its space.
type Queue[T any] struct {
	items []T
	head  int
}

func (q *Queue[T]) Len() int { return len(q.items) - q.head }

func (q *Queue[T]) Push(v T) { q.items = append(q.items, v) }

func (q *Queue[T]) PushFront(v T) {
	if q.head > 0 {
		q.head--
		q.items[q.head] = v
		return
	}
	q.items = append(q.items, v)
	copy(q.items[1:], q.items)
	q.items[0] = v
}

func (q *Queue[T]) Peek() (T, bool) {
	var zero T
	if q.Len() == 0 {
		return zero, false
	}
	return q.items[q.head], true
}

func (q *Queue[T]) Pop() (T, bool) {
	var zero T
	if q.Len() == 0 {
		return zero, false
	}
	v := q.items[q.head]
	q.items[q.head] = zero
	q.head++
	switch {
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
	case q.head > 64 && q.head > len(q.items)/2:
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return v, true
}

// All returns the values in the queue, first first; the slice is the
// queue's own, valid until it next changes.
func (q *Queue[T]) All() []T { return q.items[q.head:] }

// Clear empties the queue and keeps its space.
func (q *Queue[T]) Clear() {
	clear(q.items)
	q.items, q.head = q.items[:0], 0
}

// Cap is how many values the queue has space for.
func (q *Queue[T]) Cap() int { return cap(q.items) }
