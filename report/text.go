package report

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gapan/gapan/analyze"
)

// WriteText writes r as a report for people: a line on how to read it, the
// capture summary, the TCP evidence, the largest gaps in words, the seconds
// with loss, the flows that lost most (aligned tables, human units) and the
// warnings.
func WriteText(w io.Writer, r *analyze.Result, opt Options) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(howToRead + "\n")
	for _, s := range sections(r, opt) {
		bw.WriteString("\n" + s.title + "\n")
		keyW := 0
		for _, kv := range s.kv {
			keyW = max(keyW, utf8.RuneCountInString(kv[0]))
		}
		for _, kv := range s.kv {
			bw.WriteString("  " + pad(kv[0], keyW, false) + "  " + kv[1] + "\n")
		}
		for i, item := range s.list {
			bw.WriteString("  " + pad(strconv.Itoa(i+1)+".", len(strconv.Itoa(len(s.list)))+1, true) + " " + item + "\n")
		}
		if s.table != nil {
			writeTextTable(bw, s.table)
		}
		if s.note != "" {
			bw.WriteString("  " + s.note + "\n")
		}
	}
	return bw.Flush()
}

// pad pads s with spaces to width w, on the left when right is set.
func pad(s string, w int, right bool) string {
	n := w - utf8.RuneCountInString(s)
	if n <= 0 {
		return s
	}
	if right {
		return strings.Repeat(" ", n) + s
	}
	return s + strings.Repeat(" ", n)
}

func writeTextTable(bw *bufio.Writer, t *table) {
	widths := make([]int, len(t.header))
	for i, h := range t.header {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, row := range t.rows {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range cells {
			if i > 0 {
				b.WriteString("  ")
			}
			if i == len(cells)-1 && !t.right[i] {
				b.WriteString(c)
			} else {
				b.WriteString(pad(c, widths[i], t.right[i]))
			}
		}
		bw.WriteString(strings.TrimRight(b.String(), " ") + "\n")
	}
	line(t.header)
	for _, row := range t.rows {
		line(row)
	}
}
