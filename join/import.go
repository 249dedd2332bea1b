package join

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gapan/gapan/internal/plural"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/sidecar"
)

// identityOf is the identity of the capture rd reads, whose first frame is
// f: the one rule Open checks sidecars by and Import gives them.
func identityOf(rd *reader.Reader, f *reader.Frame) sidecar.Identity {
	var snap uint32
	if ifs := rd.Interfaces(); len(ifs) > 0 {
		snap = ifs[0].SnapLen
	}
	return sidecar.IdentityOf(uint32(f.LinkType), snap, f.TimestampNs, f.Data)
}

// CaptureIdentity reads the whole capture at path and returns its identity
// (what a sidecar written for it carries; for a capture without frames,
// that of its first interface) and its number of frames.
func CaptureIdentity(path string) (sidecar.Identity, uint64, error) {
	rd, err := reader.Open(path)
	if err != nil {
		return sidecar.Identity{}, 0, err
	}
	defer rd.Close()
	var id sidecar.Identity
	for {
		f, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return id, 0, err
		}
		if f.Number == 1 {
			id = identityOf(rd, f)
		}
	}
	if !id.Known {
		id = identityWithoutFrames(rd.Interfaces())
	}
	return id, rd.FramesRead(), nil
}

// identityWithoutFrames is the identity of a capture without frames: that
// of its first interface, unknown without one.
func identityWithoutFrames(ifs []reader.Interface) sidecar.Identity {
	if len(ifs) == 0 {
		return sidecar.Identity{}
	}
	return sidecar.IdentityOf(uint32(ifs[0].LinkType), ifs[0].SnapLen, 0, nil)
}

// ImportOptions controls Import.
type ImportOptions struct {
	// Capture, if not "", is the capture the sidecar belongs to: the
	// sidecar is checked against it (the identity the text carries, its
	// records, its frame count) and takes its identity and frame count.
	Capture string
	// Tool names the importer in the header when the text names no tool.
	Tool string
}

// Imported is a text sidecar made ready for the binary form by Import;
// sidecar.Write writes it.
type Imported struct {
	sidecar.File
	// Incomplete, when not nil, says the text has no trailer lines (it
	// wraps sidecar.ErrNoTrailer): its records stand, and File has no
	// trailer either, so that every reader of the binary sidecar says the
	// loss after frame LossUnknownAfter is unknown, as of the text.
	Incomplete error
	// LossUnknownAfter is, when Incomplete, the last record's frame (0 when
	// there is none).
	LossUnknownAfter uint64
}

// ImportFile is Import of the text sidecar in the file at path.
func ImportFile(path string, opt ImportOptions) (*Imported, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Import(f, path, opt)
}

// Warning returns, for an import without trailer lines, the warning to
// give: the binary sidecar will say that the loss after LossUnknownAfter
// is unknown. It returns nil for a complete import.
func (im *Imported) Warning() error {
	if im.Incomplete == nil {
		return nil
	}
	return fmt.Errorf("%w: imported without a trailer: loss unknown after frame %d (the sidecar ends there)", im.Incomplete, im.LossUnknownAfter)
}

// Import reads the text form of a sidecar from text (name is used in
// messages) for the binary form: a header without source gets
// sidecar.SourceImported, one without creation time now, one without tool
// opt.Tool. With opt.Capture, a sidecar whose identity, records or frame
// count do not fit the capture is refused with an error wrapping
// sidecar.ErrIdentity, ErrBeyondCapture or ErrFrameCount, the errors Open
// gives such a sidecar.
func Import(text io.Reader, name string, opt ImportOptions) (*Imported, error) {
	f, err := sidecar.ReadText(text, name)
	im := &Imported{}
	if f != nil && errors.Is(err, sidecar.ErrNoTrailer) {
		im.Incomplete = err
		if n := len(f.Records); n > 0 {
			im.LossUnknownAfter = f.Records[n-1].Frame
		}
	} else if err != nil {
		return nil, err
	}
	im.File = *f
	h := &im.Header
	if h.Source == sidecar.SourceUnknown {
		h.Source = sidecar.SourceImported
	}
	if h.CreatedNs == 0 {
		h.CreatedNs = time.Now().UnixNano()
	}
	if h.Tool == "" {
		h.Tool = opt.Tool
	}
	if opt.Capture == "" {
		return im, nil
	}
	id, frames, err := CaptureIdentity(opt.Capture)
	if err != nil {
		return nil, err
	}
	if err := h.Identity.Check(id); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	h.Identity = id
	if n := len(f.Records); n > 0 && f.Records[n-1].Frame > frames {
		return nil, fmt.Errorf("%s: %w: record for frame %d, %s has %s", name, ErrBeyondCapture, f.Records[n-1].Frame, opt.Capture, plural.Count(frames, "frame"))
	}
	if f.HasTrailer && f.Trailer.Frames != 0 && f.Trailer.Frames != frames {
		return nil, fmt.Errorf("%s: %w: text counts %s, %s has %d", name, ErrFrameCount, plural.Count(f.Trailer.Frames, "frame"), opt.Capture, frames)
	}
	im.Trailer.Frames = frames
	return im, nil
}
