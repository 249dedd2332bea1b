// Package parquet writes gapan's analysis as a Parquet dataset of three
// tables that pandas, polars, DuckDB and Spark open directly:
//
//   - frames: one row per captured frame, with the frames lost just before
//     it, its flow and the decoded header fields;
//   - gaps: one row per gap, plus one "tail" row per interface for what was
//     lost after the last frame;
//   - flows: one row per flow with every per-flow figure of the report,
//     under the names of the report's JSON (docs/metrics.md).
//
// The numbers are the report's numbers: the Writer is fed by analyze.Run's
// Frame and OnFlow callbacks, so nothing is decoded or counted twice. The
// schema is in docs/parquet.md.
//
// WriteDataset does the whole job for one or several captures; it writes
// into a temporary directory renamed into place on success:
//
//	res, err := parquet.WriteDataset("out", []string{"capture.pcap"}, parquet.Options{})
//	// out/frames/part-0.parquet, out/gaps/part-0.parquet, out/flows/part-0.parquet
//
// Several captures are processed in parallel, each with its own sidecar
// and its own accounting, into hive partitions
// (out/frames/capture=NAME/part-0.parquet, ...).
//
// Writer is the streaming piece underneath, for callers that run the
// pipeline themselves.
package parquet
