package reader

import "fmt"

// AnomalyKind names a property of a capture that readers accept (as
// libpcap and Wireshark do) but that says the file is damaged or was
// written by a broken tool. Wireshark's expert info flags the same.
type AnomalyKind int

// Anomaly kinds.
const (
	// SnapLenZero: a pcap file header gives snap length 0 (pcapng's 0
	// means "no limit" and is not an anomaly).
	SnapLenZero AnomalyKind = iota
	// CapLenOverSnapLen: a frame's captured length exceeds its
	// interface's snap length.
	CapLenOverSnapLen
	// CapLenOverOrigLen: a frame's captured length exceeds its original
	// (wire) length.
	CapLenOverOrigLen
	// FractionOverflow: a pcap record's sub-second field is a whole
	// second or more (10⁹ ns, 10⁶ µs); the reader adds it to the seconds.
	FractionOverflow
	numAnomalyKinds
)

func (k AnomalyKind) String() string {
	switch k {
	case SnapLenZero:
		return "snap length 0 in the file header"
	case CapLenOverSnapLen:
		return "captured length above the snap length"
	case CapLenOverOrigLen:
		return "captured length above the original length"
	case FractionOverflow:
		return "sub-second timestamp field of a whole second or more"
	}
	return fmt.Sprintf("anomaly %d", int(k))
}

// Anomaly counts the frames of one kind of anomaly and names the first.
type Anomaly struct {
	Kind  AnomalyKind
	Count uint64 // frames with it (1 for SnapLenZero, a property of the file)
	First uint64 // the first such frame, 0 for SnapLenZero
	// Offset is the byte offset of the first such frame's record (of the
	// file header for SnapLenZero).
	Offset int64
}

func (a Anomaly) String() string {
	if a.Kind == SnapLenZero {
		return a.Kind.String()
	}
	s := "frames"
	if a.Count == 1 {
		s = "frame"
	}
	return fmt.Sprintf("%s: %d %s, the first frame %d (byte offset %d)", a.Kind, a.Count, s, a.First, a.Offset)
}

// anomalies is the Reader's count of each kind.
type anomalies struct {
	n     [numAnomalyKinds]Anomaly
	total uint64
}

func (a *anomalies) note(k AnomalyKind, frame uint64, off int64) {
	x := &a.n[k]
	if x.Count == 0 {
		x.Kind, x.First, x.Offset = k, frame, off
	}
	x.Count++
	a.total++
}

// checkFrame notes the anomalies of frame f, whose interface has snap
// length snap (0: none declared).
func (a *anomalies) checkFrame(f *Frame, snap uint32) {
	if snap > 0 && uint64(f.CapLen) > uint64(snap) {
		a.note(CapLenOverSnapLen, f.Number, f.Offset)
	}
	if f.CapLen > f.OrigLen {
		a.note(CapLenOverOrigLen, f.Number, f.Offset)
	}
}

// Anomalies returns the anomalies found so far, in the order of their
// kinds; complete once Next has returned io.EOF.
func (r *Reader) Anomalies() []Anomaly {
	var out []Anomaly
	for _, x := range r.anom.n {
		if x.Count > 0 {
			out = append(out, x)
		}
	}
	return out
}

// AnomalyCount returns the number of anomalies noted so far (frames, plus
// one for a snap length of 0): a caller that must refuse them (--strict)
// compares it after each frame.
func (r *Reader) AnomalyCount() uint64 { return r.anom.total }
