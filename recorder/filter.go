package recorder

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// CompileFilter compiles a capture filter in tcpdump syntax into classic
// BPF for frames of the given pcap link type cut to snaplen bytes.
//
// gapan links no libpcap; instead it runs `tcpdump -ddd EXPR` on an empty
// pcap file that carries the link type and snaplen, so the expression means
// exactly what it means to tcpdump, and no privilege or interface is needed
// to compile. The program returns snaplen for accepted frames, so the kernel
// truncates them before they are queued. Without tcpdump in PATH it returns
// an error wrapping exec.ErrNotFound and ErrFilter; ParseBPF accepts a
// program compiled elsewhere.
func CompileFilter(ctx context.Context, expr string, linkType uint32, snaplen int) ([]BPFInstruction, error) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		return nil, fmt.Errorf("%w: compiling %q needs the tcpdump program (or pass a compiled program, see ParseBPF): %w", ErrFilter, expr, err)
	}
	if snaplen <= 0 {
		snaplen = DefaultSnaplen
	}
	f, err := os.CreateTemp("", "gapan-filter-*.pcap")
	if err != nil {
		return nil, fmt.Errorf("recorder: compiling filter: %w", err)
	}
	defer os.Remove(f.Name())
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b23c4d)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], uint32(snaplen))
	binary.LittleEndian.PutUint32(hdr[20:], linkType)
	if _, err := f.Write(hdr[:]); err != nil {
		f.Close()
		return nil, fmt.Errorf("recorder: compiling filter: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("recorder: compiling filter: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// "--" keeps an expression starting with '-' from being read as a flag.
	cmd := exec.CommandContext(ctx, tcpdump, "-r", f.Name(), "-ddd", "--", expr)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := lastLine(stderr.Bytes())
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && msg != "" {
			return nil, fmt.Errorf("%w: %q: %s", ErrFilter, expr, msg)
		}
		return nil, fmt.Errorf("%w: %q: running tcpdump: %w", ErrFilter, expr, err)
	}
	prog, err := ParseBPF(stdout.String())
	if err != nil {
		return nil, fmt.Errorf("%w (parsing tcpdump -ddd output for %q)", err, expr)
	}
	return prog, nil
}

func lastLine(b []byte) string {
	b = bytes.TrimRight(b, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return string(b)
}
