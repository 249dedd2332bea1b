// Package infer says where a capture without a gap sidecar lost frames,
// from the evidence in the capture itself (docs/infer.md): every run of
// TCP data the receiver acknowledged but the capture never saw is a
// capture-loss fate of package loss with a bracket, the frames between
// which the data must have passed the capture point. Merge groups the
// brackets of all flows into as few gap events as the evidence allows
// (minimum interval stabbing), places each at the tightest position the
// brackets leave, and estimates its size in frames; Run does it for a
// capture and Result.WriteSidecar writes a sidecar of source inferred
// whose ancillary blocks carry each record's bracket and confidence;
// Result.Sidecar holds the same in memory for a run to read
// (join.Options.Readers).
//
//	res, err := infer.Run(infer.Config{Capture: "x.pcap", KernelDrops: -1})
//	...
//	err = res.WriteSidecar(w, "gapan-infer 0.1", time.Now().UnixNano())
package infer

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/sidecar"
)

// Evidence is one capture-loss fate: Segments TCP segments (Bytes bytes)
// of flow Flow passed the capture point after frame Lo and before frame
// Frame, but the capture does not hold them; or, for the other kinds of
// evidence, Segments packets found missing by their sequence numbers.
type Evidence struct {
	// Kind is what revealed the loss: TCP (the zero value), RTP or a
	// sequence family (loss.Evidence).
	Kind            loss.Evidence
	Flow            uint64
	Lo, Frame       uint64
	Bytes, Segments uint64
	// Acked says that Frame is the acknowledgement that showed the loss
	// (the data itself never appeared), not the data after the hole.
	Acked bool
	// Ref is the frame whose acknowledgement showed the receiver had the
	// data.
	Ref uint64
	// framesPerSegment is the flow's frames per frame of its busier
	// direction (1 to 2), by which Merge scales the segments to frames.
	framesPerSegment float64
}

// Gap is an inferred gap event.
type Gap struct {
	// Frame is where the record puts the gap: before frame Frame. It is
	// Last, the first frame that showed loss of every evidence.
	Frame uint64
	// First and Last bracket the gap: it happened before one of the
	// frames First..Last, after every evidence's Lo and before its Frame.
	First, Last uint64
	// MinLost is the missing segments of the evidence: the gap lost at
	// least as many frames. Lost is the estimate of its size in frames
	// (the segments scaled by their flows' frames per data frame, so
	// that the acknowledgements lost with them count), at least MinLost;
	// with a capture-wide total, what the total gives it.
	MinLost, Lost uint64
	// ConfidencePermille is the chance, in thousandths, that Frame is
	// the frame the loss really preceded, when every frame of the
	// bracket is as likely: 1000 / (Last − First + 1).
	ConfidencePermille uint16
	// Evidence is what the gap was inferred from.
	Evidence []Evidence
}

// Merge groups the brackets of ev into gap events: the fewest frames that
// stab every bracket (Lo, Frame], chosen greedily by the earliest end,
// which is optimal for intervals. Each gap's bracket is the intersection
// of its evidence's brackets. The gaps are in frame order, one per frame.
func Merge(ev []Evidence) []Gap {
	ev = slices.Clone(ev)
	slices.SortStableFunc(ev, func(a, b Evidence) int {
		return cmp.Or(cmp.Compare(a.Frame, b.Frame), cmp.Compare(a.Lo, b.Lo))
	})
	var gaps []Gap
	for _, e := range ev {
		if e.Lo >= e.Frame {
			continue
		}
		if n := len(gaps); n > 0 && e.Lo < gaps[n-1].Last {
			g := &gaps[n-1]
			g.First = max(g.First, e.Lo+1)
			g.Evidence = append(g.Evidence, e)
			continue
		}
		gaps = append(gaps, Gap{Frame: e.Frame, First: e.Lo + 1, Last: e.Frame, Evidence: []Evidence{e}})
	}
	for i := range gaps {
		g := &gaps[i]
		var est float64
		for _, e := range g.Evidence {
			g.MinLost += e.Segments
			est += float64(e.Segments) * max(1, e.framesPerSegment)
		}
		g.MinLost = max(g.MinLost, 1)
		g.Lost = max(g.MinLost, uint64(est+0.5))
		g.ConfidencePermille = uint16(1000 / (g.Last - g.First + 1))
	}
	return gaps
}

