package report

import (
	"bufio"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"

	"github.com/gapan/gapan/loss"
)

// DefaultSpillBudget is the memory a FlowSpill keeps flows in
// before it writes them out, when NewFlowSpill is given 0.
const DefaultSpillBudget = 64 << 20

// FlowEncoding turns a final flow into the bytes an output lists for it,
// appended to dst. The flow is valid only during the call (a FlowSpill
// hands it the flows it merges in one reused Flow). An encoding must give
// the same bytes for a flow every time: a FlowSpill may encode a flow
// twice.
type FlowEncoding func(dst []byte, f *loss.Flow) ([]byte, error)

// JSONFlowEncoding encodes a flow as an element of the JSON report's
// flows array, exactly as WriteJSON writes it from Summary.List.
func JSONFlowEncoding(dst []byte, f *loss.Flow) ([]byte, error) { return jsonFlows.Append(dst, f) }

// CSVFlowEncoding encodes a flow as its CSV row, line end included,
// exactly as WriteCSV writes it.
func CSVFlowEncoding(dst []byte, f *loss.Flow) ([]byte, error) { return appendCSVRow(dst, f) }

// FlowSpill keeps the final flows of a run for an output that lists them
// sorted by flow id (JSON, CSV) in bounded memory, however many flows the
// capture has. Its Flow method is a loss.Config.OnFlow: each flow is
// encoded when its figures are final (in the order flows end) and kept as
// its encoding or, when that is long (a JSON flow: 1.5 kB), as its binary
// record (loss.Flow.AppendBinary: about 200 bytes), encoded again as the
// flows are merged. With a FlowCheck (NewFlowSpillChecked, the JSON
// report) a flow is only checked when taken and always kept as its
// record: encoded once, at the merge. When the kept flows reach the budget
// they are sorted by flow id and written to a temporary file as a run,
// and Each merges the runs, encoding the records on every core. The flows
// live at the end of a run with loss.Config.DeferLive are not taken one by
// one but added at once (AddLive): Each merges them with the others and
// builds and encodes their records, on every core too. The temporary file
// is unlinked as soon as it is created, so nothing is left behind, even by
// a killed process.
type FlowSpill struct {
	encode FlowEncoding
	check  FlowCheck // nil: each flow is encoded when taken
	dir    string
	budget int

	scratch []byte    // the encoding of the flow taken last (Flow) or merged (Each)
	flow    loss.Flow // the flow being merged (Each)

	arena [][]byte    // kept flows not yet written out, in blocks
	cur   int         // the block being filled (those after it are empty)
	held  int         // bytes in arena
	recs  []spillRec  // their ids and places in arena
	file  *os.File    // the runs, one after another
	runs  []spillSpan // where each run is in file
	size  int64       // bytes written to file
	n     int
	live  *loss.LiveFlows // the flows live at the end of the run (AddLive)
	// recorded counts the flows kept as their binary record: the merge
	// encodes them, on every core when they are many (eachParallel).
	recorded int
	err      error
}

type spillRec struct {
	id            uint64
	blk, off, len int32
}

type spillSpan struct{ off, len int64 }

// NewFlowSpill returns a FlowSpill that encodes flows with encode and
// writes its runs to a temporary file in dir (os.TempDir when empty) once
// budget bytes (DefaultSpillBudget when 0) of flows are held.
func NewFlowSpill(dir string, budget int, encode FlowEncoding) *FlowSpill {
	return NewFlowSpillChecked(dir, budget, encode, nil)
}

// A FlowCheck returns the error a FlowEncoding would return for a flow,
// without encoding it.
type FlowCheck func(f *loss.Flow) error

// JSONFlowCheck is JSONFlowEncoding's FlowCheck (loss.FlowJSON.Check).
func JSONFlowCheck(f *loss.Flow) error { return jsonFlows.Check(f) }

// NewFlowSpillChecked is NewFlowSpill for an encoding far longer than a
// flow's binary record (JSONFlowEncoding: 1.5 kB against 200 bytes), with
// its FlowCheck: Flow checks each flow with check instead of encoding it
// and keeps it as its binary record, so that each flow is encoded once,
// at the merge, and there on every core. A nil check is NewFlowSpill.
func NewFlowSpillChecked(dir string, budget int, encode FlowEncoding, check FlowCheck) *FlowSpill {
	if budget <= 0 {
		budget = DefaultSpillBudget
	}
	return &FlowSpill{encode: encode, check: check, dir: dir, budget: budget}
}

