package sidecar

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strconv"

	"github.com/gapan/gapan/internal/filekind"
)

// TextVersion is the version in the text form's optional first line,
// "# gapan-sidecar-text 1".
const TextVersion = 1

// MaxTextLine is the longest line, in bytes, that the text reader accepts.
const MaxTextLine = 4096

// RecordReader is what *Reader (binary) and *TextReader (text) have in
// common: a header, records in order, and a trailer after io.EOF.
type RecordReader interface {
	Header() Header
	Next() (Record, error)
	Trailer() (Trailer, bool)
}

var (
	_ RecordReader = (*Reader)(nil)
	_ RecordReader = (*TextReader)(nil)
)

// NewAutoReader returns a binary *Reader if r starts with Magic[0] (0x89)
// and a *TextReader otherwise. name is used in error messages. An empty
// input is neither: a *FormatError wrapping ErrEmpty. A packet capture is
// a *CaptureGivenError (see NewTextReader).
func NewAutoReader(r io.Reader, name string) (RecordReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	b, err := br.Peek(1)
	if err == nil && b[0] == Magic[0] {
		return NewReaderName(br, name)
	}
	if err == io.EOF {
		return nil, &FormatError{File: name, Err: ErrEmpty}
	}
	return NewTextReader(br, name)
}

// OpenAuto opens the sidecar file path, binary or text, and returns
// NewAutoReader's reader of it (its concrete type, so its optional methods
// stay visible) and the file to close when done. path "-" reads stdin
// instead; closing it then does nothing.
func OpenAuto(path string, stdin io.Reader) (RecordReader, io.Closer, error) {
	var src io.Reader = stdin
	var c io.Closer = io.NopCloser(nil)
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		src, c = f, f
	}
	r, err := NewAutoReader(src, path)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return r, c, nil
}

// captureGiven returns a *CaptureGivenError when prefix, the start of the
// file name read as a sidecar, is that of a capture (or of gzip or zstd
// data), nil otherwise.
func captureGiven(prefix []byte, name string) error {
	k := filekind.Of(prefix)
	if !k.IsCapture() && k != filekind.Gzip && k != filekind.Zstd {
		return nil
	}
	e := &CaptureGivenError{File: name, Kind: k.String()}
	if name != "" && name != "-" {
		if p, ok := Find(name); ok {
			e.Sidecar = p
		}
	}
	return e
}

// File is a whole sidecar in memory, as returned by ReadAll and ReadText.
type File struct {
	Header     Header
	Records    []Record
	Trailer    Trailer
	HasTrailer bool
}

// ReadAll reads every record of r into memory. On an error it returns the
// records read so far together with the error, so a caller can use the
// valid prefix of a file that ends with ErrNoTrailer.
func ReadAll(r RecordReader) (*File, error) {
	f := &File{Header: r.Header()}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			f.Trailer, f.HasTrailer = r.Trailer()
			return f, nil
		}
		if err != nil {
			return f, err
		}
		f.Records = append(f.Records, rec)
	}
}

// ReadText reads a whole text-form sidecar; name is used in error messages.
// As with ReadAll, the returned File holds the records read before an error.
func ReadText(r io.Reader, name string) (*File, error) {
	tr, err := NewTextReader(r, name)
	if err != nil {
		return nil, err
	}
	return ReadAll(tr)
}

// Records returns an iterator over s, for WriteText.
func Records(s []Record) iter.Seq[Record] {
	return func(yield func(Record) bool) {
		for _, r := range s {
			if !yield(r) {
				return
			}
		}
	}
}

// WriteText writes the text form (docs/sidecar.md): header comment lines,
// one "frame gap" line per record, and, if t is not nil, the trailer comment
// lines. Records must have Gap > 0 and strictly increasing Frame; otherwise
// WriteText stops with an error wrapping ErrZeroGap or ErrUnsorted.
func WriteText(w io.Writer, h Header, records iter.Seq[Record], t *Trailer) error {
	tw, err := newTextWriter(w, h)
	if err != nil {
		return err
	}
	for r := range records {
		if err := tw.add(r); err != nil {
			return err
		}
	}
	return tw.close(t)
}

