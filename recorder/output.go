package recorder

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/gapan/gapan/sidecar"
)

// toolName is written into every sidecar header.
const toolName = "gapan-record"

// filePerm is the mode output files are created with; group and world write
// bits are always cleared, whatever the umask or a pre-existing file's mode.
const filePerm fs.FileMode = 0o644

// outFile is what an output needs of its two files; *os.File in the
// recorder, a file that fills up in tests.
type outFile interface {
	Write(b []byte) (int, error)
	WriteAt(b []byte, off int64) (int, error)
	Truncate(size int64) error
	Close() error
	Name() string
}

// output is one pcap file and its sidecar. Both are written without a
// user-space buffer: the writer hands whole chunks of pcap records to the
// kernel in one write each. The sidecar's header is written when the file
// is created (so a recorder killed before any frame leaves a readable, empty
// sidecar); it carries the capture's identity (the first frame's timestamp
// and checksum) once the first frame has reached the pcap, by rewriting the
// header in place: same length, same offset. Until then the header has the
// identity of an empty capture, which is what the pcap is.
type output struct {
	name      string
	pcapFile  outFile
	gapsFile  outFile
	gaps      *sidecar.Writer
	header    sidecar.Header // as written; Identity.Known false until the first frame
	linkType  uint32
	snaplen   int
	frames    uint64
	sizeBytes int64
	gapEvents uint64
	gapFrames uint64
}

// createFile opens name for writing and makes sure it is not group or world
// writable even if it existed with a laxer mode. Without replace an existing
// file is refused; with it, only a regular file is replaced (truncated).
func createFile(name string, replace bool) (*os.File, error) {
	flag := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if replace {
		if st, err := os.Lstat(name); err == nil && !st.Mode().IsRegular() {
			return nil, fmt.Errorf("recorder: %s exists and is not a regular file; it is not replaced", name)
		}
		flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(name, flag, filePerm)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%w: %s exists (use --force to replace it)", ErrExists, name)
		}
		return nil, fmt.Errorf("recorder: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("recorder: %w", err)
	}
	if st.Mode().Perm()&0o022 != 0 {
		if err := f.Chmod(st.Mode().Perm() &^ 0o022); err != nil {
			f.Close()
			return nil, fmt.Errorf("recorder: %w", err)
		}
	}
	return f, nil
}

// openOutput creates the pcap and its sidecar and writes both headers.
// replace allows existing files to be truncated (--force, or a ring coming
// round to its own oldest file).
func openOutput(name string, linkType uint32, snaplen int, replace bool) (*output, error) {
	pf, err := createFile(name, replace)
	if err != nil {
		return nil, err
	}
	gf, err := createFile(sidecar.PathFor(name), replace)
	if err != nil {
		pf.Close()
		os.Remove(name)
		return nil, err
	}
	o := &output{name: name, pcapFile: pf, gapsFile: gf, linkType: linkType, snaplen: snaplen}
	if err := o.start(time.Now()); err != nil {
		o.abort()
		return nil, err
	}
	return o, nil
}

// start writes the pcap file header and the sidecar header, with the
// identity of a capture without frames until the first frame.
func (o *output) start(now time.Time) error {
	var b [24]byte
	putPcapFileHeader(b[:], uint32(o.snaplen), o.linkType)
	if _, err := o.pcapFile.Write(b[:]); err != nil {
		return fmt.Errorf("recorder: writing %s: %w", o.name, err)
	}
	o.sizeBytes = 24
	o.header = sidecar.Header{
		Source:    sidecar.SourceKernel,
		Identity:  sidecar.IdentityOf(o.linkType, uint32(o.snaplen), 0, nil),
		CreatedNs: now.UnixNano(),
		Tool:      toolName,
	}
	w, err := sidecar.NewWriter(o.gapsFile, o.header)
	if err != nil {
		return fmt.Errorf("recorder: writing %s: %w", o.gapsFile.Name(), err)
	}
	o.gaps = w
	return nil
}

