// Package accuracy holds the differential accuracy suite (tests only): it
// deletes frames from every corpus capture with TCP or RTP by `gapan
// simulate`'s loss models, runs gapan on the damaged capture (with and
// without the ground-truth sidecar) and on the original, and holds the
// difference against the independent oracle of internal/oracle. The
// results table lives in docs/accuracy.md; regenerate it with
//
//	go test ./accuracy -run TestAccuracy -update-doc
package accuracy
