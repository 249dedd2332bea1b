// Package analyze runs gapan's pipeline over a capture (or a rotated set
// of captures read in order as one) and its sidecar: it reads and joins
// the frames with their gaps (join), and hands each to the loss
// accounting (loss.Engine), which decodes it, finds its flow and books
// its loss. Every output of gapan (report, parquet, annotate's fates,
// infer's evidence) is fed by one Run:
//
//	r, err := analyze.Run(analyze.Config{
//		Captures:    []string{"cap.pcap"},
//		KernelDrops: -1,
//		Engine:      loss.Config{KeepFlows: true, KeepGaps: true, IdleTimeout: loss.DefaultIdleTimeout},
//	})
//	// r.Summary: totals, per-flow sums, timeline, gaps, flows
//
// Outputs that must stay in bounded memory on captures with millions of
// flows or gaps take them as they become final through Engine.OnFlow and
// Engine.OnGap, and every frame through Frame, instead of keeping them.
//
// Run reads, joins and decodes on one goroutine while the calling one does
// the accounting (Config.Workers); the figures are the same, byte for
// byte, as on the one-goroutine reference path.
package analyze
