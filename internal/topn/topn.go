// Package topn keeps, of a stream of values, the n that come first by an
// order, in memory bounded by n: the flows that lost most (loss.Config.KeepTop,
// the HTML flow table) and the largest gaps of the reports.
package topn

import (
	"container/heap"
	"slices"
)

// Keeper keeps the n values that come first by order (a total order) in a
// heap whose top is the kept value that comes last. Make it with New.
type Keeper[T any] struct {
	n     int
	order func(a, b *T) int
	h     []T
}

// New returns a Keeper of the n values that come first by order (none
// when n <= 0).
func New[T any](n int, order func(a, b *T) int) *Keeper[T] {
	return &Keeper[T]{n: max(n, 0), order: order}
}

// Cap returns n, how many values it keeps at most.
func (t *Keeper[T]) Cap() int { return t.n }

// Len returns how many values it keeps now.
func (t *Keeper[T]) Len() int { return len(t.h) }

// Admits reports whether v would be kept: fewer than n are kept, or v
// comes before the kept value that comes last. It lets a caller build an
// expensive value only once it knows it will be kept.
func (t *Keeper[T]) Admits(v *T) bool {
	if t.n <= 0 {
		return false
	}
	return len(t.h) < t.n || t.order(v, &t.h[0]) < 0
}

// Add keeps v, dropping the value that comes last when n are kept; call
// it only for a v that Admits.
func (t *Keeper[T]) Add(v T) {
	if t.n <= 0 {
		return
	}
	if len(t.h) < t.n {
		heap.Push((*byOrder[T])(t), v)
		return
	}
	t.h[0] = v
	heap.Fix((*byOrder[T])(t), 0)
}

// Offer keeps v if it Admits.
func (t *Keeper[T]) Offer(v T) {
	if t.Admits(&v) {
		t.Add(v)
	}
}

// Values returns the kept values, in no order; the slice is t's.
func (t *Keeper[T]) Values() []T { return t.h }

// Sorted returns a copy of the kept values, in order.
func (t *Keeper[T]) Sorted() []T {
	s := slices.Clone(t.h)
	slices.SortFunc(s, func(a, b T) int { return t.order(&a, &b) })
	return s
}

// byOrder is a Keeper as a heap.Interface whose root is the value that
// comes last.
type byOrder[T any] Keeper[T]

func (t *byOrder[T]) Len() int           { return len(t.h) }
func (t *byOrder[T]) Less(i, j int) bool { return t.order(&t.h[j], &t.h[i]) < 0 }
func (t *byOrder[T]) Swap(i, j int)      { t.h[i], t.h[j] = t.h[j], t.h[i] }
func (t *byOrder[T]) Push(x any)         { t.h = append(t.h, x.(T)) }
func (t *byOrder[T]) Pop() any {
	x := t.h[len(t.h)-1]
	t.h = t.h[:len(t.h)-1]
	return x
}
