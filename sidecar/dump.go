package sidecar

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// DumpFormats are the forms Dump writes, as gapan sidecar dump's --format
// names them: the text form (ConvertToText), CSV (WriteCSV) and JSON
// (WriteJSON).
var DumpFormats = []string{"text", "csv", "json"}

// Dump writes r to w in format, one of DumpFormats.
func Dump(w io.Writer, r RecordReader, format string) error {
	switch format {
	case "text":
		return ConvertToText(w, r)
	case "csv":
		return WriteCSV(w, r)
	case "json":
		return WriteJSON(w, r)
	}
	return fmt.Errorf("sidecar: unknown dump format %q", format)
}

// WriteCSV writes the records of r as CSV: exactly a header line
// "frame,gap" and one row per record (for an inferred sidecar
// "frame,gap,first,last,confidence", each record with its bracket), so that every engine infers integer
// columns (the header and trailer are left out; WriteJSON and
// ConvertToText carry them). After the valid prefix it returns r's
// terminal error, if any.
func WriteCSV(w io.Writer, r RecordReader) error {
	bw := bufio.NewWriter(w)
	brackets := r.Header().Source == SourceInferred
	if _, ok := r.(bracketSource); !ok {
		brackets = false
	}
	if brackets {
		bw.WriteString("frame,gap,first,last,confidence\n")
	} else {
		bw.WriteString("frame,gap\n")
	}
	var buf []byte
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return bw.Flush()
		}
		if err != nil {
			bw.Flush()
			return err
		}
		buf = strconv.AppendUint(buf[:0], rec.Frame, 10)
		buf = append(buf, ',')
		buf = strconv.AppendUint(buf, rec.Gap, 10)
		if brackets {
			if b, ok := bracketOf(r, rec.Frame); ok {
				buf = fmt.Appendf(buf, ",%d,%d,%s", b.First, b.Last, confidenceText(b.ConfidencePermille))
			} else {
				buf = append(buf, ",,,"...)
			}
		}
		buf = append(buf, '\n')
		bw.Write(buf)
	}
}

// jsonIdentity is Identity in WriteJSON's output.
type jsonIdentity struct {
	LinkType      uint32 `json:"link_type"`
	SnapLen       uint32 `json:"snaplen"`
	FirstFrameNs  int64  `json:"first_frame_ns"`
	FirstFrameCRC string `json:"first_frame_crc32c"` // 8 hex digits
}

// jsonHeader is Header in WriteJSON's output; Identity is null when unknown.
type jsonHeader struct {
	CreatedNs int64         `json:"created_ns"`
	Identity  *jsonIdentity `json:"identity"`
	Source    string        `json:"source"`
	Tool      string        `json:"tool"`
}

// jsonTail is an InterfaceGap in WriteJSON's output.
type jsonTail struct {
	Interface uint32 `json:"interface"`
	Lost      uint64 `json:"lost"`
}

// jsonTrailer is Trailer in WriteJSON's output; the kernel counters are
// there only when the trailer has them (HasKernel).
type jsonTrailer struct {
	Frames        uint64     `json:"frames"`
	KernelDrops   *uint64    `json:"kernel_drops,omitempty"`
	KernelPackets *uint64    `json:"kernel_packets,omitempty"`
	Tail          []jsonTail `json:"tail"`
	TailGap       uint64     `json:"tail_gap"`
}

func headerJSON(h Header) jsonHeader {
	j := jsonHeader{CreatedNs: h.CreatedNs, Source: h.Source.String(), Tool: h.Tool}
	if id := h.Identity; id.Known {
		j.Identity = &jsonIdentity{id.LinkType, id.SnapLen, id.FirstFrameNs, fmt.Sprintf("%08x", id.FirstFrameCRC)}
	}
	return j
}

func trailerJSON(t Trailer) jsonTrailer {
	j := jsonTrailer{Frames: t.Frames, Tail: make([]jsonTail, 0, len(t.Tail)), TailGap: t.TailTotal()}
	for _, g := range t.Tail {
		j.Tail = append(j.Tail, jsonTail{g.Interface, g.Lost})
	}
	if t.HasKernel {
		j.KernelDrops, j.KernelPackets = &t.KernelDrops, &t.KernelPackets
	}
	return j
}

