package loss_test

import (
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/internal/testenv"
	"github.com/gapan/gapan/loss"
)

// TestESPSequence: two SAs, one each way, 300 packets each. The sender
// of SA 0x1001 never sent (the capture never saw, and no gap records)
// numbers 50, 51 and 120: upstream loss. simulate then deletes frames
// holding known numbers of both SAs, recording the gaps: capture loss.
// One packet comes twice (a duplicate), two arrive swapped (one late),
// SA 0x2002 starts again from 1 after 250 (a restart), and SA 0x3003,
// with extended sequence numbers, crosses 2^32 without loss.
func TestESPSequence(t *testing.T) {
	var frames []ipFrame
	for i := uint32(1); i <= 300; i++ {
		switch i {
		case 50, 51, 120: // never sent: upstream loss
		case 200: // swapped with 201 below
		case 201:
			frames = append(frames, espFrame(hostA, hostB, 0x1001, 201), espFrame(hostA, hostB, 0x1001, 200))
		default:
			frames = append(frames, espFrame(hostA, hostB, 0x1001, i))
		}
		if i == 150 {
			frames = append(frames, espFrame(hostA, hostB, 0x1001, i)) // a duplicate
		}
		n := i
		if i > 250 {
			n = i - 250 // the SA starts over
		}
		frames = append(frames, espFrame(hostB, hostA, 0x2002, n))
		frames = append(frames, espFrame(hostA, hostB, 0x3003, 0xffffff00+i))
	}
	path := writeIPv4(t, "esp.pcap", frames)
	// Frames to delete: the frames of SA 0x1001 numbers 10-12 and 280,
	// and of SA 0x2002 number 100 (found by walking the list as written).
	var del []uint64
	for k, fr := range frames {
		spi, seq := espHeader(fr)
		if spi == 0x1001 && (seq >= 10 && seq <= 12 || seq == 280) || spi == 0x2002 && seq == 100 && k < 600 {
			del = append(del, uint64(k+1))
		}
	}
	if len(del) != 5 {
		t.Fatalf("%d frames to delete, want 5", len(del))
	}

	clean := espFlow(t, run(t, path, true))
	if clean.ESPPackets != uint64(len(frames)) || clean.ESPLostCapture != 0 || clean.ESPLostUpstream != 3 || clean.ESPLate != 1 || clean.ESPDuplicates != 1 || clean.ESPRestarts != 1 {
		t.Errorf("undamaged: %+v, want %d packets, 3 lost upstream, 1 late, 1 duplicate, 1 restart", clean.ESPCounters, len(frames))
	}

	thinned := thin(t, path, del)
	fl := espFlow(t, run(t, thinned, false))
	if fl.ESPPackets != uint64(len(frames)-5) || fl.ESPLostCapture != 5 || fl.ESPLostUpstream != 3 || fl.ESPLate != 1 || fl.ESPDuplicates != 1 || fl.ESPRestarts != 1 {
		t.Errorf("thinned: %+v, want %d packets, 5 lost in the capture, 3 upstream, 1 late, 1 duplicate, 1 restart", fl.ESPCounters, len(frames)-5)
	}
	// Without the sidecar, nothing can be the capture's: all 8 are upstream.
	if nf := espFlow(t, run(t, thinned, true)); nf.ESPLostCapture != 0 || nf.ESPLostUpstream != 8 {
		t.Errorf("thinned, no sidecar: %+v, want 8 lost upstream", nf.ESPCounters)
	}
}

// espHeader returns the SPI and sequence number of a crafted ESP frame.
func espHeader(fr ipFrame) (uint32, uint32) {
	b := fr.Layers[0].(interface{ LayerContents() []byte }).LayerContents()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
}

// TestESPAgainstTshark: on clean streams (the synthetic captures of
// two SAs of ESP, and of ESP in UDP 4500 after a NAT keepalive) gapan and
// tshark's ESP sequence analysis find nothing; on a crafted stream thinned by
// simulate uniformly, gapan's missing ESP packets, per SA, are the
// numbers tshark's analysis finds skipped, and all of them are the
// capture's (inside the recorded gaps).
func TestESPAgainstTshark(t *testing.T) {
	testenv.NeedTool(t, "tshark")
	for name, packets := range map[string]uint64{synth.SampleESP: 16, synth.SampleESPUDP: 8} {
		t.Run(name, func(t *testing.T) { espClean(t, seqSample(t, name), packets) })
	}
	path := espLong(t, false)
	for _, seed := range []uint64{1, 2} {
		thinned := simulatedFile(t, path, "uniform:0.03", seed)
		missing, _ := tsharkESPMissing(t, thinned)
		fl := espFlow(t, run(t, thinned, false))
		want := missing[0xa1] + missing[0xb2]
		if want == 0 {
			t.Fatal("simulate deleted nothing")
		}
		if fl.ESPLostCapture != want || fl.ESPLostUpstream != 0 {
			t.Errorf("seed %d: %d lost in the capture, %d upstream; tshark finds %d numbers skipped", seed, fl.ESPLostCapture, fl.ESPLostUpstream, want)
		}
		t.Logf("seed %d: tshark %d skipped (SA 0xa1 %d, 0xb2 %d), gapan %d in the capture", seed, want, missing[0xa1], missing[0xb2], fl.ESPLostCapture)
	}
}

// espClean requires, of a capture of clean ESP streams, packets ESP
// packets (0: any) and nothing missing, late, duplicated or restarted,
// for gapan and tshark's ESP sequence analysis alike.
func espClean(t *testing.T, path string, packets uint64) {
	t.Helper()
	missing, flagged := tsharkESPMissing(t, path)
	var c loss.ESPCounters
	for _, fl := range run(t, path, true).List {
		c.ESPPackets += fl.ESPPackets
		c.ESPLostCapture += fl.ESPLostCapture + fl.ESPLostUpstream + fl.ESPLate + fl.ESPDuplicates + fl.ESPRestarts
	}
	if flagged != 0 || len(missing) != 0 {
		t.Errorf("tshark flags %d frames of a clean capture", flagged)
	}
	if c.ESPPackets == 0 || packets != 0 && c.ESPPackets != packets || c.ESPLostCapture != 0 {
		t.Errorf("clean capture: %d ESP packets (want %d), %d missing, late, duplicated or restarted", c.ESPPackets, packets, c.ESPLostCapture)
	}
}

// TestESPPublic (opt-in: GAPAN_PUBLIC_TRACES) measures the same on the
// clean ESP streams of tcpdump's test suite.
func TestESPPublic(t *testing.T) {
	paths := testenv.PublicTraces(t, "tcpdump-02-sunrise-sunset-esp.pcap", "tcpdump-08-sunrise-sunset-esp2.pcap", "tcpdump-espudp1.pcap")
	testenv.NeedTool(t, "tshark")
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) { espClean(t, path, 8) })
	}
}

// espLong writes two SAs of 2,000 packets, one each way; with upstream,
// SA 0xa1 never sends every 97th number.
func espLong(t *testing.T, upstream bool) string {
	var frames []ipFrame
	for i := uint32(1); i <= 2000; i++ {
		if !upstream || i%97 != 0 {
			frames = append(frames, espFrame(hostA, hostB, 0xa1, i))
		}
		frames = append(frames, espFrame(hostB, hostA, 0xb2, 7000+i))
	}
	return writeIPv4(t, "esp-long.pcap", frames)
}
