package recorder

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/testenv"
)

func TestParseBPF(t *testing.T) {
	udp := []BPFInstruction{{0x28, 0, 0, 12}, {0x15, 0, 1, 0x800}, {0x6, 0, 0, 262144}, {0x6, 0, 0, 0}}
	tests := []struct {
		name string
		in   string
		want []BPFInstruction
		err  string
	}{
		{name: "lines", in: "4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n", want: udp},
		{name: "commas", in: "4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0", want: udp},
		{name: "spaces and CRLF", in: " 4 \r\n40\t0 0 12\r\n21 0  1 2048\r\n6 0 0 262144\r\n6 0 0 0\r\n\n", want: udp},
		{name: "accept all", in: "1\n6 0 0 256", want: []BPFInstruction{{6, 0, 0, 256}}},
		{name: "empty", in: " \n", err: "empty"},
		{name: "zero count", in: "0", err: "out of range"},
		{name: "too many", in: "4097", err: "out of range"},
		{name: "count mismatch", in: "2\n6 0 0 0", err: "count says 2"},
		{name: "three fields", in: "1\n6 0 0", err: "want 4 fields"},
		{name: "jt too big", in: "1\n6 256 0 0", err: "out of range"},
		{name: "code too big", in: "1\n65536 0 0 0", err: "out of range"},
		{name: "k too big", in: "1\n6 0 0 4294967296", err: "out of range"},
		{name: "not a number", in: "x\n6 0 0 0", err: "instruction count"},
		{name: "negative", in: "1\n-6 0 0 0", err: "invalid syntax"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseBPF(tc.in)
			if tc.err != "" {
				if err == nil || !errors.Is(err, ErrFilter) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseBPF(%q) = %v, %v; want ErrFilter containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseBPF(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func FuzzParseBPF(f *testing.F) {
	f.Add("4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n")
	f.Add("1,6 0 0 0")
	f.Add("4096")
	f.Fuzz(func(t *testing.T, s string) {
		prog, err := ParseBPF(s)
		if err != nil {
			if !errors.Is(err, ErrFilter) {
				t.Fatalf("error %v does not wrap ErrFilter", err)
			}
			return
		}
		if len(prog) == 0 || len(prog) > maxBPFLen {
			t.Fatalf("accepted a program of %d instructions", len(prog))
		}
		// Round trip: the canonical text parses to the same program.
		var b strings.Builder
		b.WriteString(itoa(uint64(len(prog))))
		for _, in := range prog {
			b.WriteString("," + itoa(uint64(in.Code)) + " " + itoa(uint64(in.Jt)) + " " + itoa(uint64(in.Jf)) + " " + itoa(uint64(in.K)))
		}
		again, err := ParseBPF(b.String())
		if err != nil || !reflect.DeepEqual(again, prog) {
			t.Fatalf("round trip of %q: %v, %v", b.String(), again, err)
		}
	})
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

func TestCompileFilter(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		testenv.SkipOrFail(t, "CompileFilter needs tcpdump")
	}
	tests := []struct {
		expr     string
		linkType uint32
		snaplen  int
		want     []BPFInstruction
		err      bool
	}{
		// The same bytes tcpdump -d prints for "ip" on Ethernet; the
		// accept value is the snaplen.
		{expr: "ip", linkType: 1, snaplen: 128, want: []BPFInstruction{{0x28, 0, 0, 12}, {0x15, 0, 1, 0x800}, {0x6, 0, 0, 128}, {0x6, 0, 0, 0}}},
		// Raw IP: the version nibble is tested at offset 0.
		{expr: "ip", linkType: 101, snaplen: 0, want: []BPFInstruction{{0x30, 0, 0, 0}, {0x54, 0, 0, 0xf0}, {0x15, 0, 1, 0x40}, {0x6, 0, 0, DefaultSnaplen}, {0x6, 0, 0, 0}}},
		{expr: "udp port", linkType: 1, err: true},
		{expr: "-n", linkType: 1, err: true},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := CompileFilter(context.Background(), tc.expr, tc.linkType, tc.snaplen)
			if tc.err {
				if !errors.Is(err, ErrFilter) {
					t.Fatalf("CompileFilter(%q) = %v, %v; want ErrFilter", tc.expr, got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("CompileFilter(%q) = %v, %v; want %v", tc.expr, got, err, tc.want)
			}
		})
	}
}

// TestInterfaces: "any" comes first, then every interface the kernel
// lists (ip link would show the same), the loopback among them.
func TestInterfaces(t *testing.T) {
	names, err := Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	hasLoopback := false
	for _, i := range ifs {
		hasLoopback = hasLoopback || i.Flags&net.FlagLoopback != 0 && slices.Contains(names, i.Name)
	}
	if len(names) != len(ifs)+1 || names[0] != AnyInterface || !hasLoopback {
		t.Errorf("Interfaces() = %q; net.Interfaces has %d", names, len(ifs))
	}
}
