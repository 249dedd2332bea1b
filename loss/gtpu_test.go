package loss_test

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/internal/testenv"
	"github.com/gapan/gapan/loss"
	"github.com/gopacket/gopacket"
)

// TestGTPUSequence: one flow between two gateways carrying three
// tunnels (TEIDs) each way, 400 packets each. Tunnel 0x11 never sent
// 30-32 (upstream loss); simulate deletes frames of tunnels 0x11 and
// 0x22 with their numbers known (capture loss); tunnel 0x22 repeats a
// packet and swaps two; tunnel 0x33 crosses 65535 → 0 (a wrap, no
// loss) and jumps far ahead once (a restart).
func TestGTPUSequence(t *testing.T) {
	var frames []ipFrame
	for i := range 400 {
		n := uint16(i)
		if i < 30 || i > 32 {
			frames = append(frames, gtpuFrame(hostA, hostB, 0x11, n))
		}
		switch i {
		case 100:
		case 101:
			frames = append(frames, gtpuFrame(hostB, hostA, 0x22, 101), gtpuFrame(hostB, hostA, 0x22, 100))
		case 200:
			frames = append(frames, gtpuFrame(hostB, hostA, 0x22, 200), gtpuFrame(hostB, hostA, 0x22, 200))
		default:
			frames = append(frames, gtpuFrame(hostB, hostA, 0x22, n))
		}
		w := uint16(65400 + i) // wraps at i = 136
		if i >= 300 {
			w += 20000
		}
		frames = append(frames, gtpuFrame(hostA, hostB, 0x33, w))
	}
	path := writeIPv4(t, "gtpu.pcap", frames)
	var del []uint64
	for k, fr := range frames {
		teid, seq := gtpuHeader(fr)
		if teid == 0x11 && (seq == 50 || seq == 51 || seq == 350) || teid == 0x22 && seq == 250 {
			del = append(del, uint64(k+1))
		}
	}
	if len(del) != 4 {
		t.Fatalf("%d frames to delete, want 4", len(del))
	}
	clean := gtpuFlow(t, run(t, path, true))
	if c := clean.GTPUCounters; c != (loss.GTPUCounters{GTPUPackets: uint64(len(frames)), GTPULostUpstream: 3, GTPULate: 1, GTPUDuplicates: 1, GTPURestarts: 1}) {
		t.Errorf("undamaged: %+v, want %d packets, 3 lost upstream, 1 late, 1 duplicate, 1 restart", c, len(frames))
	}
	if clean.RTPPackets != 0 {
		t.Errorf("GTP-U taken as RTP: %d RTP packets", clean.RTPPackets)
	}
	fl := gtpuFlow(t, run(t, thin(t, path, del), false))
	if c := fl.GTPUCounters; c != (loss.GTPUCounters{GTPUPackets: uint64(len(frames) - 4), GTPULostCapture: 4, GTPULostUpstream: 3, GTPULate: 1, GTPUDuplicates: 1, GTPURestarts: 1}) {
		t.Errorf("thinned: %+v, want %d packets, 4 lost in the capture, 3 upstream, 1 late, 1 duplicate, 1 restart", c, len(frames)-4)
	}
}

// gtpuHeader returns the TEID and sequence number of a crafted G-PDU.
func gtpuHeader(fr ipFrame) (uint32, uint16) {
	b := fr.Layers[1].(gopacket.Payload)
	return binary.BigEndian.Uint32(b[4:8]), binary.BigEndian.Uint16(b[8:10])
}

// TestGTPUSamples: on the synthetic GTP captures (internal/synth), which
// carry G-PDUs with and without the S flag, the numbered tunnel of
// SampleGTPU (TEID 0x26d7a, numbers 0-13 at frames 3-26, among G-PDUs
// of another tunnel without numbers) is found clean, the capture without
// numbers gives none, and the G-PDU with an extension header one; with
// frames 12, 13 (numbers 4, 5) and 22 (9) deleted by simulate, those
// three are found lost by the capture, or, read without the sidecar,
// upstream.
func TestGTPUSamples(t *testing.T) {
	gtpuTunnel(t, map[string]string{
		seqSample(t, synth.SampleGTPUUnnumbered): "", seqSample(t, synth.SampleGTPUExt): "ext",
	}, seqSample(t, synth.SampleGTPU))
}

