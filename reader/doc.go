// Package reader streams the frames of a pcap or pcapng capture, numbered
// from 1 as Wireshark numbers them, with typed errors that say where a
// damaged file broke.
//
//	r, err := reader.Open("capture.pcapng.zst") // "-" reads standard input
//	if err != nil {
//		return err
//	}
//	defer r.Close()
//	for {
//		f, err := r.Next()
//		if err == io.EOF {
//			break
//		}
//		if err != nil {
//			return err // a *reader.FormatError for damaged input
//		}
//		use(f.Number, f.TimestampNs, f.Data) // f and f.Data are reused by Next
//	}
//	stats := r.Stats() // pcapng interface statistics, complete after io.EOF
//
// # Formats
//
// pcap files with microsecond or nanosecond magic in either byte order,
// version 2.x (2.1 to 2.4 share one record format; libpcap and Wireshark
// read them alike, while gopacket's pcapgo accepts only 2.4).
// pcapng files with any number of sections and interfaces; interface ids
// are global across sections, in the order of the Interface Description
// Blocks, and every interface has its own timestamp resolution (if_tsresol,
// decimal or binary) and if_tsoffset. gzip and zstd compression are
// recognised by their magic bytes and removed.
//
// The package is its own parser of both formats: each pcap record header
// and each whole pcapng block is read in place in one read buffer and
// checked (lengths, trailer, byte order, version, every option's extent,
// interface ids) before any of it is used. It reads what gopacket's pcapgo
// refuses or misreads (pcap minor versions other than 4, records whose
// captured length exceeds the original length, pcapng 1.2 sections,
// epb_dropcount in big-endian sections, global interface ids, binary
// timestamp resolutions exactly); where both read a file, the frames are
// identical, which TestAgainstPcapgo checks for every capture under
// testdata/.
//
// # Timestamps
//
// Timestamps are int64 nanoseconds since the Unix epoch. A pcap record
// whose sub-second field is out of range (1e9 ns or more; tcpdump's test
// file timestamp_invalid_nano.pcap has two) is read, not rejected, and its
// timestamp is seconds*1e9 + field, so the excess carries into the seconds;
// tshark prints the raw fields instead ("1418145370.1000000000"). pcapng
// simple packet blocks have no timestamp and get 0.
//
// # Damaged input
//
// Every failure on input bytes is a *FormatError carrying the file name,
// the frame being read (FramesRead+1), the byte offset of the record,
// block or header field in the decompressed stream, and a cause that wraps
// ErrUnknownFormat, ErrUnsupportedVersion, ErrTruncated, ErrRecordTooLarge
// or ErrBadBlock (or the decompressor's error). Frames before the damage
// are delivered first. Lengths from the file are checked before anything
// is allocated for them: a pcap record may be at most max(snap length,
// 262144) bytes (capped at 16 MiB), a pcapng block that carries packets or
// interface data at most 1 MiB.
//
// # Performance
//
// Next allocates nothing per frame (Frame is reused and Data points into
// the Reader's one 1 MiB read buffer; only a pcap record longer than the
// buffer is copied into a buffer of its own).
package reader