// WriteJSON writes r as one JSON object on one line:
//
//	{"header":{"created_ns":…,"identity":{…}|null,"source":"kernel","tool":…},
//	 "records":[{"frame":7,"gap":3},…],
//	 "trailer":{"frames":…,"kernel_drops":…,"kernel_packets":…,"tail":[{"interface":0,"lost":1}],"tail_gap":1}|null,
//	 "error":"…"}
//
// A record of an inferred sidecar also has "first", "last" and
// "confidence" (its bracket), and "inferred":{"total":N|null,"unplaced":U}
// follows the records when the sidecar has inferred totals.
// The records are streamed, so a sidecar of millions of records needs no
// memory. "trailer" is null when r has no valid trailer; "error" is there
// only when r ended in an error, which WriteJSON then also returns, after
// writing the whole object.
func WriteJSON(w io.Writer, r RecordReader) error {
	bw := bufio.NewWriter(w)
	hj, _ := json.Marshal(headerJSON(r.Header()))
	fmt.Fprintf(bw, "{\"header\":%s,\"records\":[", hj)
	var rerr error
	for n := 0; ; n++ {
		rec, err := r.Next()
		if err != nil {
			if err != io.EOF {
				rerr = err
			}
			break
		}
		if n > 0 {
			bw.WriteByte(',')
		}
		if b, ok := bracketOf(r, rec.Frame); ok {
			fmt.Fprintf(bw, "{\"frame\":%d,\"gap\":%d,\"first\":%d,\"last\":%d,\"confidence\":%s}", rec.Frame, rec.Gap, b.First, b.Last, confidenceText(b.ConfidencePermille))
			continue
		}
		fmt.Fprintf(bw, "{\"frame\":%d,\"gap\":%d}", rec.Frame, rec.Gap)
	}
	bw.WriteByte(']')
	if it, ok := inferredTotalsOf(r); ok {
		total := "null"
		if it.HasTotal {
			total = strconv.FormatUint(it.Total, 10)
		}
		fmt.Fprintf(bw, ",\"inferred\":{\"total\":%s,\"unplaced\":%d}", total, it.Unplaced)
	}
	bw.WriteString(",\"trailer\":")
	if t, ok := r.Trailer(); ok {
		tj, _ := json.Marshal(trailerJSON(t))
		bw.Write(tj)
	} else {
		bw.WriteString("null")
	}
	if rerr != nil {
		ej, _ := json.Marshal(rerr.Error())
		fmt.Fprintf(bw, ",\"error\":%s", ej)
	}
	bw.WriteString("}\n")
	if err := bw.Flush(); err != nil {
		return err
	}
	return rerr
}

// Write writes f in the binary form: its header, its records and, when
// f.HasTrailer, its trailer. A File without trailer (ReadAll's valid
// prefix of a cut sidecar, an imported text without trailer lines) is
// written without one too, so that every reader of the copy says, as of
// the original, that the loss after its last record is unknown.
func Write(w io.Writer, f *File) error {
	sw, err := NewWriter(w, f.Header)
	if err != nil {
		return err
	}
	for _, r := range f.Records {
		if err := sw.Add(r); err != nil {
			return err
		}
	}
	if !f.HasTrailer {
		return sw.Flush()
	}
	return sw.Close(f.Trailer)
}

// bracketOf returns the bracket of frame's record when r carries one.
func bracketOf(r RecordReader, frame uint64) (Bracket, bool) {
	if bs, ok := r.(bracketSource); ok {
		return bs.Bracket(frame)
	}
	return Bracket{}, false
}

// inferredTotalsOf returns the inferred totals r carries, if any.
func inferredTotalsOf(r RecordReader) (InferredTotals, bool) {
	if bs, ok := r.(bracketSource); ok {
		return bs.InferredTotals()
	}
	return InferredTotals{}, false
}
