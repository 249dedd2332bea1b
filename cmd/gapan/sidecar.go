package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/report"
	"github.com/gapan/gapan/sidecar"
	"github.com/spf13/cobra"
)

func newSidecarCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "sidecar",
		Short: "Inspect, check, import and export gap sidecars",
		Long: `A gap sidecar (capture.pcap.gaps) holds sparse (frame, gap) records: the
number of frames lost just before a frame. See docs/sidecar.md.`,
		Example: `  gapan sidecar check testdata/demo/demo.pcap
  gapan sidecar dump testdata/demo/demo.pcap.gaps --format json`,
	}
	c.AddCommand(newSidecarDumpCmd(), newSidecarCheckCmd(), newSidecarImportCmd(), newSidecarExportCmd())
	c.AddCommand(sidecarExtraCommands()...)
	return c
}

func openSidecar(path string) (sidecar.RecordReader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	r, err := sidecar.NewAutoReader(f, path)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return r, f, nil
}

func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return usagef("unknown --format %q (want one of %v)", format, allowed)
}

func newSidecarDumpCmd() *cobra.Command {
	var format, out string
	var force bool
	c := &cobra.Command{
		Use:   "dump FILE.gaps",
		Short: "Print a sidecar's records (text, csv or json)",
		Long: `Print a sidecar's header, records and trailer. The csv format is exactly a
header line "frame,gap" and one row per record, so every engine infers
integer columns; the tail gap and the trailer appear in the text and json
formats only.`,
		Example: `  gapan sidecar dump testdata/demo/demo.pcap.gaps
  gapan sidecar dump testdata/demo/demo.pcap.gaps --format csv`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := checkFormat(format, "text", "csv", "json"); err != nil {
				return err
			}
			r, cl, err := openSidecar(a[0])
			if err != nil {
				return err
			}
			defer cl.Close()
			o, err := openOutput(cmd.OutOrStdout(), out, force, a)
			if err != nil {
				return err
			}
			return o.finish(dumpSidecar(o, r, format))
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: text, csv or json")
	c.Flags().StringVarP(&out, "output", "o", "", "write to `FILE` (atomically) instead of stdout")
	c.Flags().BoolVar(&force, "force", false, "replace an existing output file")
	return c
}

func dumpSidecar(w io.Writer, r sidecar.RecordReader, format string) error {
	switch format {
	case "text":
		return sidecar.ConvertToText(w, r)
	case "csv":
		bw := bufio.NewWriter(w)
		bw.WriteString("frame,gap\n")
		var buf []byte
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				bw.Flush()
				return err
			}
			buf = strconv.AppendUint(buf[:0], rec.Frame, 10)
			buf = append(buf, ',')
			buf = strconv.AppendUint(buf, rec.Gap, 10)
			buf = append(buf, '\n')
			bw.Write(buf)
		}
		return bw.Flush()
	}
	// json: streamed, so a sidecar of millions of records needs no memory.
	bw := bufio.NewWriter(w)
	h := r.Header()
	hj, _ := json.Marshal(headerJSON(h))
	fmt.Fprintf(bw, "{\"header\":%s,\"records\":[", hj)
	var n int
	var rerr error
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
		if n > 0 {
			bw.WriteByte(',')
		}
		fmt.Fprintf(bw, "{\"frame\":%d,\"gap\":%d}", rec.Frame, rec.Gap)
		n++
	}
	bw.WriteString("]")
	if t, ok := r.Trailer(); ok {
		tj, _ := json.Marshal(trailerJSON(t))
		fmt.Fprintf(bw, ",\"trailer\":%s", tj)
	} else {
		bw.WriteString(",\"trailer\":null")
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

type identityJSON struct {
	LinkType      uint32 `json:"link_type"`
	SnapLen       uint32 `json:"snaplen"`
	FirstFrameNs  int64  `json:"first_frame_ns"`
	FirstFrameCRC string `json:"first_frame_crc32c"`
}

func headerJSON(h sidecar.Header) map[string]any {
	m := map[string]any{
		"source":     h.Source.String(),
		"created_ns": h.CreatedNs,
		"tool":       h.Tool,
		"identity":   nil,
	}
	if h.Identity.Known {
		id := h.Identity
		m["identity"] = identityJSON{id.LinkType, id.SnapLen, id.FirstFrameNs, fmt.Sprintf("%08x", id.FirstFrameCRC)}
	}
	return m
}

type tailJSON struct {
	Interface uint32 `json:"interface"`
	Lost      uint64 `json:"lost"`
}

func trailerJSON(t sidecar.Trailer) map[string]any {
	tail := make([]tailJSON, 0, len(t.Tail))
	for _, g := range t.Tail {
		tail = append(tail, tailJSON{g.Interface, g.Lost})
	}
	m := map[string]any{
		"frames":   t.Frames,
		"tail_gap": t.TailTotal(),
		"tail":     tail,
	}
	if t.HasKernel {
		m["kernel_packets"] = t.KernelPackets
		m["kernel_drops"] = t.KernelDrops
	}
	return m
}

func newSidecarCheckCmd() *cobra.Command {
	var format, sc string
	var force, strict bool
	c := &cobra.Command{
		Use:   "check CAPTURE",
		Short: "Validate a capture and its sidecar and print loss totals",
		Long: `Read a capture with its sidecar (CAPTURE.gaps unless --sidecar is given),
check that they belong together, and print the totals: frames captured, gap
events, frames lost (gaps plus tail), the tail gap, and the largest gap.
Exits non-zero on any problem, warnings included.`,
		Example: `  gapan sidecar check testdata/demo/demo.pcap
  gapan sidecar check testdata/demo/demo.pcap --format json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			// Read on past damage: check reports everything it finds
			// (a cut capture or sidecar from a killed recorder included)
			// and exits non-zero for any of it.
			opt := join.Options{Force: force, KeepGoing: true, Strict: strict}
			if sc != "" {
				opt.Sidecars = []string{sc}
			}
			return sidecarCheck(cmd.OutOrStdout(), cmd.ErrOrStderr(), a[0], opt, format)
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: text or json")
	c.Flags().StringVar(&sc, "sidecar", "", "sidecar `FILE` (default CAPTURE.gaps)")
	c.Flags().BoolVar(&force, "force", false, "continue when the sidecar does not match the capture (still exits non-zero)")
	c.Flags().BoolVar(&strict, "strict", false, "make capture anomalies (snap length 0, captured length above the snap or original length, sub-second field of a second or more) errors instead of warnings")
	return c
}

// errProblems is returned by sidecar check when it printed warnings.
var errProblems = errors.New("problems found (see above)")

func sidecarCheck(stdout, stderr io.Writer, capture string, opt join.Options, format string) error {
	s, err := join.Open([]string{capture}, opt)
	if err != nil {
		return err
	}
	defer s.Close()
	var acc loss.TotalsCounter
	for {
		f, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		acc.Add(f)
	}
	files := s.Files()
	fi := files[0]
	if fi.Source != join.SourceSidecar {
		return fmt.Errorf("%s: no sidecar found (looked for %s)", capture, sidecar.PathFor(capture))
	}
	t := acc.Finish(files)
	warnings := s.Warnings()
	if format == "json" {
		out := struct {
			Capture string `json:"capture"`
			Sidecar string `json:"sidecar"`
			Source  string `json:"source"`
			Trailer bool   `json:"trailer"`
			loss.Totals
			// LossUnknownAfter is the last frame an incomplete sidecar
			// accounts for; null when it is complete.
			LossUnknownAfter *uint64  `json:"loss_unknown_after"`
			Warnings         []string `json:"warnings"`
		}{Capture: capture, Sidecar: fi.Sidecar, Source: fi.Header.Source.String(), Trailer: fi.HasTrailer, Totals: t, Warnings: []string{}}
		if fi.SidecarIncomplete {
			n := fi.LossUnknownAfter
			out.LossUnknownAfter = &n
		}
		for _, w := range warnings {
			out.Warnings = append(out.Warnings, w.Error())
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "capture:         %s\n", capture)
		fmt.Fprintf(stdout, "sidecar:         %s (source %s, trailer %s)\n", fi.Sidecar, fi.Header.Source, yesNo(fi.HasTrailer))
		fmt.Fprintf(stdout, "frames captured: %d\n", t.FramesCaptured)
		fmt.Fprintf(stdout, "gap events:      %d\n", t.GapEvents)
		if fi.SidecarIncomplete {
			fmt.Fprintf(stdout, "frames lost:     %d recorded, then unknown: loss unknown after frame %d (the sidecar ends there)\n", t.FramesLost, fi.LossUnknownAfter)
		} else {
			fmt.Fprintf(stdout, "frames lost:     %d (%.4f%% of frames sent to the capture)\n", t.FramesLost, 100*t.LossRatio)
		}
		fmt.Fprintf(stdout, "tail gap:        %d\n", t.TailGap)
		if g := t.LargestGap; g != nil {
			fmt.Fprintf(stdout, "largest gap:     %s\n", report.DescribeGap(*g, nil))
		} else {
			fmt.Fprintf(stdout, "largest gap:     none\n")
		}
		if fi.HasTrailer && fi.Trailer.HasKernel {
			fmt.Fprintf(stdout, "kernel totals:   %d packets, %d dropped\n", fi.Trailer.KernelPackets, fi.Trailer.KernelDrops)
		}
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "gapan: warning: %v\n", w)
	}
	if len(warnings) > 0 {
		return errProblems
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "present"
	}
	return "missing"
}

func newSidecarImportCmd() *cobra.Command {
	var capture, out string
	var force bool
	c := &cobra.Command{
		Use:   "import TEXT -o FILE.gaps",
		Short: "Convert a text sidecar (frame gap lines) into a binary sidecar",
		Long: `Convert the text form of a sidecar ("frame gap" lines, "#" comments; see
docs/sidecar.md) into the binary form. With --capture, the sidecar takes
that capture's identity and is checked against it.`,
		Example: `  gapan sidecar export testdata/demo/demo.pcap.gaps -o /tmp/demo.txt
  gapan sidecar import /tmp/demo.txt --capture testdata/demo/demo.pcap -o /tmp/demo.pcap.gaps`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if out == "" || out == "-" {
				return usagef("import needs -o FILE.gaps")
			}
			return sidecarImport(cmd.ErrOrStderr(), a[0], capture, out, force)
		},
	}
	c.Flags().StringVar(&capture, "capture", "", "the `CAPTURE` the sidecar belongs to: take its identity and check against it")
	c.Flags().StringVarP(&out, "output", "o", "", "binary sidecar `FILE` to write")
	c.Flags().BoolVar(&force, "force", false, "replace an existing output file")
	return c
}

