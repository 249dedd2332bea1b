package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/plural"
	"github.com/gapan/gapan/loss"
)

// mirrorSplit formats a session's (or the totals') capture and mirror
// loss: "unknown" each when the loss was not recorded.
func mirrorSplit(capture, mirror uint64, notRecorded bool) (string, string) {
	if notRecorded {
		return "unknown", "unknown"
	}
	return num(capture), num(mirror)
}

// mirrorOrder lists sessions most missing numbers first, then by first
// frame.
func mirrorOrder(sessions []loss.MirrorSession) []loss.MirrorSession {
	out := slices.Clone(sessions)
	slices.SortStableFunc(out, func(a, b loss.MirrorSession) int {
		if c := cmp.Compare(b.Missing, a.Missing); c != 0 {
			return c
		}
		return cmp.Compare(a.FirstFrame, b.FirstFrame)
	})
	return out
}

// mirrorSection is the mirror sessions' block of the text and Markdown
// reports, nil when the capture has no mirror session.
func mirrorSection(r *analyze.Result, opt Options) *section {
	s := r.Summary
	if len(s.MirrorSessions) == 0 {
		return nil
	}
	t := &s.Mirror
	sec := &section{title: "Mirror sessions (ERSPAN, sequenced GRE): loss between the switch and the capture host"}
	add := func(k, v string) { sec.kv = append(sec.kv, [2]string{k, v}) }
	add("sessions", num(t.Sessions))
	add("mirrored frames", num(t.Frames))
	capture, mirror := mirrorSplit(t.CaptureLost, t.MirrorLost, t.LossNotRecorded)
	switch {
	case t.Missing == 0:
		add("missing", "0: every sequence number arrived")
	case t.LossNotRecorded:
		add("missing", fmt.Sprintf("%s: no record of the capture's loss, so whether the capture or the mirror path lost them is unknown", plural.CountOf(t.Missing, "frame", "frames")))
	default:
		add("missing", plural.CountOf(t.Missing, "frame", "frames"))
	}
	add("  capture lost", capture+" (inside recorded gaps: the capture dropped them)")
	add("  mirror lost", mirror+" (no recorded gap explains them: lost between the switch and the capture host)")
	add("late", num(t.Late))
	add("duplicates", num(t.Duplicates))
	add("restarts", num(t.Restarts))
	if t.Untracked > 0 {
		add("untracked", fmt.Sprintf("%s of sessions beyond the %s tracked", plural.CountOf(t.Untracked, "frame", "frames"), num(loss.MaxMirrorSessions)))
	}
	if opt.Top == 0 {
		return sec
	}
	list := mirrorOrder(s.MirrorSessions)
	shown := min(len(list), opt.Top)
	tb := &table{
		header: []string{"KIND", "SWITCH", "COLLECTOR", "SESSION", "FRAMES", "MISSING", "CAPTURE LOST", "MIRROR LOST", "LATE", "DUPLICATES", "RESTARTS"},
		right:  []bool{false, false, false, true, true, true, true, true, true, true, true},
	}
	for _, m := range list[:shown] {
		c, ml := mirrorSplit(m.CaptureLost, m.MirrorLost, m.LossNotRecorded)
		tb.rows = append(tb.rows, []string{m.Kind, m.Src.String(), m.Dst.String(), strconv.FormatUint(uint64(m.ID), 10),
			num(m.Frames), num(m.Missing), c, ml, num(m.Late), num(m.Duplicates), num(m.Restarts)})
	}
	sec.table = tb
	sec.note = "SESSION is the ERSPAN session id, or the GRE key; MISSING counts sequence numbers that never arrived (docs/metrics.md, mirror sessions)."
	if shown < len(list) {
		sec.note += fmt.Sprintf(" The %d sessions missing most are listed, of %s; the JSON report has them all.", shown, num(uint64(len(list))))
	}
	return sec
}