// TestGTPUPublic (opt-in: GAPAN_PUBLIC_TRACES) measures the same on
// Zeek's GTP test traces (gtp6_gtp_0x32.pcap has the numbered tunnel, at
// the same frames).
func TestGTPUPublic(t *testing.T) {
	p := testenv.PublicTraces(t, "zeek-gtp1_gn_normal_incl_fragmentation.pcap", "zeek-gtp_ext_header.pcap", "zeek-gtp6_gtp_0x32.pcap")
	gtpuTunnel(t, map[string]string{p[0]: "", p[1]: "ext"}, p[2])
}

// gtpuTunnel checks the captures of others (without numbers, or "ext":
// one numbered G-PDU with an extension header) and the numbered tunnel of
// 14 packets at frames 3-26 in numbered.
func gtpuTunnel(t *testing.T, others map[string]string, numbered string) {
	for path, kind := range others {
		sum := run(t, path, true)
		var c loss.GTPUCounters
		for _, fl := range sum.List {
			c.GTPUPackets += fl.GTPUPackets
			c.GTPULostCapture += fl.GTPULostCapture + fl.GTPULostUpstream + fl.GTPULate + fl.GTPUDuplicates + fl.GTPURestarts
		}
		want := uint64(0)
		if kind == "ext" {
			want = 1 // one G-PDU with the S and E flags
		}
		if c.GTPUPackets != want || c.GTPULostCapture != 0 {
			t.Errorf("%s: %d numbered packets (want %d), %d found missing, late, duplicated or restarted", filepath.Base(path), c.GTPUPackets, want, c.GTPULostCapture)
		}
	}
	if c := gtpuFlow(t, run(t, numbered, true)).GTPUCounters; c != (loss.GTPUCounters{GTPUPackets: 14}) {
		t.Errorf("clean: %+v, want 14 packets and nothing else", c)
	}
	thinned := thin(t, numbered, []uint64{12, 13, 22})
	if c := gtpuFlow(t, run(t, thinned, false)).GTPUCounters; c != (loss.GTPUCounters{GTPUPackets: 11, GTPULostCapture: 3}) {
		t.Errorf("thinned: %+v, want 11 packets, 3 lost in the capture", c)
	}
	if c := gtpuFlow(t, run(t, thinned, true)).GTPUCounters; c != (loss.GTPUCounters{GTPUPackets: 11, GTPULostUpstream: 3}) {
		t.Errorf("thinned, no sidecar: %+v, want 11 packets, 3 lost upstream", c)
	}
}

// TestGTPUManyTunnels: a flow tracks at most 1,024 streams. With 1,000
// tunnels sending 0, 2, 4 in turn, every missing 1 and 3 is found (2,000
// lost upstream); with 1,500 in turn, each tunnel's stream is forgotten
// (the one idle longest) before its next packet: nothing is found, and
// nothing false (no loss, no restart), and its packets still count.
func TestGTPUManyTunnels(t *testing.T) {
	for _, tc := range []struct {
		tunnels  uint32
		wantLost uint64
	}{{1000, 2000}, {1500, 0}} {
		var frames []ipFrame
		for n := range uint16(3) {
			for teid := range tc.tunnels {
				frames = append(frames, gtpuFrame(hostA, hostB, 0x1000+teid, 2*n))
			}
		}
		c := gtpuFlow(t, run(t, writeIPv4(t, "tunnels.pcap", frames), true)).GTPUCounters
		want := loss.GTPUCounters{GTPUPackets: uint64(3 * tc.tunnels), GTPULostUpstream: tc.wantLost}
		if c != want {
			t.Errorf("%d tunnels: %+v, want %+v", tc.tunnels, c, want)
		}
	}
}
