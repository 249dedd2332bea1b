//go:build linux

package recorder

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestMeasureRate searches for the highest rate of 64-byte UDP datagrams
// (106-byte frames) the recorder takes for 1 s without a single kernel
// drop, with a 2 MiB buffer (tcpdump's default), once with recvmsg and once
// with recvmmsg batches. It is a measurement, not a check: it runs only
// with GAPAN_MEASURE_RATE=1 and logs the figures for docs/recorder.md.
func TestMeasureRate(t *testing.T) {
	if os.Getenv("GAPAN_MEASURE_RATE") != "1" {
		t.Skip("set GAPAN_MEASURE_RATE=1 to measure the recorder's no-drop rate")
	}
	needRootAndIP(t)
	p := newNSPair(t)
	report := filepath.Join(t.TempDir(), "sender")
	t.Setenv(envReport, report)
	trial := func(batch, rate int) (ok bool, achieved float64) {
		before := softnetDrops(t)
		st := p.capture(t, Config{Output: filepath.Join(t.TempDir(), "r.pcap"), BufferKiB: 2048, Batch: batch, IgnoreOutgoing: true},
			"udp", rate, rate, 64)
		b, _ := os.ReadFile(report)
		ns, _ := strconv.ParseInt(string(b), 10, 64)
		achieved = float64(rate) / (time.Duration(ns).Seconds())
		clean := softnetDrops(t) == before
		t.Logf("batch %3d: offered %7d/s, sent at %7.0f/s: captured %d, dropped %d (backlog clean %v)", batch, rate, achieved, st.Frames, st.KernelDrops, clean)
		return st.KernelDrops == 0 && clean && st.Frames == uint64(rate), achieved
	}
	for _, batch := range []int{1, DefaultBatch} {
		lo, hi := 0, 4_000_000
		var maxSent float64
		for hi-lo > max(lo/20, 10000) {
			mid := (lo + hi) / 2
			ok, achieved := trial(batch, mid)
			maxSent = max(maxSent, achieved)
			if achieved < 0.97*float64(mid) {
				// The sender could not offer this rate: the limit is above
				// what this machine can generate.
				if ok {
					lo = mid
				}
				hi = mid
				continue
			}
			if ok {
				lo = mid
			} else {
				hi = mid
			}
		}
		t.Logf("RESULT batch %d: highest rate without drops %d frames/s (sender peaked at %.0f/s)", batch, lo, maxSent)
	}
}

// TestMeasureDrainRate measures how fast the recorder consumes frames when
// the sender is not the limit: the datagrams are queued first in a 1 GiB
// socket buffer while the recorder waits, then the recorder drains the
// queue into the pcap as fast as it can. Runs only with GAPAN_MEASURE_RATE=1.
func TestMeasureDrainRate(t *testing.T) {
	if os.Getenv("GAPAN_MEASURE_RATE") != "1" {
		t.Skip("set GAPAN_MEASURE_RATE=1 to measure the recorder's drain rate")
	}
	needRootAndIP(t)
	p := newNSPair(t)
	const count = 300000
	for _, batch := range []int{1, 8, DefaultBatch, 256} {
		for _, payload := range []int{64, 1400} {
			out := filepath.Join(t.TempDir(), "d.pcap")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			var t0 time.Time
			var st Stats
			var err error
			inNS(t, p.recv, func() {
				udp, lerr := net.ListenPacket("udp4", p.recvIP+":9999")
				if lerr != nil {
					err = lerr
					return
				}
				defer udp.Close()
				st, err = Run(ctx, Config{
					Interface: p.recvIf, Output: out, BufferKiB: maxBufferKiB, Batch: batch, IgnoreOutgoing: true,
					Started: func() {
						// Runs in Run before its first receive: queue
						// everything, then let Run drain it.
						cmd := startSender(t, p.send, "udp", p.recvIP+":9999", count, 0, payload)
						cmd.Wait()
						time.Sleep(100 * time.Millisecond)
						t0 = time.Now()
						cancel()
					},
				})
			})
			elapsed := time.Since(t0)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := os.Stat(out)
			t.Logf("RESULT batch %3d, %4d-byte payload: drained %d frames (%d dropped) in %v: %.0f frames/s, %.0f MB/s written",
				batch, payload, st.Frames, st.KernelDrops, elapsed.Round(time.Millisecond), float64(st.Frames)/elapsed.Seconds(), float64(fi.Size())/elapsed.Seconds()/1e6)
			os.Remove(out)
		}
	}
}
