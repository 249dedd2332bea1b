package parquet

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/gapan/gapan/loss"
)

// MirrorSessionsTable is the fourth table of a dataset, written only for a
// capture with mirror sessions (ERSPAN, sequenced GRE): one row per
// session, with the figures of the report's mirror_sessions under the
// same names (docs/metrics.md).
const MirrorSessionsTable = "mirror_sessions"

// Mirror sessions columns, in schema order.
const (
	mKind = iota
	mSrc
	mDst
	mSessionID
	mFrames
	mFirstFrame
	mLastFrame
	mFirstTs
	mLastTs
	mFirstTsNs
	mLastTsNs
	mFirstSeq
	mLastSeq
	mMissing
	mCaptureLost
	mMirrorLost
	mLate
	mDuplicates
	mRestarts
)

// MirrorSessionsSchema returns the schema of the mirror_sessions table
// (docs/parquet.md). capture_lost and mirror_lost are null for a session
// with frames from a capture without a loss record.
func MirrorSessionsSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		field("kind", str, false),
		field("src", str, false),
		field("dst", str, false),
		field("session_id", i64, false),
		field("frames", i64, false),
		field("first_frame", i64, false),
		field("last_frame", i64, false),
		field("first_ts", tsType, false),
		field("last_ts", tsType, false),
		field("first_ts_ns", i64, false),
		field("last_ts_ns", i64, false),
		field("first_seq", i64, false),
		field("last_seq", i64, false),
		field("missing", i64, false),
		field("capture_lost", i64, true),
		field("mirror_lost", i64, true),
		field("late", i64, false),
		field("duplicates", i64, false),
		field("restarts", i64, false),
	}, nil)
}

// WriteMirrorSessions writes sessions as one Parquet file of the
// mirror_sessions table to w, with the key/value metadata meta.
func WriteMirrorSessions(w io.Writer, sessions []loss.MirrorSession, meta [][2]string) error {
	t, err := newTable(w, MirrorSessionsSchema(), max(len(sessions), 1))
	if err != nil {
		return err
	}
	t.meta = meta
	rb := t.rb
	i64s := func(col int, v int64) { rb.Field(col).(*array.Int64Builder).Append(v) }
	for i := range sessions {
		s := &sessions[i]
		rb.Field(mKind).(*array.StringBuilder).Append(s.Kind)
		rb.Field(mSrc).(*array.StringBuilder).Append(s.Src.String())
		rb.Field(mDst).(*array.StringBuilder).Append(s.Dst.String())
		i64s(mSessionID, int64(s.ID))
		i64s(mFrames, int64(s.Frames))
		i64s(mFirstFrame, int64(s.FirstFrame))
		i64s(mLastFrame, int64(s.LastFrame))
		rb.Field(mFirstTs).(*array.TimestampBuilder).Append(micros(s.FirstNs))
		rb.Field(mLastTs).(*array.TimestampBuilder).Append(micros(s.LastNs))
		i64s(mFirstTsNs, s.FirstNs)
		i64s(mLastTsNs, s.LastNs)
		i64s(mFirstSeq, int64(s.FirstSeq))
		i64s(mLastSeq, int64(s.LastSeq))
		i64s(mMissing, int64(s.Missing))
		if s.LossNotRecorded {
			rb.Field(mCaptureLost).(*array.Int64Builder).AppendNull()
			rb.Field(mMirrorLost).(*array.Int64Builder).AppendNull()
		} else {
			i64s(mCaptureLost, int64(s.CaptureLost))
			i64s(mMirrorLost, int64(s.MirrorLost))
		}
		i64s(mLate, int64(s.Late))
		i64s(mDuplicates, int64(s.Duplicates))
		i64s(mRestarts, int64(s.Restarts))
		if err := t.endRow(); err != nil {
			break
		}
	}
	return t.close()
}

// writeMirrorSessions writes the mirror_sessions part file of a capture of
// a dataset being built under root (partition part, "" for none), when
// its run found mirror sessions.
func writeMirrorSessions(root, part string, sessions []loss.MirrorSession, meta [][2]string) error {
	if len(sessions) == 0 {
		return nil
	}
	d := filepath.Join(root, MirrorSessionsTable, part)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(d, PartFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	err = WriteMirrorSessions(f, sessions, meta)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("parquet: %s: %w", MirrorSessionsTable, err)
	}
	return nil
}
