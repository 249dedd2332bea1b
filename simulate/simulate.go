// Package simulate deletes frames from a capture by a seeded loss model and
// writes the thinned capture with its exact ground-truth gap sidecar. Tests
// use it to check gapan's accounting against known loss.
//
//	m, err := simulate.ParseModel("burst:p=0.01,r=0.3")
//	st, err := simulate.Run(simulate.Config{Input: "in.pcap", Output: "out.pcap", Model: m, Seed: 1})
package simulate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/selection"
	"github.com/gapan/gapan/sidecar"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ErrModel means a loss model string does not parse.
var ErrModel = errors.New("simulate: bad loss model")

// Model decides, frame by frame, whether a frame is dropped.
type Model interface {
	// Drop reports whether the frame with the given 1-based number is
	// dropped. It is called once per frame, in order.
	Drop(frame uint64, rng *rand.Rand) bool
	// String returns the model in the syntax ParseModel reads.
	String() string
}

// Uniform drops every frame independently with probability P.
type Uniform struct{ P float64 }

// Drop implements Model.
func (u Uniform) Drop(_ uint64, rng *rand.Rand) bool { return rng.Float64() < u.P }

func (u Uniform) String() string { return "uniform:" + strconv.FormatFloat(u.P, 'g', -1, 64) }

// Burst is the Gilbert-Elliott model: a Good and a Bad state; P is the
// probability of moving from Good to Bad before a frame, R from Bad to Good;
// a frame is dropped with probability K in Good and H in Bad (defaults 0
// and 1, the Gilbert model: every frame in Bad is lost). The mean burst
// length is 1/R frames when H is 1.
type Burst struct {
	P, R, K, H float64
	bad        bool
}

// Drop implements Model.
func (b *Burst) Drop(_ uint64, rng *rand.Rand) bool {
	if b.bad {
		if rng.Float64() < b.R {
			b.bad = false
		}
	} else if rng.Float64() < b.P {
		b.bad = true
	}
	if b.bad {
		return rng.Float64() < b.H
	}
	return b.K > 0 && rng.Float64() < b.K
}

func (b *Burst) String() string {
	return fmt.Sprintf("burst:p=%g,r=%g,k=%g,h=%g", b.P, b.R, b.K, b.H)
}

// List drops exactly the listed frames: Ranges are inclusive [first, last]
// frame ranges, sorted, not overlapping and not adjacent.
type List struct{ Ranges [][2]uint64 }

// Drop implements Model.
func (l List) Drop(frame uint64, _ *rand.Rand) bool {
	i := sort.Search(len(l.Ranges), func(i int) bool { return l.Ranges[i][1] >= frame })
	return i < len(l.Ranges) && l.Ranges[i][0] <= frame
}

// Len returns the number of frames listed.
func (l List) Len() uint64 {
	var n uint64
	for _, r := range l.Ranges {
		n += r[1] - r[0] + 1
	}
	return n
}

func (l List) String() string { return fmt.Sprintf("list:(%d frames)", l.Len()) }

// ParseModel parses a loss model:
//
//	uniform:P                    each frame lost with probability P
//	burst:p=P,r=R[,k=K][,h=H]    Gilbert-Elliott (k: loss in Good, default 0; h: loss in Bad, default 1)
//	list:N[,N-M...]              exactly these 1-based frames
func ParseModel(s string) (Model, error) {
	kind, arg, ok := strings.Cut(s, ":")
	if !ok {
		return nil, fmt.Errorf("%w %q: want uniform:P, burst:p=P,r=R or list:N,N-M", ErrModel, s)
	}
	prob := func(v string) (float64, error) {
		p, err := strconv.ParseFloat(v, 64)
		if err != nil || p < 0 || p > 1 {
			return 0, fmt.Errorf("%w %q: %q is not a probability in [0,1]", ErrModel, s, v)
		}
		return p, nil
	}
	switch kind {
	case "uniform":
		p, err := prob(arg)
		if err != nil {
			return nil, err
		}
		return Uniform{P: p}, nil
	case "burst":
		b := &Burst{H: 1}
		seen := map[string]bool{}
		for _, kv := range strings.Split(arg, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("%w %q: %q is not key=value", ErrModel, s, kv)
			}
			p, err := prob(v)
			if err != nil {
				return nil, err
			}
			switch k {
			case "p":
				b.P = p
			case "r":
				b.R = p
			case "k":
				b.K = p
			case "h":
				b.H = p
			default:
				return nil, fmt.Errorf("%w %q: unknown parameter %q", ErrModel, s, k)
			}
			seen[k] = true
		}
		if !seen["p"] || !seen["r"] {
			return nil, fmt.Errorf("%w %q: burst needs p and r", ErrModel, s)
		}
		return b, nil
	case "list":
		var l List
		var total uint64
		for _, part := range strings.Split(arg, ",") {
			lo, hi, isRange := strings.Cut(part, "-")
			a, err := strconv.ParseUint(lo, 10, 64)
			if err != nil || a == 0 {
				return nil, fmt.Errorf("%w %q: bad frame %q", ErrModel, s, lo)
			}
			b := a
			if isRange {
				if b, err = strconv.ParseUint(hi, 10, 64); err != nil || b < a || b-a >= MaxListFrames {
					return nil, fmt.Errorf("%w %q: bad range %q", ErrModel, s, part)
				}
			}
			// The bound is on the whole list, not on each range (the
			// frames go into the sidecar's records).
			if total += b - a + 1; total > MaxListFrames {
				return nil, fmt.Errorf("%w %q: more than %d frames listed", ErrModel, s, MaxListFrames)
			}
			l.Ranges = append(l.Ranges, [2]uint64{a, b})
		}
		slices.SortFunc(l.Ranges, func(x, y [2]uint64) int { return cmp.Compare(x[0], y[0]) })
		merged := l.Ranges[:1]
		for _, r := range l.Ranges[1:] {
			m := &merged[len(merged)-1]
			if r[0] <= m[1] || r[0]-1 == m[1] {
				m[1] = max(m[1], r[1])
				continue
			}
			merged = append(merged, r)
		}
		l.Ranges = merged
		return l, nil
	}
	return nil, fmt.Errorf("%w %q: unknown model %q", ErrModel, s, kind)
}

