// Package report runs gapan's pipeline over a capture (or a rotated set of
// captures) and its sidecar, and renders the loss accounting as text, JSON,
// CSV, NDJSON, Markdown or HTML.
//
// Run with loss.Config{KeepFlows: true, KeepGaps: true} keeps every flow
// and gap of the capture in the Report, which every writer accepts. For
// captures with millions of flows or gaps, each output can instead keep
// only what it shows, through the run's loss.Config.OnFlow and OnGap, as
// the gapan command does:
//
//   - JSON: a GapSpill and a FlowSpill (JSONFlowEncoding), written with
//     WriteJSONSpilled; CSV: a FlowSpill (CSVFlowEncoding), WriteCSVFlows.
//     They spill to an unlinked temporary file beyond their budgets.
//   - Text and Markdown: KeepTop and a LargestGaps (Options.LargestGaps).
//   - HTML: HTMLFlows (HTMLOptions.Flows) and a LargestGaps.
//   - NDJSON: NDJSONWriter streams the flows.
//
// The outputs are the same, byte for byte, either way.
package report
