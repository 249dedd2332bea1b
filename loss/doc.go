// Package loss is gapan's loss accounting: capture-wide totals, the gap
// list, per-flow loss during each flow's lifetime, and the TCP and RTP
// sequence evidence that tells capture loss from upstream loss. Every
// output of gapan (report formats, Parquet, annotate, sidecar check) takes
// its numbers from here; the definitions are in docs/metrics.md.
package loss