// ConvertToText writes r in the text form to w. A record of an inferred
// sidecar is followed by its bracket as a comment line, "# bracket
// first=F last=L confidence=C", and the inferred totals come before the
// trailer lines as "# inferred [total=N] unplaced=U": comments that text
// readers ignore. After the valid prefix it
// returns r's terminal error, if any (then without trailer lines, since the
// input had no valid trailer).
func ConvertToText(w io.Writer, r RecordReader) error {
	tw, err := newTextWriter(w, r.Header())
	if err != nil {
		return err
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if ferr := tw.close(nil); ferr != nil {
				return ferr
			}
			return err
		}
		if err := tw.add(rec); err != nil {
			return err
		}
		if b, ok := bracketOf(r, rec.Frame); ok {
			fmt.Fprintf(tw.bw, "# bracket first=%d last=%d confidence=%s\n", b.First, b.Last, confidenceText(b.ConfidencePermille))
		}
	}
	if it, ok := inferredTotalsOf(r); ok {
		if it.HasTotal {
			fmt.Fprintf(tw.bw, "# inferred total=%d unplaced=%d\n", it.Total, it.Unplaced)
		} else {
			fmt.Fprintf(tw.bw, "# inferred unplaced=%d\n", it.Unplaced)
		}
	}
	t, ok := r.Trailer()
	if !ok {
		return tw.close(nil)
	}
	return tw.close(&t)
}

// Convert copies the records and trailer of r to w and closes w with r's
// trailer, e.g. to import a text sidecar into the binary form. If r ends in
// an error, Convert flushes what it copied, leaves w open (so the output, like
// the input, has no trailer) and returns the error.
func Convert(w *Writer, r RecordReader) error {
	for {
		rec, err := r.Next()
		if err == io.EOF {
			t, _ := r.Trailer()
			return w.Close(t)
		}
		if err != nil {
			if ferr := w.Flush(); ferr != nil {
				return ferr
			}
			return err
		}
		if err := w.Add(rec); err != nil {
			return err
		}
	}
}

type textWriter struct {
	bw   *bufio.Writer
	prev uint64
	line []byte
}

func newTextWriter(w io.Writer, h Header) (*textWriter, error) {
	if err := validTool(h.Tool); err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, "# gapan-sidecar-text %d\n", TextVersion)
	fmt.Fprintf(bw, "# source %s\n", h.Source)
	id := h.Identity
	switch {
	case id.Known:
		fmt.Fprintf(bw, "# identity linktype=%d snaplen=%d first_ns=%d first_crc=0x%08x\n", id.LinkType, id.SnapLen, id.FirstFrameNs, id.FirstFrameCRC)
	case id != Identity{}:
		fmt.Fprintf(bw, "# identity unknown linktype=%d snaplen=%d first_ns=%d first_crc=0x%08x\n", id.LinkType, id.SnapLen, id.FirstFrameNs, id.FirstFrameCRC)
	default:
		bw.WriteString("# identity unknown\n")
	}
	fmt.Fprintf(bw, "# created_ns %d\n", h.CreatedNs)
	if h.Tool != "" {
		fmt.Fprintf(bw, "# tool %s\n", h.Tool)
	}
	bw.WriteString("# frame gap\n")
	return &textWriter{bw: bw}, nil
}

func (tw *textWriter) add(r Record) error {
	if r.Gap == 0 {
		tw.bw.Flush()
		return fmt.Errorf("%w: frame %d", ErrZeroGap, r.Frame)
	}
	if r.Frame <= tw.prev {
		tw.bw.Flush()
		return fmt.Errorf("%w: frame %d after frame %d", ErrUnsorted, r.Frame, tw.prev)
	}
	tw.prev = r.Frame
	tw.line = strconv.AppendUint(tw.line[:0], r.Frame, 10)
	tw.line = append(tw.line, ' ')
	tw.line = strconv.AppendUint(tw.line, r.Gap, 10)
	tw.line = append(tw.line, '\n')
	_, err := tw.bw.Write(tw.line)
	return err
}

func (tw *textWriter) close(t *Trailer) error {
	if t != nil {
		if err := validTail(t.Tail); err != nil {
			tw.bw.Flush()
			return err
		}
		fmt.Fprintf(tw.bw, "# frames %d\n", t.Frames)
		for _, g := range t.Tail {
			fmt.Fprintf(tw.bw, "# tail iface=%d %d\n", g.Interface, g.Lost)
		}
		if t.HasKernel {
			fmt.Fprintf(tw.bw, "# kernel packets=%d drops=%d\n", t.KernelPackets, t.KernelDrops)
		}
	}
	return tw.bw.Flush()
}

// TextReader reads the text form line by line in bounded memory. It has the
// same methods and error conventions as Reader; FormatError.Line says where
// an error is. A file without trailer lines ends with an error wrapping
// ErrNoTrailer, which callers usually treat as a warning (third-party
// recorders may not write one).
type TextReader struct {
	sc       *bufio.Scanner
	name     string
	line     int
	off      int64 // offset of the current line
	consumed int64 // bytes consumed by the scanner
	lineEnd  int64 // offset just after the current line
	hdr      Header
	seen     map[string]int // directive → line, to reject duplicates
	pending  *Record        // first record, read while scanning the header
	prev     uint64
	n        uint64
	lost     uint64 // sum of the gaps so far
	tailSum  uint64 // sum of the tails so far
	inTrail  bool   // a trailer directive has been seen
	trailer  Trailer
	done     bool
	err      error
}

