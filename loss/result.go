package loss

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// Counters are the additive loss figures of a flow; the summary holds their
// sums over all flows. JSON names are the stable names of docs/metrics.md,
// shared by the report, CSV and Parquet outputs.
type Counters struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	// GapsDuring, FramesLostDuring and EstLost need a loss record (a
	// sidecar or pcapng drop counts): without one they are unknown, and
	// every output shows them so (Flow.LossNotRecorded).
	GapsDuring       uint64  `json:"gaps_during" gapan:"recorded"`
	FramesLostDuring uint64  `json:"frames_lost_during" gapan:"recorded"`
	EstLost          float64 `json:"est_lost" gapan:"recorded"`

	Duplicates     uint64 `json:"duplicates"`
	Retransmission uint64 `json:"retransmissions"`
	Reordered      uint64 `json:"reordered"`
	ReorderedBytes uint64 `json:"reordered_bytes"`

	AmbiguousSegments uint64 `json:"ambiguous_segments"`
	AmbiguousBytes    uint64 `json:"ambiguous_bytes"`

	UpstreamLostSegments uint64 `json:"upstream_lost_segments"`
	UpstreamLostBytes    uint64 `json:"upstream_lost_bytes"`

	CaptureLostSegments        uint64 `json:"capture_lost_segments"`
	CaptureLostBytes           uint64 `json:"capture_lost_bytes"`
	CaptureExplainedSegments   uint64 `json:"capture_explained_segments"`
	CaptureExplainedBytes      uint64 `json:"capture_explained_bytes"`
	CaptureUnexplainedSegments uint64 `json:"capture_unexplained_segments"`
	CaptureUnexplainedBytes    uint64 `json:"capture_unexplained_bytes"`
	UnknownSegments            uint64 `json:"unknown_segments"`
	UnknownBytes               uint64 `json:"unknown_bytes"`
	DownstreamLostSegments     uint64 `json:"downstream_lost_segments"`
	DownstreamLostBytes        uint64 `json:"downstream_lost_bytes"`
	SpuriousRetransmissions    uint64 `json:"spurious_retransmissions"`
	MissedBytes                uint64 `json:"missed_bytes"`
	HoleEvents                 uint64 `json:"hole_events"`
	AckLostEvents              uint64 `json:"ack_lost_events"`
	ImplausibleAcks            uint64 `json:"implausible_acks"`
	SeqRebases                 uint64 `json:"seq_rebases"`
	RTPPackets                 uint64 `json:"rtp_packets"`
	RTPLostUpstream            uint64 `json:"rtp_lost_upstream"`
	RTPLostCapture             uint64 `json:"rtp_lost_capture"`
	RTPLate                    uint64 `json:"rtp_late"`
	// The sequence families' counters, each with its own prefix (seq.go).
	ESPCounters
	GTPUCounters
	ICMPCounters
	MP2TCounters
}

// Add adds o to c.
func (c *Counters) Add(o *Counters) {
	c.Packets += o.Packets
	c.Bytes += o.Bytes
	c.GapsDuring += o.GapsDuring
	c.FramesLostDuring += o.FramesLostDuring
	c.EstLost += o.EstLost
	c.Duplicates += o.Duplicates
	c.Retransmission += o.Retransmission
	c.Reordered += o.Reordered
	c.ReorderedBytes += o.ReorderedBytes
	c.AmbiguousSegments += o.AmbiguousSegments
	c.AmbiguousBytes += o.AmbiguousBytes
	c.UpstreamLostSegments += o.UpstreamLostSegments
	c.UpstreamLostBytes += o.UpstreamLostBytes
	c.CaptureLostSegments += o.CaptureLostSegments
	c.CaptureLostBytes += o.CaptureLostBytes
	c.CaptureExplainedSegments += o.CaptureExplainedSegments
	c.CaptureExplainedBytes += o.CaptureExplainedBytes
	c.CaptureUnexplainedSegments += o.CaptureUnexplainedSegments
	c.CaptureUnexplainedBytes += o.CaptureUnexplainedBytes
	c.UnknownSegments += o.UnknownSegments
	c.UnknownBytes += o.UnknownBytes
	c.DownstreamLostSegments += o.DownstreamLostSegments
	c.DownstreamLostBytes += o.DownstreamLostBytes
	c.SpuriousRetransmissions += o.SpuriousRetransmissions
	c.MissedBytes += o.MissedBytes
	c.HoleEvents += o.HoleEvents
	c.AckLostEvents += o.AckLostEvents
	c.ImplausibleAcks += o.ImplausibleAcks
	c.SeqRebases += o.SeqRebases
	c.RTPPackets += o.RTPPackets
	c.RTPLostUpstream += o.RTPLostUpstream
	c.RTPLostCapture += o.RTPLostCapture
	c.RTPLate += o.RTPLate
	c.ESPCounters.add(&o.ESPCounters)
	c.GTPUCounters.add(&o.GTPUCounters)
	c.ICMPCounters.add(&o.ICMPCounters)
	c.MP2TCounters.add(&o.MP2TCounters)
}

