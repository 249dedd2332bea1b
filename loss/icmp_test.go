package loss_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/internal/testenv"
	"github.com/gapan/gapan/loss"
	"github.com/gopacket/gopacket/layers"
)

// pingCapture is A pinging B (identifier 0x77, requests 1-100, each
// followed by its reply) and a clean ping the other way (identifier
// 0x78, 10 requests), with: request 20 never sent (so no reply 20
// either); request 30 unanswered; request 60 answered but not in the
// capture, with no gap recording it; reply 70 twice; request 100
// unanswered at the end. It returns the frames and, by name, the
// 1-based frames of request 40 and reply 50, which the tests delete.
func pingCapture() ([]ipFrame, map[string]uint64) {
	var frames []ipFrame
	at := map[string]uint64{}
	for i := uint16(1); i <= 100; i++ {
		if i == 20 {
			continue
		}
		if i != 60 {
			if i == 40 {
				at["req40"] = uint64(len(frames) + 1)
			}
			frames = append(frames, echoFrame(hostA, hostB, false, 0x77, i))
		}
		if i != 30 && i != 100 {
			if i == 50 {
				at["rep50"] = uint64(len(frames) + 1)
			}
			frames = append(frames, echoFrame(hostB, hostA, true, 0x77, i))
		}
		if i == 70 {
			frames = append(frames, echoFrame(hostB, hostA, true, 0x77, i))
		}
		if i%10 == 5 {
			n := i/10 + 1
			frames = append(frames, echoFrame(hostB, hostA, false, 0x78, n), echoFrame(hostA, hostB, true, 0x78, n))
		}
	}
	return frames, at
}

// TestICMPEcho: the ping capture's requests and replies, paired and
// numbered, undamaged (read without a sidecar) and with request 40 and
// reply 50 deleted by simulate (with its sidecar).
func TestICMPEcho(t *testing.T) {
	frames, at := pingCapture()
	path := writeIPv4(t, "ping.pcap", frames)
	fl := icmpFlow(t, run(t, path, true))
	want := loss.ICMPCounters{
		ICMPPackets:      uint64(len(frames)),
		ICMPLostUpstream: 3, // request 20, reply 20, reply 30
		ICMPDuplicates:   1, // reply 70
		ICMPNoReply:      2, // 30, 100
		ICMPNoRequest:    1, // 60
		// 60: the reply proves the capture missed it, and no gap says so.
		ICMPCaptureUnexplained: 1,
	}
	if fl.ICMPCounters != want {
		t.Errorf("undamaged:\n got %+v\nwant %+v", fl.ICMPCounters, want)
	}
	// A capture of the replies only (one direction of a tap): every
	// reply lacks its request, but none is the capture's loss.
	var replies []ipFrame
	for _, fr := range frames {
		if fr.Layers[0].(*layers.ICMPv4).TypeCode.Type() == layers.ICMPv4TypeEchoReply {
			replies = append(replies, fr)
		}
	}
	one := icmpFlow(t, run(t, writeIPv4(t, "replies.pcap", replies), true)).ICMPCounters
	if one.ICMPNoRequest != uint64(len(replies)-1) || one.ICMPLostCapture+one.ICMPCaptureUnexplained != 0 {
		t.Errorf("replies only: %+v, want %d replies without request (one repeated) and no capture loss", one, len(replies)-1)
	}
	fl = icmpFlow(t, run(t, thin(t, path, []uint64{at["req40"], at["rep50"]}), false))
	want.ICMPPackets -= 2
	want.ICMPLostCapture = 2 // request 40 (its reply came), reply 50
	want.ICMPNoReply++       // 50
	want.ICMPNoRequest++     // 40
	if fl.ICMPCounters != want {
		t.Errorf("thinned:\n got %+v\nwant %+v", fl.ICMPCounters, want)
	}
}

// TestICMPAgainstTshark: the requests tshark (two passes) finds without
// a response (icmp.resp_not_found, with icmp.no_resp) are gapan's
// icmp_no_reply, and the replies it pairs with no request (no
// icmp.resp_to), but for repeated replies, gapan's icmp_no_request: on
// the ping capture undamaged, with request 40 and reply 50 deleted, and
// thinned uniformly by simulate (10 %, three seeds).
func TestICMPAgainstTshark(t *testing.T) {
	testenv.NeedTool(t, "tshark")
	frames, at := pingCapture()
	path := writeIPv4(t, "ping.pcap", frames)
	cases := []struct {
		name string
		path string
	}{
		{"undamaged", path},
		{"thinned", thin(t, path, []uint64{at["req40"], at["rep50"]})},
	}
	for _, seed := range []uint64{4, 5, 6} {
		cases = append(cases, struct{ name, path string }{fmt.Sprintf("uniform seed %d", seed), simulatedFile(t, path, "uniform:0.1", seed)})
	}
	for _, tc := range cases {
		noReply, noRequest := tsharkEcho(t, tc.path)
		c := run(t, tc.path, false).Flows.ICMPCounters
		if c.ICMPNoReply != noReply || c.ICMPNoRequest != noRequest {
			t.Errorf("%s: gapan %d requests without reply, %d replies without request; tshark %d and %d", tc.name, c.ICMPNoReply, c.ICMPNoRequest, noReply, noRequest)
		}
		// What simulate deleted is in its recorded gaps: nothing more is
		// upstream or unexplained than the capture's own.
		if c.ICMPLostUpstream != 3 || c.ICMPCaptureUnexplained != 1 {
			t.Errorf("%s: %d lost upstream, %d by the capture unexplained; want 3 and 1 as undamaged", tc.name, c.ICMPLostUpstream, c.ICMPCaptureUnexplained)
		}
		t.Logf("%s: %d requests without reply, %d replies without request (tshark alike); %d lost in the capture, %d upstream", tc.name, noReply, noRequest, c.ICMPLostCapture, c.ICMPLostUpstream)
	}
}

