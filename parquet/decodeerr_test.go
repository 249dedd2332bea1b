package parquet_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/parquet"
)

// TestDecodeErrorsMetadata: frames cut or damaged with gopacket
// (synth.DecodeFailures) are counted, by reason, in the key/value
// metadata of every table; a capture that decodes whole says 0.
func TestDecodeErrorsMetadata(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.pcap")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	_, want, err := synth.DecodeFailures(f)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	var total uint64
	for _, n := range want {
		total += n
	}
	good := simulated(t, dir, "zeek-dcerpc-20-fids-no-close.pcap", "list:5", 1)
	for _, c := range []struct {
		capture string
		total   uint64
	}{{p, total}, {good, 0}} {
		out := filepath.Join(dir, filepath.Base(c.capture)+".ds")
		if _, err := parquet.WriteDataset(out, []string{c.capture}, parquet.Options{Join: join.Options{NoSidecar: c.total > 0}}); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{parquet.FramesTable, parquet.GapsTable, parquet.FlowsTable} {
			pr := openParquet(t, filepath.Join(out, table, parquet.PartFile))
			got := pr.MetaData().KeyValueMetadata().FindValue(parquet.MetaDecodeErrors)
			pr.Close()
			if got == nil {
				t.Fatalf("%s: no %s", table, parquet.MetaDecodeErrors)
			}
			if c.total == 0 {
				if *got != "0" {
					t.Errorf("%s: %s = %q, want 0", table, parquet.MetaDecodeErrors, *got)
				}
				continue
			}
			if !strings.HasPrefix(*got, strconv.FormatUint(c.total, 10)+" (") {
				t.Errorf("%s: %s = %q, want %d frames first", table, parquet.MetaDecodeErrors, *got, c.total)
			}
			for reason, n := range want {
				if !strings.Contains(*got, reason+" "+strconv.FormatUint(n, 10)) {
					t.Errorf("%s: %s = %q, no %q %d", table, parquet.MetaDecodeErrors, *got, reason, n)
				}
			}
		}
	}
}
