// Package annotate writes a capture as pcapng that Wireshark and tshark show
// the loss in, and reads such loss back into a gap sidecar.
//
// Annotating copies every frame of the input, byte for byte and in order,
// into pcapng Enhanced Packet Blocks, and adds:
//
//   - on every frame with a gap before it, the epb_dropcount option holding
//     the gap (frames lost on the frame's interface since the previous frame
//     on that interface, as the pcapng specification defines it) and a
//     packet comment "gapan: 40 frames lost before this frame";
//   - on every frame that revealed missing data of its flow (the frame
//     after a hole in a TCP sequence, an acknowledgement of data the
//     capture never saw, the RTP packet after missing ones), the data's
//     fate (loss.Fate) in words, "gapan: 2 segments (2,896 bytes) before
//     this frame were lost by the capture, inside the recorded gap of 40
//     frames before frame 302", and in a machine-readable comment
//     (RecordPrefix) that the Wireshark plugin contrib/wireshark/gapan.lua
//     reads; the same on retransmissions (Config.NoFates leaves them out).
//     Fates are final only later in the stream, so Write reads the input
//     twice;
//   - an Interface Statistics Block per interface at the end, whose
//     isb_ifdrop is everything lost on the interface, the tail gap included;
//   - the sidecar's provenance (source, tool, creation time, capture
//     identity) in the section header's comment.
//
// In Wireshark, the display filter frame.drop_count > 0 then lists exactly
// the sidecar's records (see docs/wireshark.md).
//
//	st, err := annotate.Run(annotate.Config{
//		Inputs: []string{"capture.pcap"}, // its sidecar capture.pcap.gaps is found next to it
//		Output: "annotated.pcapng",
//	})
//
// Extract does the reverse: it builds a sidecar from the epb_dropcount
// options (and interface statistics) of a pcapng file, so any recorder that
// writes epb_dropcount feeds gapan.
//
//	st, err := annotate.Extract(annotate.ExtractConfig{Input: "capture.pcapng", Output: "capture.pcapng.gaps"})
//
// Writer is the streaming core both of Run's output and of programs that
// produce frames themselves.
//
// # What is and is not kept
//
// Frame bytes, original lengths, timestamps (to the nanosecond), interface
// order, link types, snap lengths, names and descriptions are kept. Every
// interface is written with nanosecond timestamp resolution (pcapgo's
// NgWriter fixes if_tsresol to 9), which represents any decimal resolution
// exactly; timestamps of a binary if_tsresol (2^-n s) are rounded down to
// the nanosecond by the reader. if_tsoffset is folded into the timestamps.
// A multi-section pcapng file becomes one section whose interfaces keep
// their global order. Other per-packet options of a pcapng input (its own
// comments, flags, hashes) are not carried over.
package annotate
