// Package check validates a capture against its gap sidecar and gives the
// loss totals they record together: what "gapan sidecar check" prints.
//
//	r, err := check.Run("capture.pcap", join.Options{KeepGoing: true})
//	if err != nil { ... } // no sidecar, another capture's sidecar, damage
//	r.WriteText(os.Stdout)
//	for _, w := range r.Warnings { ... } // a cut sidecar, anomalies, ...
//
// The totals are loss.Totals, counted by the code every report uses, so a
// check and a report of the same capture give the same figures.
package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gapan/gapan/internal/numfmt"
	"github.com/gapan/gapan/internal/plural"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/report"
	"github.com/gapan/gapan/sidecar"
)

// NoSidecarError means the capture has no sidecar to check.
type NoSidecarError struct {
	Capture string
	Looked  []string // the paths looked at (sidecar.Candidates)
}

func (e *NoSidecarError) Error() string {
	return fmt.Sprintf("%s: no sidecar found (looked for %s)", e.Capture, strings.Join(e.Looked, " and "))
}

// Result is what Run found.
type Result struct {
	Capture  string
	File     join.FileInfo // the capture and its sidecar, read to the end
	Totals   loss.Totals
	Warnings []join.Warning // problems that did not stop the check
}

// Run reads capture to its end with its sidecar (opt.Sidecars[0], else the
// default path). A capture without a sidecar is a *NoSidecarError; the
// errors of join.Open and join.(*Stream).Next stop the check. With
// opt.KeepGoing (what the CLI sets) damage becomes a warning, so that a
// check of a cut capture or sidecar still gives the totals up to the cut.
func Run(capture string, opt join.Options) (*Result, error) {
	s, err := join.Open([]string{capture}, opt)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var acc loss.TotalsCounter
	for {
		f, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		acc.Add(f)
	}
	files := s.Files()
	if files[0].Source != join.SourceSidecar {
		return nil, &NoSidecarError{Capture: capture, Looked: sidecar.Candidates(capture)}
	}
	return &Result{Capture: capture, File: files[0], Totals: acc.Finish(files), Warnings: s.Warnings()}, nil
}

// JSON is the check in JSON (docs/metrics.md names the fields).
type JSON struct {
	Capture string `json:"capture"`
	Sidecar string `json:"sidecar"`
	Source  string `json:"source"`
	Trailer bool   `json:"trailer"`
	loss.Totals
	// LossUnknownAfter is the last frame an incomplete sidecar accounts
	// for; null when it is complete.
	LossUnknownAfter *uint64  `json:"loss_unknown_after"`
	Warnings         []string `json:"warnings"`
}

// JSON returns r in the form WriteJSON writes.
func (r *Result) JSON() JSON {
	fi := &r.File
	j := JSON{Capture: r.Capture, Sidecar: fi.Sidecar, Source: fi.Header.Source.String(), Trailer: fi.HasTrailer, Totals: r.Totals, Warnings: []string{}}
	if fi.SidecarIncomplete {
		n := fi.LossUnknownAfter
		j.LossUnknownAfter = &n
	}
	for _, w := range r.Warnings {
		j.Warnings = append(j.Warnings, w.Error())
	}
	return j
}

// Formats are the forms Write writes, as gapan sidecar check's --format
// names them.
var Formats = []string{"text", "json"}

// Write writes r in format, one of Formats: WriteText's or WriteJSON's.
func (r *Result) Write(w io.Writer, format string) error {
	switch format {
	case "text":
		return r.WriteText(w)
	case "json":
		return r.WriteJSON(w)
	}
	return fmt.Errorf("check: unknown format %q", format)
}

// WriteJSON writes r as one indented JSON object.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r.JSON())
}

// WriteText writes r as aligned "name: value" lines; the warnings are left
// to the caller (the CLI prints them on standard error).
func (r *Result) WriteText(w io.Writer) error {
	fi, t := &r.File, &r.Totals
	trailer := "missing"
	if fi.HasTrailer {
		trailer = "present"
	}
	var err error
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	p("capture:         %s\n", r.Capture)
	p("sidecar:         %s (source %s, trailer %s)\n", fi.Sidecar, fi.Header.Source, trailer)
	p("frames captured: %s\n", numfmt.Int(t.FramesCaptured))
	p("gap events:      %s\n", numfmt.Int(t.GapEvents))
	if fi.SidecarIncomplete {
		p("frames lost:     %s recorded, then unknown: loss unknown after frame %d (the sidecar ends there)\n", numfmt.Int(t.FramesLost), fi.LossUnknownAfter)
	} else {
		p("frames lost:     %s (%s of the frames that reached the capture point)\n", numfmt.Int(t.FramesLost), numfmt.Percent(t.LossRatio))
	}
	if fi.SidecarIncomplete {
		// No trailer: the tail is not 0 but unknown, as gapan report says.
		p("tail gap:        unknown: the sidecar ends before the capture\n")
	} else {
		p("tail gap:        %s\n", plural.CountOf(t.TailGap, "frame lost after the last frame", "frames lost after the last frame"))
	}
	if g := t.LargestGap; g != nil {
		p("largest gap:     %s\n", report.DescribeGap(*g, nil))
	} else {
		p("largest gap:     none\n")
	}
	if fi.HasTrailer && fi.Trailer.HasKernel {
		p("kernel counters: %s received, %s dropped\n", numfmt.Int(fi.Trailer.KernelPackets), numfmt.Int(fi.Trailer.KernelDrops))
	}
	return err
}
