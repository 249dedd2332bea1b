// Package report runs gapan's pipeline over a capture (or a rotated set of
// captures) and its sidecar, and renders the loss accounting as text, JSON,
// CSV, NDJSON, Markdown or HTML.
package report
