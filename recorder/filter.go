package recorder

import (
	"context"

	"github.com/gapan/gapan/internal/bpfcompile"
)

// CompileFilter compiles a capture filter in tcpdump syntax into classic
// BPF for frames of the given pcap link type cut to snaplen bytes.
//
// gapan links no libpcap; instead it runs `tcpdump -ddd EXPR` on an empty
// pcap file that carries the link type and snaplen (internal/bpfcompile),
// so the expression means exactly what it means to tcpdump, and no
// privilege or interface is needed to compile. The program returns snaplen
// for accepted frames, so the kernel truncates them before they are
// queued. Without tcpdump in PATH it returns an error wrapping
// exec.ErrNotFound and ErrFilter; ParseBPF accepts a program compiled
// elsewhere.
func CompileFilter(ctx context.Context, expr string, linkType uint32, snaplen int) ([]BPFInstruction, error) {
	if snaplen <= 0 {
		snaplen = DefaultSnaplen
	}
	raw, err := bpfcompile.Compile(ctx, expr, linkType, snaplen)
	if err != nil {
		return nil, err
	}
	return fromRaw(raw), nil
}
