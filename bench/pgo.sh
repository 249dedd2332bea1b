#!/bin/sh
# bench/pgo.sh: write cmd/gapan/default.pgo, the CPU profile that `go
# build` uses by itself to optimise the gapan binary (profile-guided
# optimisation: https://go.dev/doc/pgo). The profile is gapan's own work
# on the generated bench captures of bench/run.sh, uniform and Zipf:
# `gapan report` (text, bench/reportprof) twice on each and `gapan
# parquet` (bench/parquetprof) once on each, merged. Run it again when the
# hot paths change: the compiler matches the profile's calls by their
# line within the function, so a line added or removed in a hot function
# loses the calls below it (one line out of loss.Engine.addKeyed cost the
# report 1.023 of its time until the profile was written again;
# docs/performance.md, round 8).
#
#   bench/pgo.sh            # captures in ${BENCH_DIR:-/tmp/gapan-bench}
set -eu
cd "$(dirname "$0")/.."
DIR=${BENCH_DIR:-/tmp/gapan-bench}
mkdir -p "$DIR"
work=$(mktemp -d "${TMPDIR:-/tmp}/gapan-pgo.XXXXXX")
trap 'rm -rf "$work"' EXIT
go build -o "$work/gencap" ./bench/gencap
go build -o "$work/reportprof" ./bench/reportprof
go build -o "$work/parquetprof" ./bench/parquetprof
for order in uniform zipf; do
	f=$DIR/gen-50k-$order.pcap
	[ -s "$f" ] || "$work/gencap" -flows 50000 -frames 3000000 -payload 500 -order $order -o "$f"
	cat "$f" >/dev/null
	for i in 1 2; do
		"$work/reportprof" -cpuprofile "$work/report-$order-$i.pprof" "$f" >/dev/null
	done
	"$work/parquetprof" -cpuprofile "$work/parquet-$order.pprof" "$f" >/dev/null
done
go tool pprof -proto "$work"/*.pprof >"$work/default.pgo"
mv "$work/default.pgo" cmd/gapan/default.pgo
echo "wrote cmd/gapan/default.pgo ($(wc -c <cmd/gapan/default.pgo) bytes)"