// Distribute gives a capture-wide loss total (pcapng isb_ifdrop, a
// kernel's drop count) to gaps: each keeps at least its MinLost (the
// evidence), the total beyond their MinLost goes to them in proportion to
// what their estimate adds to it, up to the estimate, and what is left
// over stays without a position (returned). A total below the evidence
// changes nothing: the capture lost the rest elsewhere.
func Distribute(gaps []Gap, total uint64) (unplaced uint64) {
	var sumMin, sumExtra uint64
	for _, g := range gaps {
		sumMin += g.MinLost
		sumExtra += g.Lost - g.MinLost
	}
	if total <= sumMin {
		for i := range gaps {
			gaps[i].Lost = gaps[i].MinLost
		}
		return 0
	}
	spare := total - sumMin
	if spare >= sumExtra {
		return spare - sumExtra
	}
	// Share spare out in proportion, then the rounding remainder one by
	// one from the first gap on.
	var given uint64
	for i := range gaps {
		g := &gaps[i]
		extra := (g.Lost - g.MinLost) * spare / sumExtra
		g.Lost = g.MinLost + extra
		given += extra
	}
	for i := 0; given < spare && i < len(gaps); i++ {
		g := &gaps[i]
		g.Lost++
		given++
	}
	return 0
}

// Config says what Run infers from.
type Config struct {
	// Capture is the capture file, "-" for standard input (read once).
	// Its sidecar, if any, is not read:
	// infer is for what the capture itself shows.
	Capture string
	// KernelDrops is a capture-wide total of frames lost (tcpdump's "N
	// packets dropped by kernel"), -1 when not given; without it, the
	// pcapng isb_ifdrop totals are used, if any.
	KernelDrops int64
	// Workers as in analyze.Config.
	Workers int
	// Loose keeps the engine's brackets as they are (loss.Fate.Lo, a few
	// top-advancing frames back) instead of starting them at the
	// sender's last advance before the hole (docs/infer.md).
	Loose bool
	// Sequence also takes the packets that RTP and the sequence
	// families (ESP, GTP-U, ICMP echo; docs/metrics.md), and the frames
	// mirror sessions (ERSPAN, sequenced GRE) find missing by their
	// numbers as evidence: they may have been lost before the capture
	// point (a mirrored frame: on the mirror path), which nothing in a
	// capture without a sidecar tells apart. ICMP echo requests that a reply shows passed the capture
	// point are evidence without it.
	Sequence bool
}

// Result is what Run inferred.
type Result struct {
	Gaps []Gap
	// Frames is the number of frames of the capture; Identity its
	// identity for the sidecar's header.
	Frames   uint64
	Identity sidecar.Identity
	// HasTotal says that Total, a capture-wide total of frames lost
	// (KernelDrops or isb_ifdrop), was distributed over the gaps;
	// Unplaced is what of it stayed without a position.
	HasTotal        bool
	Total, Unplaced uint64
	// Run is the accounting of the capture without any sidecar.
	Run *analyze.Result
}

// Run reads the capture without its sidecar and infers its gaps.
func Run(cfg Config) (*Result, error) {
	var ev []Evidence
	tp := newTops(&ev)
	// ratio holds, for each flow with evidence, its frames per frame of
	// its busier direction, known when the flow's figures are final:
	// after all of its fates (loss.Config.OnFlow). Only flows with
	// evidence are kept, so memory follows the evidence, not the flows.
	ratio := map[uint64]float64{}
	acfg := analyze.Config{
		Captures:    []string{cfg.Capture},
		Join:        join.Options{NoSidecar: true},
		KernelDrops: cfg.KernelDrops,
		Workers:     cfg.Workers,
		// The report's idle timeout: a flow idle longer is a new flow,
		// as in the report of the capture with the inferred sidecar.
		Engine: loss.Config{IdleTimeout: loss.DefaultIdleTimeout, OnFate: func(f loss.Fate) {
			if !useFate(&f, cfg.Sequence) {
				return
			}
			segs := f.Segments
			if f.Evidence == loss.EvidenceMP2T {
				// TS packets, at most 7 a datagram: the frames
				// that carried them, at least.
				segs = (segs + 6) / 7
			}
			ev = append(ev, Evidence{Kind: f.Evidence, Flow: f.FlowID, Lo: f.Lo, Frame: f.Frame, Bytes: f.Bytes, Segments: segs, Acked: f.Acked, Ref: f.Ref})
			if f.Evidence != loss.EvidenceTCP {
				return
			}
			ratio[f.FlowID] = 0
			if !cfg.Loose {
				tp.evidence()
			}
		}, OnFlow: func(fl *loss.Flow) {
			tp.forget(fl.FlowID)
			if _, ok := ratio[fl.FlowID]; !ok {
				return
			}
			if busy := max(fl.PacketsFwd, fl.PacketsRev); busy > 0 {
				ratio[fl.FlowID] = min(2, float64(fl.PacketsFwd+fl.PacketsRev)/float64(busy))
			}
		}},
	}
	if !cfg.Loose {
		acfg.Frame = func(_ *join.Frame, info *loss.FrameInfo) { tp.frame(info) }
	}
	run, err := analyze.Run(acfg)
	if err != nil {
		return nil, err
	}
	for i := range ev {
		ev[i].framesPerSegment = 1 // a missing packet is a frame
		if ev[i].Kind == loss.EvidenceTCP {
			ev[i].framesPerSegment = ratio[ev[i].Flow]
		}
	}
	fi := &run.Files[0]
	r := &Result{Gaps: Merge(ev), Frames: fi.Frames, Identity: fi.Identity, Run: run}
	var total uint64
	for _, fi := range run.Files {
		for _, st := range fi.Stats {
			if st.HasDropped {
				total += st.Dropped
				r.HasTotal = true
			}
		}
	}
	if cfg.KernelDrops >= 0 {
		total, r.HasTotal = uint64(cfg.KernelDrops), true
	}
	if r.HasTotal {
		r.Total = total
		r.Unplaced = Distribute(r.Gaps, total)
	}
	return r, nil
}