// MaxListFrames bounds the frames a list model names in all (ranges
// included), and so its memory.
const MaxListFrames = 1 << 24

// Config describes one simulation.
type Config struct {
	Input   string // capture to thin; its own sidecar, if any, is honoured
	Output  string // capture to write (pcapng when it ends in ".pcapng", any case, else pcap); the sidecar goes to sidecar.PathFor(Output)
	Model   Model
	Seed    uint64
	Force   bool // replace existing outputs
	Sidecar string
	// Select limits the model to the frames it selects (docs/report.md,
	// "Selecting frames"): only frames inside its window that pass its
	// filter may be dropped; every other frame is kept.
	Select selection.Select
}

// Stats says what a simulation did.
type Stats struct {
	FramesIn, FramesOut uint64
	Dropped             uint64 // frames the model dropped
	Lost                uint64 // total loss in the output's sidecar (dropped plus the input's own gaps)
	GapEvents           uint64
	Tail                uint64
}

// Run thins Input into Output and writes Output's ground-truth sidecar. The
// gap before each kept frame is the number of frames missing since the
// previous kept frame on its interface: the frames the model dropped plus
// any loss the input's own sidecar recorded there.
func Run(cfg Config) (Stats, error) {
	var st Stats
	opt := join.Options{}
	if cfg.Sidecar != "" {
		opt.Sidecars = []string{cfg.Sidecar}
	}
	in, err := join.Open([]string{cfg.Input}, opt)
	if err != nil {
		return st, err
	}
	defer in.Close()
	scPath := sidecar.PathFor(cfg.Output)
	inputs := join.Inputs([]string{cfg.Input}, join.Options{})
	if cfg.Sidecar != "" {
		inputs = append(inputs, cfg.Sidecar)
	}
	if atomicfile.IsStream(cfg.Output) {
		// OUT.gaps next to a device or a pipe would be a file in /dev.
		return st, fmt.Errorf("simulate: %s is a device or a pipe; the ground-truth sidecar goes to OUTPUT.gaps, so the output must be a file", cfg.Output)
	}
	out, err := atomicfile.Create(cfg.Output, atomicfile.Options{Overwrite: cfg.Force, Inputs: inputs})
	if err != nil {
		return st, err
	}
	defer out.Abort()
	scOut, err := atomicfile.Create(scPath, atomicfile.Options{Overwrite: cfg.Force, Inputs: inputs})
	if err != nil {
		return st, err
	}
	defer scOut.Abort()

	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	var sel *selection.Matcher
	if !cfg.Select.IsZero() {
		sel = cfg.Select.NewMatcher(context.Background())
	}
	var (
		fw      frameWriter
		sw      *sidecar.Writer
		pending []uint64 // per interface: frames missing since the last kept one
	)
	ng := isPcapng(cfg.Output)
	for {
		f, err := in.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, err
		}
		st.FramesIn++
		id := f.InterfaceID
		if id > 0 && !ng {
			return st, fmt.Errorf("simulate: %s has frames on interface %d; a pcap output holds one interface: name the output OUT.pcapng to keep them all", cfg.Input, id)
		}
		for len(pending) <= id {
			pending = append(pending, 0)
		}
		pending[id] += f.GapBefore
		drop := sel == nil || sel.InWindow(f.Frame)
		if drop && sel != nil {
			if drop, err = sel.Match(f.Frame); err != nil {
				return st, fmt.Errorf("simulate: %s: frame %d: %w", cfg.Input, f.Number, err)
			}
		}
		if drop && cfg.Model.Drop(f.Number, rng) {
			st.Dropped++
			pending[id]++
			continue
		}
		if fw == nil {
			// The identity's snap length is the one the output declares
			// for its first interface, as join computes it on reading.
			snap := declaredSnapLen(in.Interfaces(), ng)
			if ng {
				fw = &ngWriter{w: out}
			} else {
				fw = &pcapWriter{w: out, name: cfg.Input, snap: snap}
			}
			sw, err = sidecar.NewWriter(scOut, sidecar.Header{
				Source:    sidecar.SourceSimulated,
				Identity:  sidecar.IdentityOf(uint32(f.LinkType), snap, f.TimestampNs, f.Data),
				CreatedNs: time.Now().UnixNano(),
				Tool:      "gapan simulate " + cfg.Model.String() + " seed " + strconv.FormatUint(cfg.Seed, 10),
			})
			if err != nil {
				return st, err
			}
		}
		if err := fw.write(f, in.Interfaces()); err != nil {
			return st, err
		}
		st.FramesOut++
		if g := pending[id]; g > 0 {
			st.GapEvents++
			st.Lost += g
			if err := sw.Add(sidecar.Record{Frame: st.FramesOut, Gap: g}); err != nil {
				return st, err
			}
			pending[id] = 0
		}
	}
	for _, fi := range in.Files() {
		for _, g := range fi.Tail {
			for len(pending) <= int(g.Interface) {
				pending = append(pending, 0)
			}
			pending[g.Interface] += g.Lost
		}
	}
	if fw == nil {
		return st, fmt.Errorf("simulate: every frame of %s was dropped; nothing to write", cfg.Input)
	}
	if err := fw.flush(); err != nil {
		return st, err
	}
	var tail []sidecar.InterfaceGap
	for i, p := range pending {
		if p > 0 {
			tail = append(tail, sidecar.InterfaceGap{Interface: uint32(i), Lost: p})
			st.Tail += p
			st.Lost += p
		}
	}
	if err := sw.Close(sidecar.Trailer{Frames: st.FramesOut, Tail: tail}); err != nil {
		return st, err
	}
	if err := out.Commit(); err != nil {
		return st, err
	}
	if err := scOut.Commit(); err != nil {
		os.Remove(cfg.Output)
		return st, err
	}
	return st, nil
}