// Flow is the accounting of one flow, final once the Engine hands it out.
type Flow struct {
	FlowID    uint64 `json:"flow_id"`
	Proto     string `json:"proto"`
	IPVersion uint8  `json:"ip_version,omitempty"`
	// Src is the endpoint that sent the flow's first frame, Dst the other.
	SrcIP     string `json:"src_ip,omitempty"`
	SrcPort   uint16 `json:"src_port"`
	DstIP     string `json:"dst_ip,omitempty"`
	DstPort   uint16 `json:"dst_port"`
	VLAN      []int  `json:"vlan,omitempty"`
	EtherType string `json:"ether_type,omitempty"`
	FirstNs   int64  `json:"first_ts_ns"`
	LastNs    int64  `json:"last_ts_ns"`
	FirstTs   string `json:"first_ts"`
	LastTs    string `json:"last_ts"`
	// PacketsFwd and PacketsRev split Packets by direction (forward: from
	// Src); likewise the bytes.
	PacketsFwd uint64 `json:"packets_fwd"`
	PacketsRev uint64 `json:"packets_rev"`
	BytesFwd   uint64 `json:"bytes_fwd"`
	BytesRev   uint64 `json:"bytes_rev"`
	EndReason  string `json:"end_reason"`
	IsRTP      bool   `json:"rtp"`
	// IsMP2T says a direction of the flow carried an MPEG transport
	// stream (mp2t_* counters).
	IsMP2T bool `json:"mp2t"`
	Counters
	// FirstFrame and LastFrame are the global frame indexes (1-based over
	// the whole set) of the flow's first and last frame.
	FirstFrame uint64 `json:"first_frame"`
	LastFrame  uint64 `json:"last_frame"`
	// LossUnknown says some of the flow's frames came after the end of an
	// incomplete sidecar (a killed recorder): its loss figures cover only
	// the part before, and the loss after is unknown, not 0.
	LossUnknown bool `json:"loss_unknown"`
	// LossNotRecorded says the flow ended in a capture that has no loss
	// record (no sidecar, no pcapng drop counts): the figures that need
	// one (FlowColumn.NeedsRecord: gaps_during, frames_lost_during,
	// est_lost) are unknown, not 0, and the outputs write them as null
	// (JSON, NDJSON, Parquet) or an empty cell (CSV).
	LossNotRecorded bool `json:"-"`
	// LossScore orders flows by how much they lost (for --top).
	LossScore float64 `json:"-"`
}

// MarshalJSON writes f as encoding/json writes its fields (FlowJSON,
// compact, nothing rounded), with the figures that need a loss record as
// null when f.LossNotRecorded.
func (f *Flow) MarshalJSON() ([]byte, error) { return compactFlowJSON().Append(nil, f) }

// FlowColumn is one figure of a Flow as the outputs that list flows column
// by column (CSV, the Parquet flows table) name it.
type FlowColumn struct {
	// Name is the field's JSON name.
	Name string
	// Field is the field of Flow (Field.Index for
	// reflect.Value.FieldByIndex on a Flow; Field.Tag for its JSON tag).
	Field reflect.StructField
	// NeedsRecord says the figure is unknown without a loss record: its
	// cell is null or empty in a flow with LossNotRecorded.
	NeedsRecord bool
	// OmitEmpty says the JSON tag has omitempty: encoding/json leaves the
	// member out when the value is empty (0, "", false, no element).
	OmitEmpty bool

	// offset is the field's byte offset in Flow (through the embedded
	// Counters): the getters read it without reflection.
	offset uintptr
	kind   reflect.Kind
}

// Kind returns the kind of the column's field (Field.Type.Kind()).
func (c *FlowColumn) Kind() reflect.Kind { return c.kind }

