package oracle

import "sort"

// span is the half-open range [lo, hi) of unwrapped sequence numbers.
type span struct{ lo, hi uint64 }

// set is a union of spans, kept sorted and merged. It is the oracle's
// byte-level bookkeeping: slow next to the engine's, and simple enough to
// check by reading.
type set []span

// add adds [lo, hi) to s.
func (s *set) add(lo, hi uint64) {
	if lo >= hi {
		return
	}
	v := *s
	// i: the first span that ends at or after lo (it may touch [lo, hi)).
	i := sort.Search(len(v), func(k int) bool { return v[k].hi >= lo })
	j := i
	for j < len(v) && v[j].lo <= hi {
		lo = min(lo, v[j].lo)
		hi = max(hi, v[j].hi)
		j++
	}
	out := append(v[:i:i], span{lo, hi})
	*s = append(out, v[j:]...)
}

// union returns s ∪ o.
func (s set) union(o set) set {
	var r set
	for _, x := range s {
		r.add(x.lo, x.hi)
	}
	for _, x := range o {
		r.add(x.lo, x.hi)
	}
	return r
}

// intersect returns s ∩ o.
func (s set) intersect(o set) set {
	var r set
	i, j := 0, 0
	for i < len(s) && j < len(o) {
		lo, hi := max(s[i].lo, o[j].lo), min(s[i].hi, o[j].hi)
		if lo < hi {
			r = append(r, span{lo, hi})
		}
		if s[i].hi < o[j].hi {
			i++
		} else {
			j++
		}
	}
	return r
}

// minus returns s \ o.
func (s set) minus(o set) set {
	var r set
	j := 0
	for _, x := range s {
		lo := x.lo
		for j < len(o) && o[j].hi <= lo {
			j++
		}
		k := j
		for k < len(o) && o[k].lo < x.hi {
			if o[k].lo > lo {
				r = append(r, span{lo, o[k].lo})
			}
			lo = max(lo, o[k].hi)
			k++
		}
		if lo < x.hi {
			r = append(r, span{lo, x.hi})
		}
	}
	return r
}

// clip returns s ∩ [lo, hi).
func (s set) clip(lo, hi uint64) set { return s.intersect(set{{lo, hi}}) }

// size returns the number of sequence numbers in s.
func (s set) size() uint64 {
	var n uint64
	for _, x := range s {
		n += x.hi - x.lo
	}
	return n
}

// overlaps reports whether [lo, hi) shares a sequence number with s.
func (s set) overlaps(lo, hi uint64) bool {
	i := sort.Search(len(s), func(k int) bool { return s[k].hi > lo })
	return i < len(s) && s[i].lo < hi
}
