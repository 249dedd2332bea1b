package recorder

import (
	"bufio"
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

// output is one pcap file and its sidecar. The sidecar's header carries the
// first frame's identity, so its Writer is created at the first frame.
type output struct {
	name      string
	pcapFile  *os.File
	pcapBuf   *bufio.Writer
	pcap      pcapWriter
	gapsFile  *os.File
	gaps      *sidecar.Writer
	linkType  uint32
	snaplen   int
	frames    uint64
	sizeBytes int64
	openedAt  time.Time
	gapEvents uint64
	gapFrames uint64
}

// createFile opens name for writing, truncating it, and makes sure it is not
// group or world writable even if it existed with a laxer mode.
func createFile(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode().Perm()&0o022 != 0 {
		if err := f.Chmod(st.Mode().Perm() &^ 0o022); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

func openOutput(name string, linkType uint32, snaplen int, now time.Time) (*output, error) {
	pf, err := createFile(name)
	if err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	gf, err := createFile(sidecar.PathFor(name))
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("recorder: %w", err)
	}
	o := &output{
		name: name, pcapFile: pf, gapsFile: gf,
		pcapBuf:  bufio.NewWriterSize(pf, 1<<20),
		linkType: linkType, snaplen: snaplen, openedAt: now,
	}
	o.pcap = pcapWriter{w: o.pcapBuf}
	if err := o.pcap.writeFileHeader(uint32(snaplen), linkType); err != nil {
		o.abort()
		return nil, fmt.Errorf("recorder: writing %s: %w", name, err)
	}
	o.sizeBytes = 24
	return o, nil
}

// startSidecar writes the sidecar header with the identity of the first
// frame (or an unknown identity when the file got no frame).
func (o *output) startSidecar(id sidecar.Identity) error {
	w, err := sidecar.NewWriter(o.gapsFile, sidecar.Header{
		Source:    sidecar.SourceKernel,
		Identity:  id,
		CreatedNs: time.Now().UnixNano(),
		Tool:      toolName,
	})
	if err != nil {
		return fmt.Errorf("recorder: writing %s: %w", sidecar.PathFor(o.name), err)
	}
	// A block the sidecar emits on its own must not reach the disk before
	// the frames it names.
	w.SetBeforeWrite(o.pcapBuf.Flush)
	o.gaps = w
	return nil
}

// write appends one frame; gap is the number of frames lost just before it.
func (o *output) write(tsNs int64, data []byte, origLen int, gap uint64) error {
	if o.gaps == nil {
		if err := o.startSidecar(sidecar.IdentityOf(o.linkType, uint32(o.snaplen), tsNs, data)); err != nil {
			return err
		}
	}
	if err := o.pcap.writePacket(tsNs, data, origLen); err != nil {
		return fmt.Errorf("recorder: writing %s: %w", o.name, err)
	}
	o.frames++
	o.sizeBytes += 16 + int64(len(data))
	if gap > 0 {
		if err := o.gaps.Add(sidecar.Record{Frame: o.frames, Gap: gap}); err != nil {
			return fmt.Errorf("recorder: writing %s: %w", sidecar.PathFor(o.name), err)
		}
		o.gapEvents++
		o.gapFrames += gap
	}
	return nil
}

// flush pushes the pcap to the kernel first, then the sidecar, so the
// sidecar on disk never names a frame the pcap on disk lacks.
func (o *output) flush() error {
	if err := o.pcapBuf.Flush(); err != nil {
		return fmt.Errorf("recorder: writing %s: %w", o.name, err)
	}
	if o.gaps != nil {
		if err := o.gaps.Flush(); err != nil {
			return fmt.Errorf("recorder: writing %s: %w", sidecar.PathFor(o.name), err)
		}
	}
	return nil
}

// close flushes everything, writes the sidecar trailer and closes both files.
func (o *output) close(t sidecar.Trailer) error {
	if err := o.flush(); err != nil {
		o.abort()
		return err
	}
	if o.gaps == nil {
		if err := o.startSidecar(sidecar.IdentityOf(o.linkType, uint32(o.snaplen), 0, nil)); err != nil {
			o.abort()
			return err
		}
	}
	t.Frames = o.frames
	err := o.gaps.Close(t)
	if err != nil {
		err = fmt.Errorf("recorder: writing %s: %w", sidecar.PathFor(o.name), err)
	}
	for _, f := range []*os.File{o.pcapFile, o.gapsFile} {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("recorder: closing %s: %w", f.Name(), cerr)
		}
	}
	return err
}

func (o *output) abort() {
	o.pcapFile.Close()
	o.gapsFile.Close()
}