// ptr returns the address of the column's field in f.
func (c *FlowColumn) ptr(f *Flow) unsafe.Pointer { return unsafe.Add(unsafe.Pointer(f), c.offset) }

// Uint returns the column's value in f for an unsigned integer column
// (Kind uint8, uint16, uint32, uint64, uint); 0 for another kind.
func (c *FlowColumn) Uint(f *Flow) uint64 {
	p := c.ptr(f)
	switch c.Kind() {
	case reflect.Uint64:
		return *(*uint64)(p)
	case reflect.Uint32:
		return uint64(*(*uint32)(p))
	case reflect.Uint16:
		return uint64(*(*uint16)(p))
	case reflect.Uint8:
		return uint64(*(*uint8)(p))
	case reflect.Uint:
		return uint64(*(*uint)(p))
	}
	return 0
}

// Int returns the column's value in f for a signed integer column (Kind
// int8, int16, int32, int64, int); 0 for another kind.
func (c *FlowColumn) Int(f *Flow) int64 {
	p := c.ptr(f)
	switch c.Kind() {
	case reflect.Int64:
		return *(*int64)(p)
	case reflect.Int32:
		return int64(*(*int32)(p))
	case reflect.Int16:
		return int64(*(*int16)(p))
	case reflect.Int8:
		return int64(*(*int8)(p))
	case reflect.Int:
		return int64(*(*int)(p))
	}
	return 0
}

// Float returns the column's value in f for a float64 column; 0 for
// another kind.
func (c *FlowColumn) Float(f *Flow) float64 {
	if c.Kind() != reflect.Float64 {
		return 0
	}
	return *(*float64)(c.ptr(f))
}

// Bool returns the column's value in f for a bool column; false for
// another kind.
func (c *FlowColumn) Bool(f *Flow) bool {
	if c.Kind() != reflect.Bool {
		return false
	}
	return *(*bool)(c.ptr(f))
}

// Str returns the column's value in f for a string column; "" for another
// kind.
func (c *FlowColumn) Str(f *Flow) string {
	if c.Kind() != reflect.String {
		return ""
	}
	return *(*string)(c.ptr(f))
}

// Value returns the column's field of f by reflection, for the kinds the
// typed getters do not cover (the VLAN list).
func (c *FlowColumn) Value(f *Flow) reflect.Value {
	return reflect.ValueOf(f).Elem().FieldByIndex(c.Field.Index)
}

// flowColumns is FlowColumns' list, derived once, on first use: the
// fields with a JSON name.
var flowColumns = sync.OnceValue(func() []FlowColumn {
	return walkFlowFields(func(c *FlowColumn) bool {
		name, opts, _ := strings.Cut(c.Field.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			return false
		}
		c.Name, c.NeedsRecord = name, c.Field.Tag.Get("gapan") == "recorded"
		c.OmitEmpty = slices.Contains(strings.Split(opts, ","), "omitempty")
		return true
	})
})

// walkFlowFields walks the exported fields of Flow in declaration order
// (those of Counters in its place) and returns the FlowColumn of each
// that keep, which may fill in the column, accepts: the one walk of Flow's
// fields, for FlowColumns and for the binary record (recordFields).
func walkFlowFields(keep func(c *FlowColumn) bool) []FlowColumn {
	var out []FlowColumn
	t := reflect.TypeFor[Flow]()
	for _, sf := range reflect.VisibleFields(t) {
		if sf.Anonymous || !sf.IsExported() {
			continue
		}
		c := FlowColumn{Name: sf.Name, Field: sf, offset: fieldOffset(t, sf.Index), kind: sf.Type.Kind()}
		if keep(&c) {
			out = append(out, c)
		}
	}
	return out
}

// fieldOffset returns the byte offset in a value of type t of the field at
// index (through embedded structs, none of them by pointer).
func fieldOffset(t reflect.Type, index []int) uintptr {
	var off uintptr
	for _, i := range index {
		sf := t.Field(i)
		off += sf.Offset
		t = sf.Type
	}
	return off
}

// FlowColumns returns the columns of a flow: every field of Flow with a
// JSON name, in declaration order (those of Counters in its place), so
// that CSV, Parquet and JSON name the figures alike and cannot drift
// apart. The slice is shared: do not modify it.
func FlowColumns() []FlowColumn { return flowColumns() }
