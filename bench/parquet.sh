#!/bin/sh
# bench/parquet.sh: time `gapan parquet` against `gapan report` on the same
# capture, side by side, and report frames/s and peak RSS (docs/performance.md).
#
#   bench/parquet.sh [CAPTURE] [RUNS]
#
# Without CAPTURE it generates the 1 GB bench capture (3M frames, 50k flows,
# 1% simulated loss) under ${TMPDIR:-/tmp}.
set -eu
cd "$(dirname "$0")/.."
tmp=${TMPDIR:-/tmp}
work=$(mktemp -d "$tmp/gapan-parquet-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cap=${1:-}
runs=${2:-3}
go build -o "$work/gapan" ./cmd/gapan
if [ -z "$cap" ]; then
	cap=$tmp/gapan-parquet-bench-1g.pcap
	if [ ! -f "$cap" ]; then
		go run ./bench/gencap -flows 50000 -frames 3000000 -payload 500 -o "$tmp/gapan-parquet-bench-1g-raw.pcap"
		"$work/gapan" simulate "$tmp/gapan-parquet-bench-1g-raw.pcap" -o "$cap" --loss-model uniform:0.01 --seed 1 --force
		rm -f "$tmp/gapan-parquet-bench-1g-raw.pcap"
	fi
fi
measure() { # label, command...
	label=$1; shift
	/usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>&1
	read -r secs rss <"$work/time"
	echo "$label $secs $rss"
}
frames=$("$work/gapan" report "$cap" --format json | sed -n 's/.*"frames_captured": *\([0-9]*\).*/\1/p' | head -1)
echo "capture: $cap ($(wc -c <"$cap") bytes, $frames frames)"
printf '%-8s %8s %10s %12s\n' run seconds peak_MB frames/s
for i in $(seq "$runs"); do
	for m in report parquet; do
		if [ $m = report ]; then
			r=$(measure report "$work/gapan" report "$cap" -o "$work/report.txt" --force)
		else
			r=$(measure parquet "$work/gapan" parquet "$cap" -o "$work/ds" --force)
		fi
		echo "$r" | awk -v f="$frames" '{printf "%-8s %8.2f %10.0f %12.0f\n", $1, $2, $3/1024, f/$2}'
	done
done