// NewTextReader reads the header lines of a text sidecar from r (up to the
// first record or trailer line). A text file without a "# source" line has
// SourceImported; without "# identity" its Identity is unknown. A packet
// capture (pcap, pcapng, or gzip or zstd data) is a *CaptureGivenError,
// naming the capture's own sidecar when there is one.
func NewTextReader(r io.Reader, name string) (*TextReader, error) {
	br := bufio.NewReader(r)
	prefix, _ := br.Peek(filekind.PrefixLen)
	if err := captureGiven(prefix, name); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 512), MaxTextLine)
	tr := &TextReader{sc: sc, name: name, seen: map[string]int{}}
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		adv, tok, err := bufio.ScanLines(data, atEOF)
		tr.consumed += int64(adv)
		return adv, tok, err
	})
	tr.hdr.Source = SourceImported
	for tr.pending == nil && !tr.inTrail {
		rec, ok, err := tr.scan()
		if err != nil {
			if err == io.EOF {
				tr.done = true
				break
			}
			return nil, err
		}
		if ok {
			tr.pending = &rec
		}
	}
	return tr, nil
}

// Header returns the header built from the header comment lines.
func (tr *TextReader) Header() Header { return tr.hdr }

// Trailer returns the trailer and true once Next has returned io.EOF and
// the file had trailer lines.
func (tr *TextReader) Trailer() (Trailer, bool) {
	if tr.err != nil || !tr.done || !tr.inTrail || tr.pending != nil {
		return Trailer{}, false
	}
	return tr.trailer, true
}

// Next returns the next record; io.EOF at the end of a file with trailer
// lines; an error wrapping ErrNoTrailer at the end of one without.
func (tr *TextReader) Next() (Record, error) {
	if tr.pending != nil {
		r := *tr.pending
		tr.pending = nil
		return r, nil
	}
	for {
		if tr.err != nil {
			return Record{}, tr.err
		}
		if tr.done {
			if !tr.inTrail {
				tr.err = &FormatError{File: tr.name, Offset: tr.lineEnd, Record: tr.n, Line: tr.line + 1, Err: ErrNoTrailer}
				return Record{}, tr.err
			}
			return Record{}, io.EOF
		}
		rec, ok, err := tr.scan()
		if err == io.EOF {
			tr.done = true
			continue
		}
		if err != nil {
			return Record{}, err
		}
		if ok {
			return rec, nil
		}
	}
}

func (tr *TextReader) fail(err error) error {
	tr.err = &FormatError{File: tr.name, Offset: tr.off, Record: tr.n, Line: tr.line, Err: err}
	return tr.err
}

// scan reads one line: a record (ok true), a comment/directive/blank line
// (ok false), io.EOF or an error.
func (tr *TextReader) scan() (Record, bool, error) {
	if tr.err != nil {
		return Record{}, false, tr.err
	}
	if !tr.sc.Scan() {
		if err := tr.sc.Err(); err != nil {
			tr.line++
			if err == bufio.ErrTooLong {
				return Record{}, false, tr.fail(fmt.Errorf("%w: line longer than %d bytes", ErrMalformed, MaxTextLine))
			}
			return Record{}, false, tr.fail(err)
		}
		return Record{}, false, io.EOF
	}
	tr.line++
	b := tr.sc.Bytes()
	tr.off = tr.lineEnd
	tr.lineEnd = tr.consumed
	fields := bytes.Fields(b)
	if len(fields) == 0 {
		return Record{}, false, nil
	}
	if fields[0][0] == '#' {
		return Record{}, false, tr.directive(b)
	}
	if len(fields) != 2 {
		return Record{}, false, tr.fail(fmt.Errorf("%w: want \"frame gap\", got %d fields", ErrMalformed, len(fields)))
	}
	if tr.inTrail {
		return Record{}, false, tr.fail(fmt.Errorf("%w: record after trailer lines", ErrMalformed))
	}
	frame, err := parseDec(fields[0])
	if err != nil {
		return Record{}, false, tr.fail(fmt.Errorf("%w: frame: %v", ErrMalformed, err))
	}
	gap, err := parseDec(fields[1])
	if err != nil {
		return Record{}, false, tr.fail(fmt.Errorf("%w: gap: %v", ErrMalformed, err))
	}
	if gap == 0 {
		return Record{}, false, tr.fail(fmt.Errorf("%w: frame %d", ErrZeroGap, frame))
	}
	if frame <= tr.prev {
		return Record{}, false, tr.fail(fmt.Errorf("%w: frame %d after frame %d", ErrUnsorted, frame, tr.prev))
	}
	if err := checkGap(frame, gap, tr.lost); err != nil {
		return Record{}, false, tr.fail(err)
	}
	tr.lost += gap
	tr.prev = frame
	tr.n++
	return Record{Frame: frame, Gap: gap}, true, nil
}