// setIdentity rewrites the sidecar header in place with the identity of
// the file's first frame, whose pcap record starts rec.
func (o *output) setIdentity(rec []byte) error {
	tsNs := int64(binary.LittleEndian.Uint32(rec[0:]))*1e9 + int64(binary.LittleEndian.Uint32(rec[4:]))
	capLen := binary.LittleEndian.Uint32(rec[8:])
	h := o.header
	h.Identity = sidecar.IdentityOf(o.linkType, uint32(o.snaplen), tsNs, rec[16:16+capLen])
	var buf bytes.Buffer
	if _, err := sidecar.NewWriter(&buf, h); err != nil {
		return err
	}
	if _, err := o.gapsFile.WriteAt(buf.Bytes(), 0); err != nil {
		return fmt.Errorf("recorder: writing %s: %w", o.gapsFile.Name(), err)
	}
	o.header = h
	return nil
}

// writeChunk appends the chunk's frames to the pcap in one write, then its
// gap records to the sidecar, so the sidecar on disk never names a frame
// the pcap on disk lacks, and lags it by at most one chunk. It returns the
// number of frames that reached the pcap: on a failed write (a full disk)
// the pcap is cut back to its last whole record, the records of the frames
// that are in it are still written, and the error is returned.
func (o *output) writeChunk(c *chunk) (int, error) {
	if c.frames == 0 {
		return 0, nil
	}
	first := o.frames == 0
	n, err := o.pcapFile.Write(c.pcap)
	frames, whole := c.frames, len(c.pcap)
	if err != nil {
		frames, whole = wholeRecords(c.pcap[:n])
		// Best effort: a cut record would make the file unreadable
		// without --keep-going; cutting frees space, so it works on a
		// full disk.
		o.pcapFile.Truncate(o.sizeBytes + int64(whole))
		err = fmt.Errorf("recorder: writing %s: %w (%d frames of this file reached it)", o.name, err, o.frames+uint64(frames))
	}
	o.sizeBytes += int64(whole)
	o.frames += uint64(frames)
	if frames == 0 {
		return 0, err
	}
	if first {
		if ierr := o.setIdentity(c.pcap); ierr != nil {
			return frames, errors.Join(err, ierr)
		}
	}
	for _, r := range c.gaps {
		if r.Frame > o.frames {
			break
		}
		if aerr := o.gaps.Add(r); aerr != nil {
			return frames, errors.Join(err, fmt.Errorf("recorder: writing %s: %w", o.gapsFile.Name(), aerr))
		}
		o.gapEvents++
		o.gapFrames += r.Gap
	}
	if ferr := o.gaps.Flush(); ferr != nil {
		return frames, errors.Join(err, fmt.Errorf("recorder: writing %s: %w", o.gapsFile.Name(), ferr))
	}
	return frames, err
}

// wholeRecords counts the complete pcap records at the start of b and
// their length in bytes.
func wholeRecords(b []byte) (frames, n int) {
	for n+16 <= len(b) {
		l := 16 + int(binary.LittleEndian.Uint32(b[n+8:]))
		if n+l > len(b) {
			break
		}
		n += l
		frames++
	}
	return frames, n
}

// close writes the sidecar trailer and closes both files.
func (o *output) close(t sidecar.Trailer) error {
	t.Frames = o.frames
	err := o.gaps.Close(t)
	if err != nil {
		err = fmt.Errorf("recorder: writing %s: %w", o.gapsFile.Name(), err)
	}
	for _, f := range []outFile{o.pcapFile, o.gapsFile} {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("recorder: closing %s: %w", f.Name(), cerr)
		}
	}
	return err
}

// abort closes both files as they are: the sidecar without a trailer.
func (o *output) abort() {
	o.pcapFile.Close()
	o.gapsFile.Close()
}