// useFate reports whether fate f is evidence of where the capture lost
// frames: TCP data the receiver had but the capture missed, requests an
// ICMP echo reply shows passed the capture point, and with sequence the
// packets any sequence evidence finds missing (their bracket is exact:
// the stream's packets before and after them).
func useFate(f *loss.Fate, sequence bool) bool {
	if f.Resend {
		return false
	}
	switch f.Kind {
	case loss.FateCapture, loss.FateCaptureUnexplained:
		return f.Evidence == loss.EvidenceTCP || f.Evidence == loss.EvidenceICMP || sequence
	case loss.FateUpstream, loss.FateMirror:
		return sequence && f.Evidence.Packets()
	}
	return false
}

// Lost returns the frames the gaps lose.
func (r *Result) Lost() uint64 {
	var n uint64
	for _, g := range r.Gaps {
		n += g.Lost
	}
	return n
}

// bracketsPerBlock is how many records share a records block and the
// brackets block before it.
const bracketsPerBlock = 4096

// WriteSidecar writes the gaps as a binary sidecar of source inferred to
// w: before each records block, a sidecar.BlockBrackets block with the
// brackets of its records; before the trailer, a
// sidecar.BlockInferredTotals block. tool and createdNs go in the header.
func (r *Result) WriteSidecar(w io.Writer, tool string, createdNs int64) error {
	sw, err := sidecar.NewWriter(w, sidecar.Header{Source: sidecar.SourceInferred, Identity: r.Identity, CreatedNs: createdNs, Tool: tool})
	if err != nil {
		return err
	}
	sw.SetBlockRecords(bracketsPerBlock)
	bs := make([]sidecar.Bracket, 0, min(len(r.Gaps), bracketsPerBlock))
	for lo := 0; lo < len(r.Gaps); lo += bracketsPerBlock {
		chunk := r.Gaps[lo:min(lo+bracketsPerBlock, len(r.Gaps))]
		bs = bs[:0]
		for _, g := range chunk {
			bs = append(bs, sidecar.Bracket{Frame: g.Frame, First: g.First, Last: g.Last, ConfidencePermille: g.ConfidencePermille})
		}
		p, err := sidecar.AppendBrackets(nil, bs)
		if err != nil {
			return err
		}
		if err := sw.WriteAncillary(sidecar.BlockBrackets, p); err != nil {
			return err
		}
		for _, g := range chunk {
			if err := sw.Add(sidecar.Record{Frame: g.Frame, Gap: g.Lost}); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
	}
	it := sidecar.InferredTotals{HasTotal: r.HasTotal, Total: r.Total, Unplaced: r.Unplaced}
	if err := sw.WriteAncillary(sidecar.BlockInferredTotals, sidecar.AppendInferredTotals(nil, it)); err != nil {
		return err
	}
	if err := sw.Close(sidecar.Trailer{Frames: r.Frames}); err != nil {
		return fmt.Errorf("infer: %w", err)
	}
	return nil
}
