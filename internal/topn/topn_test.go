package topn

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestKeeperIsSortPrefix: of values offered one by one, a Keeper of n keeps
// exactly the first n of the whole list sorted (ties broken by position),
// for lists shorter and longer than n, and none for n <= 0.
func TestKeeperIsSortPrefix(t *testing.T) {
	type v struct{ key, pos int }
	order := func(a, b *v) int {
		if c := cmp.Compare(b.key, a.key); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{-1, 0, 1, 3, 10, 100} {
		for _, size := range []int{0, 1, 5, 50, 500} {
			all := make([]v, size)
			k := New(n, order)
			for i := range all {
				all[i] = v{rng.IntN(20), i} // many ties
				k.Offer(all[i])
			}
			want := slices.Clone(all)
			slices.SortFunc(want, func(a, b v) int { return order(&a, &b) })
			want = want[:min(len(want), max(n, 0))]
			if got := k.Sorted(); !slices.Equal(got, want) {
				t.Errorf("n %d, %d values: kept %v, want %v", n, size, got, want)
			}
			if k.Len() != len(want) || k.Cap() != max(n, 0) {
				t.Errorf("n %d, %d values: Len %d Cap %d", n, size, k.Len(), k.Cap())
			}
		}
	}
}