// isPcapng reports whether simulate writes name as pcapng: when it ends in
// ".pcapng" (any case). Any other name gets a pcap, which holds a single
// interface and link type.
func isPcapng(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".pcapng")
}

// frameWriter writes the kept frames in one capture format.
type frameWriter interface {
	// write writes f; ifs are the input's interfaces declared so far.
	write(f *join.Frame, ifs []reader.Interface) error
	flush() error
}

// pcapWriter writes a nanosecond pcap: one interface, one link type.
type pcapWriter struct {
	w    io.Writer
	name string // the input, for errors
	snap uint32 // the snap length the header declares
	pw   *pcapgo.Writer
	link layers.LinkType
}

// declaredSnapLen is the snap length an output declares for the first of
// interfaces ifs: theirs, or in a pcap, which has no "unlimited", 65535.
func declaredSnapLen(ifs []reader.Interface, ng bool) uint32 {
	var snap uint32
	if len(ifs) > 0 {
		snap = ifs[0].SnapLen
	}
	if !ng && snap == 0 {
		snap = 65535
	}
	return snap
}

func (p *pcapWriter) write(f *join.Frame, ifs []reader.Interface) error {
	if p.pw == nil {
		p.link = f.LinkType
		p.pw = pcapgo.NewWriterNanos(p.w)
		if err := p.pw.WriteFileHeader(p.snap, p.link); err != nil {
			return err
		}
	} else if f.LinkType != p.link {
		return fmt.Errorf("simulate: %s mixes link types %v and %v; a pcap output holds one: name the output OUT.pcapng", p.name, p.link, f.LinkType)
	}
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, f.TimestampNs), CaptureLength: f.CapLen, Length: f.OrigLen}
	return p.pw.WritePacket(ci, f.Data)
}

func (p *pcapWriter) flush() error { return nil }

// ngWriter writes pcapng with every interface of the input, in the
// input's order (so interface IDs, and with them the sidecar's
// per-interface gaps, keep their meaning), nanosecond timestamps.
type ngWriter struct {
	w     io.Writer
	nw    *pcapgo.NgWriter
	added int // interfaces written so far
}

func (n *ngWriter) write(f *join.Frame, ifs []reader.Interface) error {
	for n.added <= f.InterfaceID {
		ni := pcapgo.NgInterface{LinkType: f.LinkType, TimestampResolution: 9}
		if n.added < len(ifs) {
			in := ifs[n.added]
			ni.LinkType, ni.SnapLength, ni.Name, ni.Description = in.LinkType, in.SnapLen, in.Name, in.Description
		}
		var err error
		if n.nw == nil {
			n.nw, err = pcapgo.NewNgWriterInterface(n.w, ni, pcapgo.NgWriterOptions{
				SectionInfo: pcapgo.NgSectionInfo{Application: "gapan simulate"},
			})
		} else {
			_, err = n.nw.AddInterface(ni)
		}
		if err != nil {
			return err
		}
		n.added++
	}
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, f.TimestampNs), CaptureLength: f.CapLen, Length: f.OrigLen, InterfaceIndex: f.InterfaceID}
	return n.nw.WritePacket(ci, f.Data)
}

func (n *ngWriter) flush() error { return n.nw.Flush() }
