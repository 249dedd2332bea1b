package sidecar_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/gapan/gapan/sidecar"
)

func BenchmarkWrite(b *testing.B) {
	recs := realistic(1<<16, 5)
	size := len(encode(b, testHeader, recs, &sidecar.Trailer{}, 0))
	var buf bytes.Buffer
	buf.Grow(size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf.Reset()
		w, err := sidecar.NewWriter(&buf, testHeader)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			if err := w.Add(r); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(sidecar.Trailer{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkRead(b *testing.B) {
	recs := realistic(1<<16, 5)
	data := encode(b, testHeader, recs, &sidecar.Trailer{}, 0)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := sidecar.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != len(recs) {
			b.Fatalf("read %d records", n)
		}
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkReadText(b *testing.B) {
	recs := realistic(1<<16, 5)
	var txt bytes.Buffer
	if err := sidecar.WriteText(&txt, testHeader, sidecar.Records(recs), &sidecar.Trailer{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(txt.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		f, err := sidecar.ReadText(bytes.NewReader(txt.Bytes()), "b.txt")
		if err != nil || len(f.Records) != len(recs) {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
