package flowtab_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gapan/gapan/flow"
	"github.com/gapan/gapan/internal/flowtab"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// seg is one synthetic TCP segment; fromClient picks the direction.
type seg struct {
	fromClient bool
	flags      string // any of S A F R P
	seq, ack   uint32
	payload    int
	wantFlow   uint64 // expected flow id (= tcp.stream: only TCP here)
}

func buildTCPFrame(t testing.TB, cport uint16, s seg) []byte {
	t.Helper()
	cli, srv := net.IP{10, 0, 0, 1}, net.IP{10, 0, 0, 2}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{0, 1, 2, 3, 4, 5}, DstMAC: net.HardwareAddr{0, 1, 2, 3, 4, 6}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: cli, DstIP: srv}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(cport), DstPort: 80, Seq: s.seq, Ack: s.ack, Window: 65535}
	if !s.fromClient {
		ip.SrcIP, ip.DstIP = srv, cli
		tcp.SrcPort, tcp.DstPort = 80, layers.TCPPort(cport)
	}
	for _, c := range s.flags {
		switch c {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		case 'F':
			tcp.FIN = true
		case 'R':
			tcp.RST = true
		case 'P':
			tcp.PSH = true
		}
	}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(make([]byte, s.payload))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// portReuseSegments: the same 5-tuple (client port 40000) carries two full
// connections closed with FIN, then one reset by the server, then one with
// a retransmitted SYN (same ISN: same flow); client port 40001 starts
// mid-connection and is then reused by a SYN with a new ISN.
var portReuseSegments = []struct {
	port uint16
	seg
}{
	{40000, seg{true, "S", 1000, 0, 0, 0}},
	{40000, seg{false, "SA", 7000, 1001, 0, 0}},
	{40000, seg{true, "A", 1001, 7001, 0, 0}},
	{40000, seg{true, "PA", 1001, 7001, 100, 0}},
	{40000, seg{false, "A", 7001, 1101, 0, 0}},
	{40000, seg{true, "FA", 1101, 7001, 0, 0}},
	{40000, seg{false, "FA", 7001, 1102, 0, 0}},
	{40000, seg{true, "A", 1102, 7002, 0, 0}},
	// second connection, new ISN
	{40000, seg{true, "S", 5000, 0, 0, 1}},
	{40000, seg{false, "SA", 9000, 5001, 0, 1}},
	{40000, seg{true, "A", 5001, 9001, 0, 1}},
	{40000, seg{true, "FA", 5001, 9001, 0, 1}},
	{40000, seg{false, "FA", 9001, 5002, 0, 1}},
	{40000, seg{true, "A", 5002, 9002, 0, 1}},
	// third: reset by the server
	{40000, seg{true, "S", 20000, 0, 0, 2}},
	{40000, seg{false, "RA", 0, 20001, 0, 2}},
	// fourth: SYN retransmitted with the same ISN stays in its flow
	{40000, seg{true, "S", 30000, 0, 0, 3}},
	{40000, seg{true, "S", 30000, 0, 0, 3}},
	{40000, seg{false, "SA", 11000, 30001, 0, 3}},
	{40000, seg{true, "A", 30001, 11001, 0, 3}},
	// client port 40001: mid-connection, then a SYN with a new ISN
	{40001, seg{true, "PA", 500, 800, 50, 4}},
	{40001, seg{false, "A", 800, 550, 0, 4}},
	{40001, seg{true, "S", 60000, 0, 0, 5}},
	{40001, seg{false, "SA", 61000, 60001, 0, 5}},
}

func writePortReusePcap(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "portreuse.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1700000000, 0)
	for i, s := range portReuseSegments {
		b := buildTCPFrame(t, s.port, s.seg)
		ci := gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestPortReuseNewFlowOnSYN(t *testing.T) {
	path := writePortReusePcap(t)
	res, flows, tab := runCapture(t, path, flowtab.Options[struct{}]{})
	for i, r := range res {
		if want := portReuseSegments[i].wantFlow; r.flowID != want {
			t.Errorf("frame %d: flow %d, want %d", i+1, r.flowID, want)
		}
	}
	reasons := map[uint64]flow.Reason{}
	for _, f := range flows {
		reasons[f.id] = f.reason
	}
	wantReasons := []flow.Reason{flow.ReasonPortReuse, flow.ReasonPortReuse, flow.ReasonPortReuse, flow.ReasonEndOfCapture, flow.ReasonPortReuse, flow.ReasonEndOfCapture}
	for id, w := range wantReasons {
		if reasons[uint64(id)] != w {
			t.Errorf("flow %d ended %v, want %v", id, reasons[uint64(id)], w)
		}
	}
	if st := tab.Stats(); st.PortReuse != 4 || st.Flows != 6 || st.EndOfInput != 2 {
		t.Errorf("stats %+v, want 4 port reuses, 6 flows, 2 flushed", st)
	}

	// Wireshark must agree frame by frame.
	stream, _ := tsharkStreams(t, path)
	for i := range res {
		if s, ok := stream[i+1]; !ok || uint64(s) != portReuseSegments[i].wantFlow {
			t.Errorf("frame %d: tshark tcp.stream %d (present %v), want %d", i+1, s, ok, portReuseSegments[i].wantFlow)
		}
	}
}