// pingThinned is the ping capture thinned by simulate (uniform 10 %).
func pingThinned(t *testing.T, seed uint64) string {
	frames, _ := pingCapture()
	return simulatedFile(t, writeIPv4(t, "ping.pcap", frames), "uniform:0.1", seed)
}

// tsharkEcho returns the echo requests tshark (two passes) finds without
// a response (icmp.resp_not_found, icmpv6.resp_not_found), and the
// replies it pairs with no request (no resp_to), each but for repeated
// messages: a request seen twice (a mirror's copy) tshark pairs its reply
// with the later copy and calls the first unanswered; a repeated reply
// it leaves unpaired.
func tsharkEcho(t *testing.T, path string) (noReply, noRequest uint64) {
	t.Helper()
	out, err := exec.Command("tshark", "-2", "-n", "-r", path, "-Y", "icmp.type == 0 || icmp.type == 8 || icmpv6.type == 128 || icmpv6.type == 129",
		"-T", "fields", "-e", "icmp.type", "-e", "icmpv6.type", "-e", "icmp.ident", "-e", "icmpv6.echo.identifier", "-e", "icmp.seq", "-e", "icmpv6.echo.sequence_number",
		"-e", "icmp.resp_not_found", "-e", "icmpv6.resp_not_found", "-e", "icmp.resp_to", "-e", "icmpv6.resp_to").Output()
	if err != nil {
		t.Fatal(err)
	}
	type msg struct {
		request, unpaired bool
		key               string
	}
	var msgs []msg
	count := map[string]int{}
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		f := strings.Split(l, "\t")
		if len(f) < 10 {
			continue
		}
		typ := f[0] + f[1]
		m := msg{request: typ == "8" || typ == "128", key: f[2] + f[3] + "/" + f[4] + f[5]}
		if m.request {
			m.unpaired = f[6]+f[7] != ""
		} else {
			m.unpaired = f[8]+f[9] == ""
		}
		m.key = strconv.FormatBool(m.request) + m.key
		count[m.key]++
		msgs = append(msgs, m)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		first := !seen[m.key]
		seen[m.key] = true
		switch {
		case m.request && m.unpaired && count[m.key] == 1:
			noReply++
		case !m.request && m.unpaired && first:
			noRequest++
		}
	}
	return noReply, noRequest
}

// TestICMPSamples: the synthetic captures of pings (internal/synth:
// IPv4 and IPv6; two counting in little-endian, stepping by 256 on the
// wire, one of them sending every request twice, the other after a
// neighbour solicitation and advertisement) hold clean streams: the echo
// packets written, nothing missing, late or restarted, and the requests
// without reply and replies without request are tshark's.
func TestICMPSamples(t *testing.T) {
	testenv.NeedTool(t, "tshark")
	for name, packets := range map[string]uint64{
		synth.SamplePing: 10, synth.SamplePing6: 8, synth.SamplePingLE: 12, synth.SamplePing6LE: 8,
	} {
		icmpClean(t, seqSample(t, name), packets)
	}
}

// TestICMPPublic (opt-in: GAPAN_PUBLIC_TRACES) measures the same on
// Zeek's ICMP test traces with pings.
func TestICMPPublic(t *testing.T) {
	want := map[string]uint64{
		"zeek-5-pings.pcap": 10, "zeek-icmp-ping.pcap": 4, "zeek-icmp6-ping.pcap": 8,
		"zeek-communityid-icmp.pcap": 12, "zeek-communityid-icmp6.pcap": 16,
	}
	names := []string{"zeek-5-pings.pcap", "zeek-icmp-ping.pcap", "zeek-icmp6-ping.pcap", "zeek-communityid-icmp.pcap", "zeek-communityid-icmp6.pcap"}
	paths := testenv.PublicTraces(t, names...)
	testenv.NeedTool(t, "tshark")
	for i, path := range paths {
		icmpClean(t, path, want[names[i]])
	}
}

// icmpClean requires, of a capture of clean ping streams, packets echo
// packets and no loss, and tshark's requests without reply and replies
// without request.
func icmpClean(t *testing.T, path string, packets uint64) {
	t.Helper()
	name := filepath.Base(path)
	c := run(t, path, true).Flows.ICMPCounters
	noReply, noRequest := tsharkEcho(t, path)
	if c.ICMPPackets != packets || c.ICMPLostCapture+c.ICMPLostUpstream+c.ICMPLate+c.ICMPRestarts+c.ICMPCaptureUnexplained != 0 {
		t.Errorf("%s: %+v, want %d packets and no loss", name, c, packets)
	}
	if c.ICMPNoReply != noReply || c.ICMPNoRequest != noRequest {
		t.Errorf("%s: %d requests without reply, %d replies without request; tshark %d and %d", name, c.ICMPNoReply, c.ICMPNoRequest, noReply, noRequest)
	}
	t.Logf("%s: %d echo packets, %d duplicates, %d requests without reply, %d replies without request (tshark alike)", name, c.ICMPPackets, c.ICMPDuplicates, noReply, noRequest)
}