// mirrorHTML returns the HTML report's mirror sessions block: the totals'
// cards, a note, and the sessions table (most missing first, at most
// maxRows). No cards and no rows when the capture has no session.
func mirrorHTML(sessions []loss.MirrorSession, t loss.MirrorTotals, maxRows int) ([]htmlCard, string, []htmlCol, []htmlRow) {
	if len(sessions) == 0 {
		return nil, "", nil, nil
	}
	card := func(label, field string, n uint64, sub string) htmlCard {
		return htmlCard{Label: label, Field: "summary.mirror." + field, Value: u(n), Shown: num(n), Sub: sub}
	}
	split := func(c *htmlCard) {
		if t.LossNotRecorded {
			c.Value, c.Shown, c.Sub = "null", "unknown", "no record of the capture's loss"
		}
	}
	capture := card("lost by the capture", "capture_lost", t.CaptureLost, "inside recorded gaps")
	mirror := card("mirror lost", "mirror_lost", t.MirrorLost, "between the switch and the capture host")
	split(&capture)
	split(&mirror)
	mirror.Warn = t.MirrorLost > 0
	cards := []htmlCard{
		card("sessions", "sessions", t.Sessions, ""),
		card("mirrored frames", "frames", t.Frames, ""),
		card("missing", "missing", t.Missing, "sequence numbers that never arrived"),
		capture, mirror,
		card("late", "late", t.Late, "reordered"),
		card("duplicates", "duplicates", t.Duplicates, ""),
		card("restarts", "restarts", t.Restarts, "numbering started over"),
	}
	cols := []htmlCol{
		{Label: "kind", Field: "kind"},
		{Label: "switch", Field: "src"},
		{Label: "collector", Field: "dst"},
		{Label: "session", Field: "session_id", Num: true, Title: "ERSPAN session id, or GRE key"},
		{Label: "frames", Field: "frames", Num: true},
		{Label: "missing", Field: "missing", Num: true},
		{Label: "capture lost", Field: "capture_lost", Num: true, Title: "missing numbers inside recorded gaps"},
		{Label: "mirror lost", Field: "mirror_lost", Num: true, Title: "missing numbers no recorded gap explains: lost between the switch and the capture host"},
		{Label: "late", Field: "late", Num: true},
		{Label: "duplicates", Field: "duplicates", Num: true},
		{Label: "restarts", Field: "restarts", Num: true},
	}
	list := mirrorOrder(sessions)
	shown := min(len(list), maxRows)
	note := fmt.Sprintf("All %s sessions, most missing first.", num(uint64(len(list))))
	if shown < len(list) {
		note = fmt.Sprintf("The %s sessions missing most, of %s; the JSON report has them all.", num(uint64(shown)), num(uint64(len(list))))
	}
	rows := make([]htmlRow, 0, shown)
	for _, m := range list[:shown] {
		nc := func(n uint64, field string) htmlCell {
			return htmlCell{Shown: num(n), Sort: u(n), Field: field, Num: true}
		}
		str := func(s, field string) htmlCell { return htmlCell{Shown: s, Sort: s, Field: field} }
		c, ml := nc(m.CaptureLost, "capture_lost"), nc(m.MirrorLost, "mirror_lost")
		if m.LossNotRecorded {
			c.Shown, c.Sort, ml.Shown, ml.Sort = "unknown", "null", "unknown", "null"
		}
		rows = append(rows, htmlRow{Key: u(m.FirstFrame), Cells: []htmlCell{
			str(m.Kind, "kind"), str(m.Src.String(), "src"), str(m.Dst.String(), "dst"),
			{Shown: u(uint64(m.ID)), Sort: u(uint64(m.ID)), Field: "session_id", Num: true}, // an id: no thousands separator
			nc(m.Frames, "frames"), nc(m.Missing, "missing"), c, ml,
			nc(m.Late, "late"), nc(m.Duplicates, "duplicates"), nc(m.Restarts, "restarts"),
		}})
	}
	return cards, note, cols, rows
}
