// Package recorder captures frames from a live Linux interface into a
// standard pcap file plus its gap sidecar (capture.pcap.gaps), taking the
// loss figures from the kernel's own per-socket drop counter.
//
// The recorder opens an AF_PACKET socket with SO_RXQ_OVFL enabled. Every
// frame the kernel queues on the socket is stamped with the socket's
// cumulative drop count at that moment, and recvmsg hands it back as a
// control message (absent while the count is still zero). The difference
// between the counts of two consecutive captured frames is exactly the
// number of frames the kernel dropped between them; the recorder writes
// that difference to the sidecar as the gap before the later frame. The
// mmap ring (TPACKET_V3) does not carry the count, so the recorder receives
// with recvmmsg in batches (or recvmsg, one frame per call).
//
// Usage from Go:
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	stats, err := recorder.Run(ctx, recorder.Config{
//		Interface: "eth0",
//		Output:    "capture.pcap",
//		Promisc:   true,
//	})
//
// Run blocks until ctx is cancelled, Count frames have been captured or
// Duration has elapsed, then flushes both files, writes the sidecar trailer
// (tail gap and the kernel's PACKET_STATISTICS totals) and returns the
// totals. Files are flushed every FlushEvery (1 s by default), pcap first,
// so a process killed with SIGKILL leaves a pcap and a sidecar prefix that
// agree with each other; the sidecar then lacks its trailer and readers
// report it as truncated.
//
// Capture filters: [CompileFilter] compiles tcpdump syntax by running
// `tcpdump -ddd` on an empty pcap of the right link type (no libpcap
// binding is linked into gapan); [ParseBPF] accepts the same
// "count,code jt jf k,..." text directly, for systems without tcpdump.
//
// Like tcpdump and libpcap: Interface [AnyInterface] captures on every
// interface with LINUX_SLL2 headers; VLAN tags the kernel took out of
// Ethernet frames are put back and the original length of frames the
// filter cut is kept (both from PACKET_AUXDATA); the outgoing copy of a
// loopback frame is rejected, so each is captured once; RotateMB,
// RotateEvery and MaxFiles are tcpdump's -C, -G and -W.
//
// Only Linux is supported; on other systems Run returns [ErrUnsupported].
package recorder