// spillBlock is the size of the arena's blocks. The arena is not one
// slice of the budget's size: taken at the first flow (at a million live
// flows, the end of the capture, when the heap is fullest), its 65 MB at
// once were the JSON and CSV reports' peak, and grown by doubling its
// last step is as large. The blocks are kept for the next run.
const spillBlock = 1 << 20

// room makes room for n more bytes in the block being filled, moving to
// the next block with room or adding one.
func (s *FlowSpill) room(n int) {
	for ; s.cur < len(s.arena); s.cur++ {
		if b := s.arena[s.cur]; cap(b)-len(b) >= n {
			return
		}
	}
	s.arena = append(s.arena, make([]byte, 0, max(spillBlock, n)))
}

// Flow takes one final flow. Errors are kept and returned by Err and Each.
func (s *FlowSpill) Flow(f *loss.Flow) {
	if s.err != nil {
		return
	}
	if s.check != nil {
		s.flowChecked(f)
		return
	}
	// Encoded now too, so that a flow the encoding refuses fails the
	// output before a byte of it is written (Err): the merge encodes only
	// flows that encoded here.
	if s.scratch, s.err = s.encode(s.scratch[:0], f); s.err != nil {
		return
	}
	s.room(1 + len(s.scratch))
	b := s.arena[s.cur]
	off := len(b)
	if len(s.scratch) > spillRecordOver {
		b, s.err = f.AppendBinary(append(b, spillRecord))
		if s.err != nil {
			return
		}
		if len(b)-off > len(s.scratch)/2 { // not worth encoding twice
			b = b[:off]
		}
	}
	if len(b) == off {
		b = append(append(b, spillEncoded), s.scratch...)
	}
	if b[off] == spillRecord {
		s.recorded++
	}
	s.arena[s.cur] = b
	s.keep(f.FlowID, off, len(b)-off)
}

// flowChecked takes a flow of a FlowSpill with a FlowCheck: checked, not
// encoded, and kept as its binary record.
func (s *FlowSpill) flowChecked(f *loss.Flow) {
	if s.err = s.check(f); s.err != nil {
		return
	}
	if s.scratch, s.err = f.AppendBinary(append(s.scratch[:0], spillRecord)); s.err != nil {
		return
	}
	s.room(len(s.scratch))
	off := len(s.arena[s.cur])
	s.arena[s.cur] = append(s.arena[s.cur], s.scratch...)
	s.recorded++
	s.keep(f.FlowID, off, len(s.scratch))
}

// keep records the flow kept at off in the block being filled, and
// writes the held flows out as a run when they reach the budget.
func (s *FlowSpill) keep(id uint64, off, n int) {
	s.held += n
	s.recs = append(s.recs, spillRec{id: id, blk: int32(s.cur), off: int32(off), len: int32(n)})
	s.n++
	if s.held+len(s.recs)*recOverhead >= s.budget {
		s.err = s.writeRun()
	}
}

// spillEncoded and spillRecord start a kept flow: its encoding follows, or
// its binary record. A flow whose encoding is longer than spillRecordOver
// bytes is kept as its record when that is less than half as long: the
// bytes written to the temporary file and read back cost more than
// encoding the flow again (for the JSON report of a million flows, 1.5 GB
// of pwrite took 2.8 s of CPU).
const (
	spillEncoded    = 'e'
	spillRecord     = 'r'
	spillLive       = 'l' // in the merge only: the uvarint index of a flow of FlowSpill.live
	spillRecordOver = 512
)

// recOverhead is the memory a held flow costs besides its bytes.
const recOverhead = 32

// AddLive adds the flows live at the end of the run (analyze.Result.Live,
// with loss.Config.DeferLive) to the flows Each merges: their records are
// built and encoded there, on every core, instead of being taken by Flow
// one by one at the end of the run, each kept while the others are. check,
// when not nil, is run over them at once, so that a flow the encoding
// refuses fails the output before a byte of it is written (as Flow
// encodes or checks every flow it takes): JSONLiveCheck for
// JSONFlowEncoding; CSVFlowEncoding refuses no flow. A nil l adds none.
func (s *FlowSpill) AddLive(l *loss.LiveFlows, check func(*loss.LiveFlows) error) {
	if s.err != nil || l.Len() == 0 {
		return
	}
	if check != nil {
		if s.err = check(l); s.err != nil {
			return
		}
	}
	s.live = l
	s.n += l.Len()
}

