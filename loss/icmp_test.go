package loss_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

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
		out, err := exec.Command("tshark", "-2", "-n", "-r", tc.path, "-T", "fields", "-e", "icmp.type", "-e", "icmp.ident", "-e", "icmp.seq", "-e", "icmp.resp_not_found", "-e", "icmp.resp_to").Output()
		if err != nil {
			t.Fatal(err)
		}
		var noReply, noRequest uint64
		replies := map[string]bool{}
		for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
			f := strings.Split(l, "\t")
			if len(f) < 5 {
				continue
			}
			switch f[0] {
			case "8":
				if f[3] != "" {
					noReply++
				}
			case "0":
				if f[4] == "" && !replies[f[1]+"/"+f[2]] {
					noRequest++
				}
				replies[f[1]+"/"+f[2]] = true
			}
		}
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