// parseDec parses a plain unsigned decimal (no sign, no underscores).
func parseDec(b []byte) (uint64, error) {
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not an unsigned decimal", b)
		}
	}
	return strconv.ParseUint(string(b), 10, 64)
}

var headerDirectives = map[string]bool{"gapan-sidecar-text": true, "source": true, "identity": true, "created_ns": true, "tool": true}
var trailerDirectives = map[string]bool{"frames": true, "tail": true, "kernel": true}

// directive handles a comment line. A comment whose first word (after '#'
// and blanks) is a directive keyword must be well formed; other comments are
// ignored. It runs in three phases: split the line, check that the
// directive may stand where it does, then parse it into the header or the
// trailer.
func (tr *TextReader) directive(line []byte) error {
	key, args := splitDirective(line)
	isHdr, isTrl := headerDirectives[key], trailerDirectives[key]
	if !isHdr && !isTrl {
		return nil
	}
	if err := tr.placeDirective(key, isHdr); err != nil {
		return err
	}
	if isHdr {
		return tr.headerDirective(key, args)
	}
	if err := tr.trailerDirective(key, args); err != nil {
		return err
	}
	tr.inTrail = true
	return nil
}

// splitDirective splits a comment line into its first word and the rest,
// trimmed.
func splitDirective(line []byte) (key string, args []byte) {
	rest := bytes.TrimLeft(line, " \t")
	rest = bytes.TrimLeft(rest[1:], " \t") // drop '#'
	kw := rest
	if i := bytes.IndexAny(rest, " \t"); i >= 0 {
		kw, args = rest[:i], rest[i+1:]
	}
	return string(kw), bytes.TrimSpace(args)
}

// placeDirective refuses a directive given twice (all but "tail") and a
// header directive after the first record or trailer line.
func (tr *TextReader) placeDirective(key string, isHdr bool) error {
	if key != "tail" {
		if prev, dup := tr.seen[key]; dup {
			return tr.fail(fmt.Errorf("%w: duplicate %q line (first on line %d)", ErrMalformed, key, prev))
		}
		tr.seen[key] = tr.line
	}
	if isHdr && (tr.n > 0 || tr.pending != nil || tr.inTrail) {
		return tr.fail(fmt.Errorf("%w: %q header line after the first record", ErrMalformed, key))
	}
	return nil
}

// bad fails with ErrMalformed naming the directive key.
func (tr *TextReader) bad(key, format string, a ...any) error {
	return tr.fail(fmt.Errorf("%w: %s: %s", ErrMalformed, key, fmt.Sprintf(format, a...)))
}

// headerDirective parses one header directive into tr.hdr.
func (tr *TextReader) headerDirective(key string, args []byte) error {
	switch key {
	case "gapan-sidecar-text":
		v, err := parseDec(args)
		if err != nil {
			return tr.bad(key, "%v", err)
		}
		if v != TextVersion {
			return tr.fail(fmt.Errorf("%w: text form version %d, this reader knows %d", ErrVersion, v, TextVersion))
		}
	case "source":
		s, err := ParseSource(string(args))
		if err != nil {
			return tr.fail(err)
		}
		tr.hdr.Source = s
	case "identity":
		id, err := parseIdentity(args)
		if err != nil {
			return tr.bad(key, "%v", err)
		}
		tr.hdr.Identity = id
	case "created_ns":
		v, err := strconv.ParseInt(string(args), 10, 64)
		if err != nil {
			return tr.bad(key, "%v", err)
		}
		tr.hdr.CreatedNs = v
	case "tool":
		if err := validTool(string(args)); err != nil {
			return tr.fail(err)
		}
		tr.hdr.Tool = string(args)
	}
	return nil
}

