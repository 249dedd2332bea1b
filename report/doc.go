// Package report renders the result of a run of gapan's pipeline
// (analyze.Run) as text, JSON, CSV, NDJSON, Markdown or HTML. It runs
// nothing itself.
//
// A run with loss.Config{KeepFlows: true, KeepGaps: true} keeps every flow
// and gap of the capture in the analyze.Result, which every writer accepts. For
// captures with millions of flows or gaps, each output can instead keep
// only what it shows, through the run's loss.Config.OnFlow and OnGap, as
// the gapan command does:
//
//   - JSON: a GapSpill and a FlowSpill (NewFlowSpillChecked with
//     JSONFlowEncoding and JSONFlowCheck), written with
//     WriteJSONSpilled; CSV: a FlowSpill (CSVFlowEncoding), WriteCSVFlows.
//     They spill to an unlinked temporary file beyond their budgets. The
//     flows live at the end of the run are deferred
//     (loss.Config.DeferLive) and added with FlowSpill.AddLive: built and
//     encoded as the report is written, on every core.
//   - Text and Markdown: KeepTop and a LargestGaps (Options.LargestGaps).
//   - HTML: HTMLFlows (HTMLOptions.Flows) and a LargestGaps.
//   - NDJSON: NDJSONWriter streams the flows, and writes those live at
//     the end (deferred, as JSON's) in Finish.
//
// The outputs are the same, byte for byte, either way. NewOutput returns
// the format's choice of these, as the gapan command runs it:
//
//	out, err := report.NewOutput("json", w, report.DefaultOptions())
//	out.Hook(&cfg) // cfg: the run's analyze.Config
//	r, err := analyze.Run(cfg)
//	err = out.Write(r) // then out.Close(), and out.Notes(r) on stderr
package report
