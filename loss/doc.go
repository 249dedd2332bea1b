// Package loss is gapan's loss accounting: capture-wide totals, the gap
// list, per-flow loss during each flow's lifetime, the TCP and RTP
// sequence evidence that tells capture loss from upstream loss, and the
// mirror sessions' (ERSPAN, sequenced GRE) that tells it from loss on the
// mirror path (mirror.go). Every
// output of gapan (report formats, Parquet, annotate, sidecar check) takes
// its numbers from here; the definitions are in docs/metrics.md.
package loss