// JSONLiveCheck is JSONFlowCheck of every flow of l (loss.FlowJSON.CheckLive).
func JSONLiveCheck(l *loss.LiveFlows) error { return jsonFlows.CheckLive(l) }

// Len returns the number of flows taken, those AddLive added included.
func (s *FlowSpill) Len() int { return s.n }

// Err returns the first error of encoding or spilling the flows, so that a
// writer can fail before it writes anything.
func (s *FlowSpill) Err() error { return s.err }

// errSpillUsed is the error of a FlowSpill used after Each or Close.
var errSpillUsed = errors.New("report: FlowSpill used after Each or Close")

// sortRecs orders the held flows by flow id.
func (s *FlowSpill) sortRecs() {
	slices.SortFunc(s.recs, func(a, b spillRec) int { return cmp.Compare(a.id, b.id) })
}

// writeRun writes the held flows, sorted by flow id, to the file as one
// run: each as uvarint id, uvarint length, bytes.
func (s *FlowSpill) writeRun() error {
	if len(s.recs) == 0 {
		return nil
	}
	if s.file == nil {
		f, err := spillFile(s.dir, "gapan-flows-*")
		if err != nil {
			return fmt.Errorf("report: spilling flows: %w", err)
		}
		s.file = f
	}
	s.sortRecs()
	bw := bufio.NewWriterSize(io.NewOffsetWriter(s.file, s.size), 1<<20)
	var hdr [2 * binary.MaxVarintLen64]byte
	start := s.size
	for _, r := range s.recs {
		n := binary.PutUvarint(hdr[:], r.id)
		n += binary.PutUvarint(hdr[n:], uint64(r.len))
		bw.Write(hdr[:n])
		bw.Write(s.arena[r.blk][r.off : r.off+r.len])
		s.size += int64(n) + int64(r.len)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: spilling flows: %w", err)
	}
	s.runs = append(s.runs, spillSpan{start, s.size - start})
	for i := range s.arena {
		s.arena[i] = s.arena[i][:0]
	}
	s.cur, s.held, s.recs = 0, 0, s.recs[:0]
	return nil
}

// Each calls fn with the encoded flows sorted by flow id, then releases
// the FlowSpill. The bytes are valid only during the call. fn is called
// on one goroutine at a time, not always the caller's, and Each returns
// only after its last call.
func (s *FlowSpill) Each(fn func(b []byte) error) error {
	if s.err == nil && s.recorded+s.live.Len() >= parallelMin && runtime.GOMAXPROCS(0) > 1 {
		return s.eachParallel(fn)
	}
	live := s.live
	return s.eachRecord(func(rec []byte) error {
		b, err := decodeKept(rec, s.encode, live, &s.flow, s.scratch[:0])
		if err != nil {
			return err
		}
		if rec[0] != spillEncoded {
			s.scratch = b
		}
		return fn(b)
	})
}

// decodeKept returns the encoding of the kept flow rec: its own bytes
// after spillEncoded; after spillRecord, the flow read into f and
// encoded with encode, appended to dst; after spillLive, the flow of live
// it indexes, taken into f and encoded likewise.
func decodeKept(rec []byte, encode FlowEncoding, live *loss.LiveFlows, f *loss.Flow, dst []byte) ([]byte, error) {
	switch {
	case len(rec) > 0 && rec[0] == spillEncoded:
		return rec[1:], nil
	case len(rec) > 0 && rec[0] == spillLive:
		i, n := binary.Uvarint(rec[1:])
		if n <= 0 || n != len(rec)-1 || i >= uint64(live.Len()) {
			return nil, errSpillCorrupt
		}
		return encode(dst, live.Take(int(i), f))
	case len(rec) == 0 || rec[0] != spillRecord:
		return nil, errSpillCorrupt
	}
	// Its strings share rec's bytes, unchanged until the caller is done.
	if err := f.UnmarshalBinaryShared(rec[1:]); err != nil {
		return nil, fmt.Errorf("%w: %w", errSpillCorrupt, err)
	}
	return encode(dst, f)
}

