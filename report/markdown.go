package report

import (
	"bufio"
	"io"
	"strconv"
	"strings"

	"github.com/gapan/gapan/analyze"
)

// WriteMarkdown writes r as Markdown (GitHub flavour): the same content as
// WriteText, with key/value blocks and tables as Markdown tables.
func WriteMarkdown(w io.Writer, r *analyze.Result, opt Options) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("# gapan report\n\n")
	bw.WriteString("_" + mdEscape(howToRead) + "_\n")
	for _, s := range sections(r, opt) {
		bw.WriteString("\n## " + mdEscape(s.title) + "\n\n")
		if len(s.kv) > 0 {
			bw.WriteString("| | |\n|---|---|\n")
			for _, kv := range s.kv {
				k := strings.TrimLeft(kv[0], " ")
				if k != kv[0] {
					k = "↳ " + k
				}
				bw.WriteString("| " + mdEscape(k) + " | " + mdEscape(kv[1]) + " |\n")
			}
		}
		for i, item := range s.list {
			bw.WriteString(strconv.Itoa(i+1) + ". " + mdEscape(item) + "\n")
		}
		if t := s.table; t != nil {
			if len(s.kv) > 0 {
				bw.WriteString("\n") // two tables need a line between them
			}
			bw.WriteString("| " + strings.Join(mdRow(t.header), " | ") + " |\n|")
			for _, r := range t.right {
				if r {
					bw.WriteString("---:|")
				} else {
					bw.WriteString("---|")
				}
			}
			bw.WriteString("\n")
			for _, row := range t.rows {
				bw.WriteString("| " + strings.Join(mdRow(row), " | ") + " |\n")
			}
		}
		if s.note != "" {
			if s.table != nil || len(s.kv) > 0 {
				bw.WriteString("\n")
			}
			bw.WriteString(mdEscape(s.note) + "\n")
		}
	}
	return bw.Flush()
}

func mdRow(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = mdEscape(c)
	}
	return out
}

// mdEscape escapes the characters that would break a Markdown table or
// start emphasis.
var mdEscape = strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;", ">", "&gt;").Replace
