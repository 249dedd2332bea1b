package parquet

import (
	"io"
	"sync"
	_ "unsafe" // go:linkname of arrow's codec table

	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// zstdWindow is the window of the zstd encoders: a page is at most a row
// group's column (512 KB for an int64 column of 65,536 frames; larger
// row groups split into pages of about 1 MB), so a larger window finds
// nothing more.
const zstdWindow = 1 << 20

// zstdCodec is arrow's zstd codec with pooled encoders that keep a 1 MB
// window in low-memory mode (about 1.2 MB each) instead of a new encoder
// per page with an 8 MB window and a 16 MB history. The compressed pages
// are ordinary zstd frames: readers see no difference.
type zstdCodec struct{}

// zstdEncoders pools encoders by level.
var zstdEncoders sync.Map // zstd.EncoderLevel -> *sync.Pool

func zstdEncoder(level zstd.EncoderLevel) (*zstd.Encoder, *sync.Pool) {
	p, ok := zstdEncoders.Load(level)
	if !ok {
		p, _ = zstdEncoders.LoadOrStore(level, &sync.Pool{New: func() any {
			enc, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(level),
				zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(zstdWindow), zstd.WithLowerEncoderMem(true))
			if err != nil {
				panic(err) // only for invalid options, which these are not
			}
			return enc
		}})
	}
	pool := p.(*sync.Pool)
	return pool.Get().(*zstd.Encoder), pool
}

func zstdLevel(level int) zstd.EncoderLevel {
	if level == compress.DefaultCompressionLevel {
		return zstd.SpeedDefault
	}
	return zstd.EncoderLevelFromZstd(level)
}

func (zstdCodec) Encode(dst, src []byte) []byte {
	return zstdCodec{}.EncodeLevel(dst, src, compress.DefaultCompressionLevel)
}

func (zstdCodec) EncodeLevel(dst, src []byte, level int) []byte {
	enc, pool := zstdEncoder(zstdLevel(level))
	defer pool.Put(enc)
	return enc.EncodeAll(src, dst[:0])
}

// CompressBound is ZSTD_COMPRESSBOUND of zstd.h, as arrow's codec has it.
func (zstdCodec) CompressBound(n int64) int64 {
	extra := ((128 << 10) - n) >> 11
	if n >= 128<<10 {
		extra = 0
	}
	return n + n>>8 + extra
}

var zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
	dec, err := zstd.NewReader(nil)
	if err != nil {
		panic(err) // only for invalid options
	}
	return dec
})

// Decode panics on corrupt input, as arrow's codec does (its callers
// recover).
func (zstdCodec) Decode(dst, src []byte) []byte {
	out, err := zstdDecoder().DecodeAll(src, dst[:0])
	if err != nil {
		panic(err)
	}
	return out
}

func (zstdCodec) NewReader(r io.Reader) io.ReadCloser {
	dec, err := zstd.NewReader(r)
	if err != nil {
		panic(err)
	}
	return dec.IOReadCloser()
}

func (zstdCodec) NewWriter(w io.Writer) io.WriteCloser {
	enc, err := zstd.NewWriter(w)
	if err != nil {
		panic(err)
	}
	return enc
}

func (zstdCodec) NewWriterLevel(w io.Writer, level int) (io.WriteCloser, error) {
	return zstd.NewWriter(w, zstd.WithEncoderLevel(zstdLevel(level)))
}

// arrowCodecs is arrow v15's codec table (compress.codecs), which v15
// does not export a way to add to (v18's compress.RegisterCodec); its
// GetCodec looks codecs up there.
//
//go:linkname arrowCodecs github.com/apache/arrow/go/v15/parquet/compress.codecs
var arrowCodecs map[compress.Compression]compress.Codec

// zstdCodec replaces arrow's zstd codec when the package loads (arrow's
// own makes a new encoder for every page: about 1 MB of garbage per page,
// 16 MB for a page over zstd's 128 KB block). Replacing it later would
// race with other goroutines' lookups. The table is process-wide; the
// files stay plain zstd either way, and Decode reads any zstd page.
var _ = func() struct{} {
	arrowCodecs[compress.Codecs.Zstd] = zstdCodec{}
	return struct{}{}
}()
