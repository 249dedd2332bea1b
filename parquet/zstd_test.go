package parquet

import (
	"bytes"
	"testing"

	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// TestZstdCodecInstalled: arrow's table hands out gapan's zstd codec, and
// what it writes is zstd that a plain decoder reads back.
func TestZstdCodecInstalled(t *testing.T) {
	c, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(zstdCodec); !ok {
		t.Fatalf("arrow's zstd codec is %T, want parquet.zstdCodec", c)
	}
	src := bytes.Repeat([]byte("gapan frames 10.0.0.1 "), 10000)
	enc := c.EncodeLevel(nil, src, 1)
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	got, err := dec.DecodeAll(enc, nil)
	if err != nil || !bytes.Equal(got, src) {
		t.Fatalf("decoded %d bytes (err %v), want the %d encoded", len(got), err, len(src))
	}
	if len(enc) >= len(src)/10 {
		t.Errorf("%d bytes compressed to %d", len(src), len(enc))
	}
}
