// Package fuzzgen turns a fuzzer's bytes into the values the report and
// Parquet writers take: arbitrary flows (any strings, any counts, finite
// estimates) and the run around them, so that every writer can be fuzzed
// on the same inputs.
//
//	flows, files := fuzzgen.Flows(data)
package fuzzgen

import (
	"encoding/binary"
	"math"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
)

// src hands out the fuzzer's bytes, zeros once they run out.
type src struct{ b []byte }

func (s *src) u8() byte {
	if len(s.b) == 0 {
		return 0
	}
	v := s.b[0]
	s.b = s.b[1:]
	return v
}

func (s *src) u64() uint64 {
	var x [8]byte
	n := copy(x[:], s.b)
	s.b = s.b[n:]
	v := binary.LittleEndian.Uint64(x[:])
	// Mostly small values, sometimes extreme ones.
	switch x[0] & 3 {
	case 0:
		return v & 0xff
	case 1:
		return v & 0xffffff
	}
	return v
}

func (s *src) str() string {
	n := int(s.u8() % 24)
	n = min(n, len(s.b))
	v := string(s.b[:n]) // any bytes: invalid UTF-8, quotes, commas, newlines, HTML
	s.b = s.b[n:]
	return v
}

// Flows returns up to 256 flows and a one-capture set described by data.
// Flow ids are distinct and increasing (as the engine hands them out when
// sorted); every float is finite and not negative, as the engine's are.
func Flows(data []byte) ([]*loss.Flow, []join.FileInfo) {
	s := &src{b: data}
	fi := join.FileInfo{Name: s.str(), Sidecar: s.str(), Source: join.SourceSidecar, Frames: s.u64(), Gaps: s.u64(), Lost: s.u64(),
		FirstNs: int64(s.u64()), LastNs: int64(s.u64()), Size: -1}
	if s.u8()&1 != 0 {
		fi.SidecarIncomplete, fi.LossUnknownAfter = true, s.u64()
	} else {
		fi.HasTrailer = true
	}
	n := int(s.u8())
	flows := make([]*loss.Flow, 0, n)
	var id uint64
	for range n {
		if len(s.b) == 0 {
			break
		}
		id += 1 + s.u64()%1000
		f := &loss.Flow{FlowID: id, Proto: s.str(), IPVersion: s.u8(), SrcIP: s.str(), SrcPort: uint16(s.u64()), DstIP: s.str(), DstPort: uint16(s.u64()),
			EtherType: s.str(), FirstNs: int64(s.u64()), LastNs: int64(s.u64()), FirstTs: s.str(), LastTs: s.str(),
			PacketsFwd: s.u64(), PacketsRev: s.u64(), BytesFwd: s.u64(), BytesRev: s.u64(), EndReason: s.str(), IsRTP: s.u8()&1 != 0,
			FirstFrame: s.u64(), LastFrame: s.u64()}
		for range s.u8() % 3 {
			f.VLAN = append(f.VLAN, int(s.u64()%4096))
		}
		f.Packets = f.PacketsFwd + f.PacketsRev
		f.Bytes = f.BytesFwd + f.BytesRev
		f.GapsDuring, f.FramesLostDuring = s.u64(), s.u64()
		f.EstLost = finite(float64(s.u64()) / float64(1+s.u8()))
		f.LossScore = f.EstLost
		f.Retransmission, f.CaptureLostSegments, f.CaptureLostBytes = s.u64(), s.u64(), s.u64()
		f.UpstreamLostSegments, f.RTPLostCapture, f.HoleEvents = s.u64(), s.u64(), s.u64()
		flows = append(flows, f)
	}
	return flows, []join.FileInfo{fi}
}

func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
		return 0
	}
	return x
}

// Summary returns a summary of flows as the engine would: the counters
// summed (wrapping as uint64 does, like any sum of arbitrary values), the
// flows kept in List.
func Summary(flows []*loss.Flow, files []join.FileInfo) *loss.Summary {
	s := &loss.Summary{List: flows, FlowCount: uint64(len(flows))}
	for _, f := range flows {
		s.Flows.Add(&f.Counters)
	}
	for _, fi := range files {
		s.FramesCaptured += fi.Frames
		s.FramesLost += fi.Lost
		s.GapEvents += fi.Gaps
	}
	if s.FramesCaptured+s.FramesLost > 0 {
		s.LossRatio = float64(s.FramesLost) / (float64(s.FramesCaptured) + float64(s.FramesLost))
	}
	return s
}
