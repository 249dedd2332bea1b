package loss

import (
	"container/heap"
	"math"
)

// topFlows keeps the flows that lost most (Config.KeepTop): a bounded
// min-heap whose root is the flow that would leave first. The order is the
// report's (report.topFlows): LossScore rounded to 6 decimals, largest
// first, then the smaller flow id, so that the flows kept are exactly the
// first ones of the report's list over all flows.
type topFlows struct{ flows []*Flow }

// lossRank is a LossScore as the report compares it: rounded to 6
// decimals, so that the order is the same on every platform.
func lossRank(score float64) float64 { return math.Round(score*1e6) / 1e6 }

// before reports whether a flow with score sa and id ia comes before one
// with sb, ib in the report's list.
func before(sa float64, ia uint64, sb float64, ib uint64) bool {
	ra, rb := lossRank(sa), lossRank(sb)
	if ra != rb {
		return ra > rb
	}
	return ia < ib
}

// admits reports whether a flow with this score and id enters a list of
// at most n flows.
func (t *topFlows) admits(score float64, id uint64, n int) bool {
	if len(t.flows) < n {
		return true
	}
	w := t.flows[0]
	return before(score, id, w.LossScore, w.FlowID)
}

// push adds f, dropping the last flow when the list holds n already.
func (t *topFlows) push(f *Flow, n int) {
	if len(t.flows) < n {
		heap.Push(t, f)
		return
	}
	t.flows[0] = f
	heap.Fix(t, 0)
}

// The heap.Interface methods; the root is the flow that comes last.
func (t *topFlows) Len() int { return len(t.flows) }
func (t *topFlows) Less(i, j int) bool {
	a, b := t.flows[i], t.flows[j]
	return before(b.LossScore, b.FlowID, a.LossScore, a.FlowID)
}
func (t *topFlows) Swap(i, j int) { t.flows[i], t.flows[j] = t.flows[j], t.flows[i] }
func (t *topFlows) Push(x any)    { t.flows = append(t.flows, x.(*Flow)) }
func (t *topFlows) Pop() any {
	f := t.flows[len(t.flows)-1]
	t.flows = t.flows[:len(t.flows)-1]
	return f
}