// The parallel merge (eachParallel) hands the flows out in batches of
// eachBatchLen, at most eachInFlight batches per worker at once, and runs
// only for parallelMin flows kept as records or more: fewer are encoded
// in less time than the goroutines take to start.
const (
	eachBatchLen = 256
	eachInFlight = 2
	parallelMin  = 4 * eachBatchLen
)

// eachBatch is a run of consecutive flows of the merge: their kept bytes
// (copied: a run's bytes are read into a reused buffer) and, once done is
// closed, their encodings, up to the one that failed with err.
type eachBatch struct {
	in, out       []byte
	inEnd, outEnd []int
	err           error
	done          chan struct{}
}

// encode encodes the batch's flows with encode, using f to read them,
// and signals done.
func (b *eachBatch) encode(encode FlowEncoding, live *loss.LiveFlows, f *loss.Flow) {
	defer func() { b.done <- struct{}{} }()
	start := 0
	for _, end := range b.inEnd {
		rec := b.in[start:end]
		start = end
		if len(rec) > 0 && rec[0] == spillEncoded {
			b.out = append(b.out, rec[1:]...)
		} else if b.out, b.err = decodeKept(rec, encode, live, f, b.out); b.err != nil {
			return
		}
		b.outEnd = append(b.outEnd, len(b.out))
		if len(b.outEnd) == 1 && cap(b.out) < len(b.out)*eachBatchLen {
			// sized once for the batch from its first flow: grown by
			// append, the buffer of a batch of JSON flows was allocated
			// five times over
			b.out = slices.Grow(b.out, len(b.out)*eachBatchLen*9/8)
		}
	}
}

// eachParallel is Each with the flows encoded on every core: the merge
// (eachRecord, on its own goroutine) cuts the sorted flows into batches,
// workers encode the batches, and the caller's goroutine hands their
// encodings to fn in order. Its output and errors are Each's serial ones:
// fn gets the flows up to the first that fails, then Each returns that
// failure.
func (s *FlowSpill) eachParallel(fn func(b []byte) error) error {
	workers := runtime.GOMAXPROCS(0)
	n := workers * eachInFlight
	free := make(chan *eachBatch, n) // at most n batches in flight
	for range n {
		free <- &eachBatch{inEnd: make([]int, 0, eachBatchLen), outEnd: make([]int, 0, eachBatchLen), done: make(chan struct{}, 1)}
	}
	work, order := make(chan *eachBatch, n), make(chan *eachBatch, n)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	live := s.live // the merge's end releases s (Close)
	for range workers {
		wg.Go(func() {
			var f loss.Flow
			for b := range work {
				b.encode(s.encode, live, &f)
			}
		})
	}
	merged := make(chan error, 1)
	go func() {
		var b *eachBatch
		send := func() {
			order <- b // never blocks: n batches at most
			work <- b
			b = nil
		}
		err := s.eachRecord(func(rec []byte) error {
			if b == nil {
				select {
				case b = <-free:
				case <-stop:
					return errEachStopped
				}
				b.in, b.out, b.inEnd, b.outEnd, b.err = b.in[:0], b.out[:0], b.inEnd[:0], b.outEnd[:0], nil
			}
			if len(b.in) == 0 && cap(b.in) < len(rec)*eachBatchLen {
				b.in = slices.Grow(b.in, len(rec)*eachBatchLen*9/8) // sized once, as out
			}
			b.in = append(b.in, rec...)
			b.inEnd = append(b.inEnd, len(b.in))
			if len(b.inEnd) == eachBatchLen {
				send()
			}
			return nil
		})
		if b != nil {
			send()
		}
		close(work)
		close(order)
		merged <- err
	}()
	var err error
	stopped := false
	for b := range order {
		<-b.done
		start := 0
		for _, end := range b.outEnd {
			if err != nil {
				break
			}
			err = fn(b.out[start:end])
			start = end
		}
		if err == nil {
			err = b.err
		}
		if err != nil && !stopped {
			close(stop) // the merge stops; the batches sent are drained
			stopped = true
		}
		free <- b
	}
	wg.Wait()
	if merr := <-merged; err == nil && merr != errEachStopped {
		err = merr
	}
	return err
}

