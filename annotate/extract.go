package annotate

import (
	"errors"
	"io"
	"time"

	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/sidecar"
)

// ExtractTool is the Tool string of the sidecars Extract writes.
const ExtractTool = "gapan sidecar extract"

// ExtractConfig describes one extraction of a sidecar from pcapng drop
// counts.
type ExtractConfig struct {
	// Input is the capture (pcapng; a pcap has no drop counts and gives an
	// empty sidecar). "-" is standard input.
	Input string
	// Output is the sidecar file Extract writes, atomically. ExtractTo
	// ignores it.
	Output string
	// Force replaces an existing Output (never the input).
	Force bool
	// KeepGoing stops at damage in the input, and writes the sidecar of
	// the frames before it, instead of failing.
	KeepGoing bool
	// NoTail does not infer tail gaps from the interface statistics.
	NoTail bool
	// CreatedNs is the sidecar's creation time; 0 means now.
	CreatedNs int64
}

// ExtractStats says what Extract found.
type ExtractStats struct {
	Frames          uint64 // frames read
	DropCountFrames uint64 // frames carrying epb_dropcount, 0 included
	Records         uint64 // sidecar records written (frames with epb_dropcount > 0)
	Lost            uint64 // sum of the records' gaps
	Tail            uint64 // sum of the tail gaps
	// Inconsistent counts interfaces whose isb_ifdrop is smaller than the
	// sum of their epb_dropcount values (no tail is inferred for them).
	Inconsistent int
	// Truncated is set when KeepGoing stopped at damage in the input.
	Truncated bool
	// Damage is the error KeepGoing stopped at, nil otherwise.
	Damage error
}

// Extract writes the sidecar of cfg.Input's drop counts to cfg.Output,
// which appears only when everything went well.
func Extract(cfg ExtractConfig) (ExtractStats, error) {
	if cfg.Output == "" {
		return ExtractStats{}, errors.New("annotate: no output file given")
	}
	out, err := atomicfile.Create(cfg.Output, atomicfile.Options{Overwrite: cfg.Force, Inputs: []string{cfg.Input}})
	if err != nil {
		return ExtractStats{}, err
	}
	defer out.Abort()
	st, err := ExtractTo(out, cfg)
	if err != nil {
		return st, err
	}
	return st, out.Commit()
}

// ExtractTo writes the binary sidecar of cfg.Input's drop counts to w.
//
// Every frame whose epb_dropcount (or obsolete packet block drops count)
// is above 0 becomes a record. The tail of an interface is what its last
// Interface Statistics Block's isb_ifdrop counts beyond the sum of its
// epb_dropcount values, inferred only when the file carries epb_dropcount
// at all: a recorder that counts drops per packet accounts for every drop
// that way, so the rest happened after the last frame (Writer writes
// epb_dropcount on the first frame of every counted interface for exactly
// this reason), while the isb_ifdrop of a recorder that does not (dumpcap)
// says nothing about where its drops were. The identity is that of the
// capture, so the sidecar can be paired with it.
func ExtractTo(w io.Writer, cfg ExtractConfig) (ExtractStats, error) {
	var st ExtractStats
	rd, err := reader.Open(cfg.Input)
	if err != nil {
		return st, err
	}
	defer rd.Close()
	created := cfg.CreatedNs
	if created == 0 {
		created = time.Now().UnixNano()
	}
	var (
		sw   *sidecar.Writer
		hdr  = sidecar.Header{Source: sidecar.SourcePcapng, CreatedNs: created, Tool: ExtractTool}
		sums []uint64 // per interface: sum of epb_dropcount
	)
	for {
		f, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !cfg.KeepGoing {
				return st, err
			}
			st.Truncated, st.Damage = true, err
			break
		}
		if sw == nil {
			hdr.Identity = sidecar.IdentityOf(uint32(f.LinkType), firstSnapLen(rd), f.TimestampNs, f.Data)
			if sw, err = sidecar.NewWriter(w, hdr); err != nil {
				return st, err
			}
		}
		if !f.HasDropCount {
			continue
		}
		id := f.InterfaceID
		for len(sums) <= id {
			sums = append(sums, 0)
		}
		st.DropCountFrames++
		if f.DropCount == 0 {
			continue
		}
		sums[id] += f.DropCount
		st.Records++
		st.Lost += f.DropCount
		if err := sw.Add(sidecar.Record{Frame: f.Number, Gap: f.DropCount}); err != nil {
			return st, err
		}
	}
	st.Frames = rd.FramesRead()
	if sw == nil {
		// No frames: the identity of an empty capture.
		ifs := rd.Interfaces()
		if len(ifs) > 0 {
			hdr.Identity = sidecar.IdentityOf(uint32(ifs[0].LinkType), ifs[0].SnapLen, 0, nil)
		}
		if sw, err = sidecar.NewWriter(w, hdr); err != nil {
			return st, err
		}
	}
	t := sidecar.Trailer{Frames: st.Frames}
	if !cfg.NoTail && !st.Truncated && st.DropCountFrames > 0 {
		for _, s := range rd.Stats() { // in interface order, as the trailer needs
			id := s.InterfaceID
			if !s.HasDropped {
				continue
			}
			var sum uint64
			if id < len(sums) {
				sum = sums[id]
			}
			switch {
			case s.Dropped > sum:
				t.Tail = append(t.Tail, sidecar.InterfaceGap{Interface: uint32(id), Lost: s.Dropped - sum})
				st.Tail += s.Dropped - sum
			case s.Dropped < sum:
				st.Inconsistent++
			}
		}
	}
	return st, sw.Close(t)
}

func firstSnapLen(rd *reader.Reader) uint32 {
	if ifs := rd.Interfaces(); len(ifs) > 0 {
		return ifs[0].SnapLen
	}
	return 0
}
