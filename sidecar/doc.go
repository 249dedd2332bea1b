// Package sidecar reads and writes gap sidecars: sparse (frame number, gap)
// records saying how many frames were lost just before a frame of a capture.
// The sidecar of capture.pcap is capture.pcap.gaps (PathFor).
//
// The gap before frame N counts frames lost on N's interface since the
// previous frame on that same interface, exactly pcapng's epb_dropcount, so
// merged multi-interface captures stay well defined; for a single-interface
// capture it is simply the loss between frame N−1 and N. Loss after the last
// frame of each interface is kept in the trailer (Trailer.Tail).
//
// The binary form (specified byte by byte in docs/sidecar.md) is
// little-endian: a header with magic, version, source and the capture's
// identity, then CRC32C-checksummed blocks of delta-varint records, then a
// trailer block written on a clean close. It is append-only: a writer killed
// mid-write leaves a file whose valid prefix a Reader returns before it
// reports ErrNoTrailer (and ErrTruncated). About 2–3 bytes per record.
//
// Writing, in a recorder that has just written the first frame:
//
//	w, err := sidecar.NewWriter(f, sidecar.Header{Source: sidecar.SourceKernel, Identity: id, CreatedNs: now, Tool: "gapan-record"})
//	w.SetBeforeWrite(pcapWriter.Flush) // a sidecar never runs ahead of its capture
//	...
//	w.Add(sidecar.Record{Frame: n, Gap: lost})
//	...
//	w.Close(sidecar.Trailer{Frames: n, Tail: []sidecar.InterfaceGap{{Interface: 0, Lost: tail}}})
//
// Reading:
//
//	r, err := sidecar.NewReaderName(f, name)
//	for {
//		rec, err := r.Next()
//		if err == io.EOF { break }                      // clean end; r.Trailer() is valid
//		if errors.Is(err, sidecar.ErrNoTrailer) { warn(err); break } // cut file: prefix valid
//		if err != nil { return err }
//		use(rec)
//	}
//
// The text form ("frame gap" lines and "#" comment lines, see WriteText and
// NewTextReader) is for recorders written by others; NewAutoReader accepts
// either form.
package sidecar
