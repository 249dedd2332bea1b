// Package bpfcompile compiles capture filters in tcpdump syntax into
// classic BPF, the way gapan record and the selection of report, parquet,
// annotate and simulate (--filter) both need it.
//
// gapan links no libpcap; instead Compile runs `tcpdump -ddd -r EMPTY.pcap
// -- EXPR` on an empty pcap file that carries the link type and snaplen,
// so the expression means exactly what it means to tcpdump, and no
// privilege or interface is needed. Parse reads the same decimal text.
//
//	prog, err := bpfcompile.Compile(ctx, "tcp port 443", 1, 262144)
package bpfcompile

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/bpf"
)

// ErrFilter means a capture filter could not be compiled or parsed.
var ErrFilter = errors.New("invalid capture filter")

// MaxLen is the kernel's BPF_MAXINSNS, the longest program accepted.
const MaxLen = 4096

// Compile compiles a capture filter in tcpdump syntax into classic BPF
// for frames of the given pcap link type cut to snaplen bytes (> 0). The
// program returns snaplen for accepted frames and 0 for the others.
// Without tcpdump in PATH it returns an error wrapping exec.ErrNotFound
// and ErrFilter; a bad expression gives ErrFilter with tcpdump's message.
func Compile(ctx context.Context, expr string, linkType uint32, snaplen int) ([]bpf.RawInstruction, error) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		return nil, fmt.Errorf("%w: compiling %q needs the tcpdump program: %w", ErrFilter, expr, err)
	}
	f, err := os.CreateTemp("", "gapan-filter-*.pcap")
	if err != nil {
		return nil, fmt.Errorf("compiling filter: %w", err)
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
		return nil, fmt.Errorf("compiling filter: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("compiling filter: %w", err)
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
	prog, err := Parse(stdout.String())
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

// Parse parses a classic BPF program in the decimal form printed by
// `tcpdump -ddd`: an instruction count followed by one "code jt jf k"
// line per instruction. Lines may also be separated by commas, as in
// iptables' and tc's bpf bytecode arguments ("4,48 0 0 9,21 0 1 17,...").
func Parse(text string) ([]bpf.RawInstruction, error) {
	var lines []string
	for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' }) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%w: empty BPF program", ErrFilter)
	}
	n, err := strconv.ParseUint(lines[0], 10, 32)
	if err != nil {
		return nil, fmt.Errorf("%w: instruction count %q: %v", ErrFilter, lines[0], err)
	}
	if n == 0 || n > MaxLen {
		return nil, fmt.Errorf("%w: instruction count %d out of range 1..%d", ErrFilter, n, MaxLen)
	}
	if uint64(len(lines)-1) != n {
		return nil, fmt.Errorf("%w: count says %d instructions, found %d", ErrFilter, n, len(lines)-1)
	}
	prog := make([]bpf.RawInstruction, 0, n)
	for i, line := range lines[1:] {
		var f [4]uint64
		fields := strings.Fields(line)
		if len(fields) != 4 {
			return nil, fmt.Errorf("%w: instruction %d %q: want 4 fields", ErrFilter, i, line)
		}
		for j, bits := range [4]int{16, 8, 8, 32} {
			v, err := strconv.ParseUint(fields[j], 10, bits)
			if err != nil {
				return nil, fmt.Errorf("%w: instruction %d %q: %v", ErrFilter, i, line, err)
			}
			f[j] = v
		}
		prog = append(prog, bpf.RawInstruction{Op: uint16(f[0]), Jt: uint8(f[1]), Jf: uint8(f[2]), K: uint32(f[3])})
	}
	return prog, nil
}