// parseIdentity parses the arguments of "# identity": "unknown", or the
// four keys linktype= snaplen= first_ns= first_crc=.
func parseIdentity(args []byte) (Identity, error) {
	id := Identity{Known: true}
	f := bytes.Fields(args)
	if len(f) > 0 && string(f[0]) == "unknown" {
		id.Known = false
		f = f[1:]
	} else if len(f) != 4 {
		return id, errors.New("want linktype= snaplen= first_ns= first_crc=")
	}
	kv, err := keyValues(f, "linktype", "snaplen", "first_ns", "first_crc")
	if err != nil {
		return id, err
	}
	var perr error
	u32 := func(k string) uint32 {
		s, ok := kv[k]
		if !ok {
			return 0
		}
		v, err := strconv.ParseUint(s, 0, 32)
		if err != nil && perr == nil {
			perr = err
		}
		return uint32(v)
	}
	id.LinkType, id.SnapLen, id.FirstFrameCRC = u32("linktype"), u32("snaplen"), u32("first_crc")
	if s, ok := kv["first_ns"]; ok {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil && perr == nil {
			perr = err
		}
		id.FirstFrameNs = v
	}
	return id, perr
}

// trailerDirective parses one trailer directive into tr.trailer.
func (tr *TextReader) trailerDirective(key string, args []byte) error {
	switch key {
	case "frames":
		v, err := parseDec(args)
		if err != nil {
			return tr.bad(key, "%v", err)
		}
		if v != 0 && v < tr.prev {
			return tr.bad(key, "%d frames but a record names frame %d", v, tr.prev)
		}
		tr.trailer.Frames = v
	case "tail":
		return tr.tailDirective(args)
	case "kernel":
		return tr.kernelDirective(args)
	}
	return nil
}

// tailDirective parses "# tail N" or "# tail iface=I N": the frames lost
// after the last frame (of interface I).
func (tr *TextReader) tailDirective(args []byte) error {
	f := bytes.Fields(args)
	var g InterfaceGap
	switch {
	case len(f) == 1:
	case len(f) == 2 && bytes.HasPrefix(f[0], []byte("iface=")):
		v, err := parseDec(f[0][len("iface="):])
		if err != nil || v > 0xffffffff {
			return tr.bad("tail", "bad interface %q", f[0])
		}
		g.Interface = uint32(v)
		f = f[1:]
	default:
		return tr.bad("tail", "want \"# tail N\" or \"# tail iface=I N\"")
	}
	v, err := parseDec(f[0])
	if err != nil {
		return tr.bad("tail", "%v", err)
	}
	g.Lost = v
	if err := checkCount("tail", v); err != nil {
		return tr.fail(err)
	}
	tr.tailSum += v
	if err := checkCount("sum of the tails", tr.tailSum); err != nil {
		return tr.fail(err)
	}
	if n := len(tr.trailer.Tail); n > 0 && g.Interface <= tr.trailer.Tail[n-1].Interface {
		return tr.fail(fmt.Errorf("%w: tail interface %d after %d", ErrUnsorted, g.Interface, tr.trailer.Tail[n-1].Interface))
	}
	if len(tr.trailer.Tail) >= MaxBlockPayload/2 {
		return tr.bad("tail", "too many tail lines")
	}
	tr.trailer.Tail = append(tr.trailer.Tail, g)
	return nil
}

// kernelDirective parses "# kernel packets=P drops=D".
func (tr *TextReader) kernelDirective(args []byte) error {
	kv, err := keyValues(bytes.Fields(args), "packets", "drops")
	if err != nil || len(kv) != 2 {
		return tr.bad("kernel", "want packets=P drops=D")
	}
	p, err1 := strconv.ParseUint(kv["packets"], 10, 64)
	d, err2 := strconv.ParseUint(kv["drops"], 10, 64)
	if err1 != nil || err2 != nil {
		return tr.bad("kernel", "want packets=P drops=D")
	}
	if err := checkCount("kernel packet count", p); err != nil {
		return tr.fail(err)
	}
	if err := checkCount("kernel drop count", d); err != nil {
		return tr.fail(err)
	}
	tr.trailer.HasKernel, tr.trailer.KernelPackets, tr.trailer.KernelDrops = true, p, d
	return nil
}

// keyValues parses k=v fields, allowing only the given keys, each once.
func keyValues(fields [][]byte, keys ...string) (map[string]string, error) {
	m := make(map[string]string, len(fields))
	for _, f := range fields {
		k, v, ok := bytes.Cut(f, []byte{'='})
		if !ok {
			return nil, fmt.Errorf("%q is not key=value", f)
		}
		known := false
		for _, want := range keys {
			known = known || string(k) == want
		}
		if !known {
			return nil, fmt.Errorf("unknown key %q", k)
		}
		if _, dup := m[string(k)]; dup {
			return nil, fmt.Errorf("duplicate key %q", k)
		}
		m[string(k)] = string(v)
	}
	return m, nil
}
