#!/usr/bin/env bash
# bench/pgo.sh: remakes cmd/gapan/default.pgo, the CPU profile the Go
# compiler optimizes gapan with (profile-guided optimization: `go build`
# and `go install` of ./cmd/gapan use it by themselves; see
# docs/performance.md, "Profile-guided optimization").
#
# The profile is gapan's own work on the three generated bench captures
# (uniform, round-robin and Zipf flow orders, made by bench/run.sh or
# here): `gapan report` as text (six runs each: the runs are short), json
# and csv, and `gapan parquet` (two runs each), under bench/reportprof and
# bench/parquetprof, merged into one profile.
#
#   bash bench/pgo.sh              # captures in /tmp/gapan-bench
#   BENCH_DIR=/somewhere bash bench/pgo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${BENCH_DIR:-/tmp/gapan-bench}
mkdir -p "$DIR"
work=$(mktemp -d "${TMPDIR:-/tmp}/gapan-pgo.XXXXXX")
trap 'rm -rf "$work"' EXIT

go build -o "$work/gencap" ./bench/gencap
go build -o "$work/reportprof" ./bench/reportprof
go build -o "$work/parquetprof" ./bench/parquetprof
for order in uniform roundrobin zipf; do
	f=$DIR/gen-50k-$order.pcap
	[ -s "$f" ] || "$work/gencap" -flows 50000 -frames 3000000 -payload 500 -order $order -o "$f"
	for i in 1 2 3 4 5 6; do
		"$work/reportprof" -cpuprofile "$work/report-$order-$i.prof" "$f" >/dev/null
	done
	for i in 1 2; do
		"$work/reportprof" -format json -cpuprofile "$work/json-$order-$i.prof" "$f" >/dev/null
		"$work/reportprof" -format csv -cpuprofile "$work/csv-$order-$i.prof" "$f" >/dev/null
		"$work/parquetprof" -cpuprofile "$work/parquet-$order-$i.prof" "$f" >/dev/null
	done
done
go tool pprof -proto "$work"/*.prof >"$work/default.pgo"
mv "$work/default.pgo" cmd/gapan/default.pgo
echo "cmd/gapan/default.pgo: $(stat -c %s cmd/gapan/default.pgo) bytes from $(ls "$work"/*.prof | wc -l) profiles"