// captureIdentity reads a whole capture and returns its identity and its
// number of frames.
func captureIdentity(path string) (sidecar.Identity, uint64, error) {
	rd, err := reader.Open(path)
	if err != nil {
		return sidecar.Identity{}, 0, err
	}
	defer rd.Close()
	var snap uint32
	id := sidecar.Identity{}
	for {
		f, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return id, 0, err
		}
		if f.Number == 1 {
			if ifs := rd.Interfaces(); len(ifs) > 0 {
				snap = ifs[0].SnapLen
			}
			id = sidecar.IdentityOf(uint32(f.LinkType), snap, f.TimestampNs, f.Data)
		}
	}
	if !id.Known {
		ifs := rd.Interfaces()
		if len(ifs) > 0 {
			id = sidecar.IdentityOf(uint32(ifs[0].LinkType), ifs[0].SnapLen, 0, nil)
		}
	}
	return id, rd.FramesRead(), nil
}

func sidecarImport(stderr io.Writer, text, capture, out string, force bool) error {
	in, err := os.Open(text)
	if err != nil {
		return err
	}
	defer in.Close()
	tr, err := sidecar.NewTextReader(in, text)
	if err != nil {
		return err
	}
	f, err := sidecar.ReadAll(tr)
	complete := err == nil
	if errors.Is(err, sidecar.ErrNoTrailer) {
		// What is there is imported, and stays without a trailer, so that
		// every reader of the binary sidecar says the same as this.
		var last uint64
		if n := len(f.Records); n > 0 {
			last = f.Records[n-1].Frame
		}
		fmt.Fprintf(stderr, "gapan: warning: %v: imported without a trailer: loss unknown after frame %d (the sidecar ends there)\n", err, last)
	} else if err != nil {
		return err
	}
	h := f.Header
	if h.Source == sidecar.SourceUnknown {
		h.Source = sidecar.SourceImported
	}
	if h.CreatedNs == 0 {
		h.CreatedNs = time.Now().UnixNano()
	}
	if h.Tool == "" {
		h.Tool = "gapan sidecar import"
	}
	t := f.Trailer
	if capture != "" {
		id, frames, err := captureIdentity(capture)
		if err != nil {
			return err
		}
		if h.Identity.Known {
			if err := h.Identity.Check(id); err != nil {
				return fmt.Errorf("%s: %w", text, err)
			}
		}
		h.Identity = id
		if n := len(f.Records); n > 0 && f.Records[n-1].Frame > frames {
			return fmt.Errorf("%s: %w: record for frame %d, %s has %d frames", text, join.ErrBeyondCapture, f.Records[n-1].Frame, capture, frames)
		}
		if f.HasTrailer && t.Frames != 0 && t.Frames != frames {
			return fmt.Errorf("%s: %w: text counts %d frames, %s has %d", text, join.ErrFrameCount, t.Frames, capture, frames)
		}
		t.Frames = frames
	}
	o, err := openOutput(nil, out, force, []string{text, capture})
	if err != nil {
		return err
	}
	w, err := sidecar.NewWriter(o, h)
	if err != nil {
		o.abort()
		return err
	}
	for _, r := range f.Records {
		if err := w.Add(r); err != nil {
			o.abort()
			return err
		}
	}
	if !complete {
		return o.finish(w.Flush())
	}
	return o.finish(w.Close(t))
}

func newSidecarExportCmd() *cobra.Command {
	var out string
	var force bool
	c := &cobra.Command{
		Use:     "export FILE.gaps [-o TEXT]",
		Short:   "Write a sidecar in its text form (frame gap lines)",
		Example: `  gapan sidecar export testdata/demo/demo.pcap.gaps -o /tmp/demo.txt`,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			r, cl, err := openSidecar(a[0])
			if err != nil {
				return err
			}
			defer cl.Close()
			o, err := openOutput(cmd.OutOrStdout(), out, force, a)
			if err != nil {
				return err
			}
			return o.finish(sidecar.ConvertToText(o, r))
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "write to `FILE` (atomically) instead of stdout")
	c.Flags().BoolVar(&force, "force", false, "replace an existing output file")
	return c
}