// errEachStopped ends the merge of eachParallel when fn has failed.
var errEachStopped = errors.New("report: merge stopped")

// eachRecord calls fn with the kept flows (spillEncoded, spillRecord)
// sorted by flow id, then releases the FlowSpill.
func (s *FlowSpill) eachRecord(fn func(rec []byte) error) error {
	defer s.Close()
	if s.err != nil {
		return s.err
	}
	s.sortRecs()
	h := &spillHeap{}
	if len(s.recs) > 0 {
		h.srcs = append(h.srcs, &spillSource{mem: s})
	}
	if s.live.Len() > 0 {
		h.srcs = append(h.srcs, &spillSource{live: s.live})
	}
	for _, run := range s.runs {
		// A small buffer per run: a capture with thousands of runs
		// merges them all at once.
		r := bufio.NewReaderSize(io.NewSectionReader(s.file, run.off, run.len), 16<<10)
		h.srcs = append(h.srcs, &spillSource{r: r})
	}
	for i := 0; i < len(h.srcs); {
		ok, err := h.srcs[i].next()
		if err != nil {
			return err
		}
		if !ok {
			h.srcs = slices.Delete(h.srcs, i, i+1)
			continue
		}
		i++
	}
	heap.Init(h)
	for h.Len() > 0 {
		src := h.srcs[0]
		if err := fn(src.cur); err != nil {
			return err
		}
		ok, err := src.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	return nil
}

// Close releases the memory and the temporary file; the FlowSpill cannot
// be used afterwards.
func (s *FlowSpill) Close() error {
	if s == nil {
		return nil
	}
	s.arena, s.recs, s.runs, s.scratch, s.live = nil, nil, nil, nil, nil
	if s.err == nil {
		s.err = errSpillUsed
	}
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	s.file = nil
	return err
}

// spillSource is one sorted sequence of encoded flows: the held ones, or
// a run in the file.
type spillSource struct {
	mem  *FlowSpill      // the held flows, at mem.recs[i]
	live *loss.LiveFlows // or the live ones, the i-th as spillLive, i
	i    int             //
	r    *bufio.Reader   // a run
	buf  []byte
	id   uint64
	cur  []byte
}

var errSpillCorrupt = errors.New("report: spilled flows do not read back")

// next moves to the source's next flow; false at its end.
func (src *spillSource) next() (bool, error) {
	if src.mem != nil {
		if src.i == len(src.mem.recs) {
			return false, nil
		}
		r := src.mem.recs[src.i]
		src.i++
		src.id, src.cur = r.id, src.mem.arena[r.blk][r.off:r.off+r.len]
		return true, nil
	}
	if src.live != nil {
		if src.i == src.live.Len() {
			return false, nil
		}
		src.id = src.live.ID(src.i)
		src.buf = binary.AppendUvarint(append(src.buf[:0], spillLive), uint64(src.i))
		src.cur = src.buf
		src.i++
		return true, nil
	}
	id, err := binary.ReadUvarint(src.r)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: %w", errSpillCorrupt, err)
	}
	n, err := binary.ReadUvarint(src.r)
	if err != nil {
		return false, fmt.Errorf("%w: %w", errSpillCorrupt, err)
	}
	if n > 1<<30 {
		return false, fmt.Errorf("%w: record of %d bytes", errSpillCorrupt, n)
	}
	src.buf = slices.Grow(src.buf[:0], int(n))[:n]
	if _, err := io.ReadFull(src.r, src.buf); err != nil {
		return false, fmt.Errorf("%w: %w", errSpillCorrupt, err)
	}
	src.id, src.cur = id, src.buf
	return true, nil
}

// spillHeap orders the sources by their current flow id.
type spillHeap struct{ srcs []*spillSource }

func (h *spillHeap) Len() int           { return len(h.srcs) }
func (h *spillHeap) Less(i, j int) bool { return h.srcs[i].id < h.srcs[j].id }
func (h *spillHeap) Swap(i, j int)      { h.srcs[i], h.srcs[j] = h.srcs[j], h.srcs[i] }
func (h *spillHeap) Push(x any)         { h.srcs = append(h.srcs, x.(*spillSource)) }
func (h *spillHeap) Pop() any {
	x := h.srcs[len(h.srcs)-1]
	h.srcs = h.srcs[:len(h.srcs)-1]
	return x
}
