package parquet

import (
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// zstdWindow is the window of the zstd encoders: a page is at most a row
// group's column (512 KB for an int64 column of 65,536 frames; larger
// row groups split into pages of about 1 MB), so a larger window finds
// nothing more.
const zstdWindow = 1 << 20

// zstdCodec is arrow's zstd codec with encoders that keep a 1 MB window
// in low-memory mode (about 1.2 MB each) instead of arrow's default 8 MB
// window and 16 MB history per encoder, which at a million flows was the
// writer's largest buffer (32 MB for two encoders). The compressed pages
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

// zstdCodec goes into arrow's codec table when the package loads, as
// arrow documents (compress.RegisterCodec: "within the init() section"):
// registering later would race with other goroutines' lookups. The table
// is process-wide; the files stay plain zstd either way, and Decode reads
// any zstd page.
var _ = func() struct{} {
	compress.RegisterCodec(compress.Codecs.Zstd, zstdCodec{})
	return struct{}{}
}()
