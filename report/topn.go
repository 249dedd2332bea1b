package report

import (
	"container/heap"
	"slices"
)

// topN keeps, of the values offered to it, the n that come first by
// order (a total order), in a heap whose top is the kept value that comes
// last: what the HTML flow table and the lists of the largest gaps keep
// instead of every flow or gap of the capture.
type topN[T any] struct {
	n     int
	order func(a, b *T) int
	h     []T
}

// full reports whether n values are kept, so that a new one must come
// before last() to be kept.
func (t *topN[T]) full() bool { return len(t.h) >= t.n }

// last returns the kept value that comes last; only when len(h) > 0.
func (t *topN[T]) last() *T { return &t.h[0] }

// add keeps v, dropping the value that comes last when full; call it
// only for a v that comes before last() when full.
func (t *topN[T]) add(v T) {
	if t.n <= 0 {
		return
	}
	if !t.full() {
		heap.Push(t, v)
		return
	}
	t.h[0] = v
	heap.Fix(t, 0)
}

// offer keeps v if it comes before the kept value that comes last.
func (t *topN[T]) offer(v T) {
	if !t.full() || t.n > 0 && t.order(&v, t.last()) < 0 {
		t.add(v)
	}
}

// sorted returns the kept values in order.
func (t *topN[T]) sorted() []T {
	s := slices.Clone(t.h)
	slices.SortFunc(s, func(a, b T) int { return t.order(&a, &b) })
	return s
}

func (t *topN[T]) Len() int           { return len(t.h) }
func (t *topN[T]) Less(i, j int) bool { return t.order(&t.h[j], &t.h[i]) < 0 }
func (t *topN[T]) Swap(i, j int)      { t.h[i], t.h[j] = t.h[j], t.h[i] }
func (t *topN[T]) Push(x any)         { t.h = append(t.h, x.(T)) }
func (t *topN[T]) Pop() any {
	x := t.h[len(t.h)-1]
	t.h = t.h[:len(t.h)-1]
	return x
}
