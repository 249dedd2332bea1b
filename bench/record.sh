#!/usr/bin/env bash
# bench/record.sh: gapan record side by side with tcpdump (and dumpcap if
# installed) on the same traffic: two network namespaces it creates and
# removes, joined by a veth pair; bench/udpsend sends numbered UDP datagrams
# from one, the recorder captures in the other; sender and recorder are
# pinned to different CPUs (taskset). bench/recordcheck finds the truth in
# each pcap from the sequence numbers, and checks every gapan sidecar record
# against the holes. Needs root, ip, nft, taskset, tcpdump.
#
#   sudo bash bench/record.sh                 # the whole matrix, 3 runs
#   RUNS=1 N=100000 sudo bash bench/record.sh # quicker
#   GAPAN=/path/to/gapan ...                  # an already built gapan
#   RECORDERS="gapan tcpdump" ...             # a subset
#   GAPAN_OLD=/path/to/old/gapan RECORDERS="gapan gapan-old tcpdump" ...
#                                             # an older gapan alongside
#   NICE=-15 ...                              # sender and recorder at nice -15,
#                                             # on a machine shared with other work
#   RECORDERS="gapan recvfloor recvfloor-cmsg tcpdump" ...
#                                             # the floor of the exact path
#
# recvfloor (bench/recvfloor) receives as gapan does (recvmmsg, SO_RXQ_OVFL,
# the same buffer, batch and hold-off) and does nothing else: no output, no
# parsing but the drop count; recvfloor-cmsg also enables gapan's other two
# control messages (SO_TIMESTAMPNS, PACKET_AUXDATA); recvfloor-blocking
# waits in a blocking recvmmsg, as gapan did before. Their "captured" is
# their own count of frames, checked against the sender's N: their Σ gaps +
# tail must equal N - captured.
#
# Tests, each with 64- and 1,400-byte payloads, N datagrams:
#   rate   50 k/s, 150 k/s and flat out (rate 0), -B 4 MiB for every recorder
#   stall  50 k/s, default buffers, the recorder stopped (SIGSTOP) for 2 s
#          after 1 s and then continued (SIGCONT)
# Runs are alternated: run r starts with a different recorder. Each line of
# $DIR/results.tsv is one run; the summary prints medians per recorder.
# CPU is user+system seconds of the recorder process (its rusage, to the
# microsecond: bench/cputime). On a
# 2-core machine shared with other work the figures are noisy: compare
# medians, not single runs.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${BENCH_DIR:-/tmp/gapan-record-bench}
# The captures go to a tmpfs, so that a disk shared with other work does not
# decide who loses frames; BENCH_OUT=/some/disk/dir measures with the disk.
OUT=${BENCH_OUT:-/dev/shm/gapan-record-bench-$$}
RUNS=${RUNS:-3}
N=${N:-300000}
SIZES=${SIZES:-"64 1400"}
RATES=${RATES:-"50000 150000 0"}
STALL=${STALL:-1}
NICE=${NICE:-0}
[ "$(id -u)" = 0 ] || { echo "bench/record.sh: needs root (namespaces, packet sockets)" >&2; exit 1; }
for tool in ip nft taskset tcpdump; do
	command -v "$tool" >/dev/null || { echo "bench/record.sh: $tool is missing" >&2; exit 1; }
done
mkdir -p "$DIR" "$OUT"
if [ -z "${GAPAN:-}" ]; then
	go build -o "$DIR/gapan" ./cmd/gapan
	GAPAN=$DIR/gapan
fi
go build -o "$DIR/udpsend" ./bench/udpsend
go build -o "$DIR/recordcheck" ./bench/recordcheck
go build -o "$DIR/recvfloor" ./bench/recvfloor
go build -o "$DIR/cputime" ./bench/cputime
if [ -z "${RECORDERS:-}" ]; then
	RECORDERS="gapan tcpdump"
	command -v dumpcap >/dev/null && RECORDERS="$RECORDERS dumpcap"
fi

id=$$
S=gbr-s-$id R=gbr-r-$id SI=gbs$id RI=gbr$id
SIP=10.214.$((id % 250)).1 RIP=10.214.$((id % 250)).2
cleanup() {
	ip netns del "$S" 2>/dev/null || true
	ip netns del "$R" 2>/dev/null || true
	[ -z "${BENCH_OUT:-}" ] && rm -rf "$OUT"
}
trap cleanup EXIT
ip netns add "$S"
ip netns add "$R"
ip link add "$SI" netns "$S" type veth peer name "$RI" netns "$R"
for side in "$S $SI $SIP" "$R $RI $RIP"; do
	set -- $side
	for k in all default "$2"; do ip netns exec "$1" sysctl -qw "net.ipv6.conf.$k.disable_ipv6=1"; done
	ip -n "$1" addr add "$3/30" dev "$2"
	ip -n "$1" link set "$2" up
	ip -n "$1" link set lo up
done
mac() { ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
ip -n "$S" neigh replace "$RIP" lladdr "$(mac "$R" "$RI")" dev "$SI" nud permanent
ip -n "$R" neigh replace "$SIP" lladdr "$(mac "$S" "$SI")" dev "$RI" nud permanent
# The datagrams are dropped right after the taps see them: no listener
# costs CPU and no ICMP port-unreachable comes back.
ip netns exec "$R" nft -f - <<NFT
table inet bench {
	chain pre {
		type filter hook prerouting priority -300;
		udp dport 9 drop
	}
}
NFT

# record TEST SIZE RATE RUN RECORDER: one run, one line on stdout.
record() {
	local test=$1 size=$2 rate=$3 run=$4 rec=$5
	local out=$OUT/$rec.pcap buf=() cmd
	rm -f "$out" "$out.gaps" "$DIR/err" "$DIR/cpu"
	if [ "$test" = rate ]; then
		case $rec in gapan*|tcpdump|recvfloor*) buf=(-B 4096) ;; dumpcap) buf=(-B 4) ;; esac
	fi
	case $rec in
	gapan) cmd=("$GAPAN" record -i "$RI" -w "$out" "${buf[@]}") ;;
	gapan-old) cmd=("$GAPAN_OLD" record -i "$RI" -w "$out" "${buf[@]}") ;;
	tcpdump) cmd=(tcpdump -i "$RI" -w "$out" -Z root -n "${buf[@]}") ;;
	dumpcap) cmd=(dumpcap -i "$RI" -w "$out" -P -q "${buf[@]}") ;;
	recvfloor) cmd=("$DIR/recvfloor" -i "$RI" "${buf[@]}") ;;
	recvfloor-cmsg) cmd=("$DIR/recvfloor" -i "$RI" -ts -aux "${buf[@]}") ;;
	recvfloor-blocking) cmd=("$DIR/recvfloor" -i "$RI" -blocking "${buf[@]}") ;;
	esac
	"$DIR/cputime" -o "$DIR/cpu" ip netns exec "$R" nice -n "$NICE" taskset -c 1 "${cmd[@]}" 2>"$DIR/err" &
	local tpid=$! pid=""
	for _ in $(seq 50); do pid=$(pgrep -P "$tpid" || true); [ -n "$pid" ] && break; sleep 0.05; done
	# Wait until the recorder says it listens (its socket is bound, up to
	# 10 s on a loaded machine): datagrams sent before would be missing
	# from its capture without being its loss.
	for _ in $(seq 100); do grep -qE "listening on|Capturing on" "$DIR/err" 2>/dev/null && break; sleep 0.1; done
	sleep 0.5
	local sendout
	if [ "$test" = stall ]; then
		(sleep 1; kill -STOP "$pid"; sleep 2; kill -CONT "$pid") &
		local stopper=$!
	fi
	sendout=$("$DIR/cputime" -o "$DIR/scpu" ip netns exec "$S" nice -n "$NICE" taskset -c 0 "$DIR/udpsend" -dst "$RIP:9" -n "$N" -size "$size" -rate "$rate")
	[ "$test" = stall ] && wait "$stopper"
	sleep 1
	kill -INT "$pid"
	wait "$tpid" || true
	local cpu sys scpu own check sentrate
	cpu=$(awk '{printf "%.4f", $1+$2}' "$DIR/cpu")
	sys=$(awk '{printf "%.4f", $2}' "$DIR/cpu")
	scpu=$(awk '{printf "%.4f", $1+$2}' "$DIR/scpu")
	sentrate=$(echo "$sendout" | sed -n 's/.*: \([0-9]*\)\/s/\1/p')
	case $rec in
	gapan*|recvfloor*) own=$(awk '/dropped by kernel/{k=$1} /dropped by the recorder/{u=$1} END{print k+u}' "$DIR/err") ;;
	tcpdump) own=$(awk '/dropped by kernel/{print $1}' "$DIR/err") ;;
	dumpcap) own=$(sed -n "s/.*received\/dropped on interface '[^']*': [0-9]*\/\([0-9]*\).*/\1/p" "$DIR/err") ;;
	esac
	if [ "${rec#recvfloor}" != "$rec" ]; then
		# No pcap: its own count of frames against the N sent, its
		# Σ gaps + tail against the N - captured missing.
		check=$(awk -v n="$N" '/packets captured/{c=$1} /gap events/{gsub(/[(,]/, " "); s=$4+$10} END{m=n-c; printf "captured=%d missing=%d holes=? sidecar=%d exact=%s", c, m, s, (s==m ? "yes" : "no")}' "$DIR/err")
	elif [ "${rec%-old}" = gapan ]; then
		check=$("$DIR/recordcheck" -n "$N" -sidecar "$out.gaps" "$out" 2>>"$DIR/mismatch.log")
	else
		check=$("$DIR/recordcheck" -n "$N" "$out")
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$test" "$size" "$rate" "$run" "$rec" "$sentrate" "${own:-?}" "$cpu" "$check" "$scpu" "$sys"
}

RES=$DIR/results.tsv
: >"$RES"
: >"$DIR/mismatch.log"
echo "gapan record benchmark: N=$N, runs=$RUNS, nice $NICE, recorders: $RECORDERS ($(date -u +%FT%TZ), $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "per run: test size rate run recorder sent/s own-drops cpu-s captured missing holes [sidecar exact] sender-cpu-s recorder-sys-s"
set -- $RECORDERS
nrec=$#
for size in $SIZES; do
	tests=""
	for rate in $RATES; do tests="$tests rate:$rate"; done
	[ "$STALL" = 1 ] && tests="$tests stall:50000"
	for t in $tests; do
		for run in $(seq "$RUNS"); do
			# Alternate: run r starts at the r-th recorder.
			set -- $RECORDERS
			shift $(((run - 1) % nrec))
			order="$* $(echo $RECORDERS | cut -d' ' -f1-$(((run - 1) % nrec)) 2>/dev/null || true)"
			[ $(((run - 1) % nrec)) = 0 ] && order=$RECORDERS
			for rec in $order; do
				line=$(record "${t%%:*}" "$size" "${t#*:}" "$run" "$rec")
				echo "$line" | tee -a "$RES"
			done
		done
	done
done

echo
echo "== medians of $RUNS runs (cpu-s: the recorder's user+system seconds; µs/frame = cpu-s / frames captured; sys µs: its system part; send-cpu: the sender's, which includes the kernel's receive work done in its softirq, where a ring recorder's copying happens; in the stall test, frames buffered during the stop = 100,000 sent then - missing, when N/rate >= 3 s)"
awk -F'\t' '
function med(s,   a, n, i, j, t) {
	n = split(s, a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return a[int((n + 1) / 2)]
}
{
	k = $1 "\t" $2 "\t" ($3 == 0 ? "max" : $3) "\t" $5
	if (!(k in seen)) { seen[k] = 1; keys[++nk] = k }
	delete f
	n = split($9, parts, " ")
	for (i = 1; i <= n; i++) { split(parts[i], kv, "="); f[kv[1]] = kv[2] }
	sent[k] = sent[k] " " $6; own[k] = own[k] " " $7; cpu[k] = cpu[k] " " $8
	cap[k] = cap[k] " " f["captured"]; miss[k] = miss[k] " " f["missing"]
	us[k] = us[k] " " (f["captured"] > 0 ? $8 * 1e6 / f["captured"] : 0)
	sus[k] = sus[k] " " (f["captured"] > 0 ? $11 * 1e6 / f["captured"] : 0)
	scpu[k] = scpu[k] " " $10
	if ($5 ~ /^(gapan|recvfloor)/) { ex[k] = ex[k] (f["exact"] == "yes" ? "" : "NO ") ; side[k] = side[k] " " f["sidecar"] }
}
END {
	printf "%-6s %5s %7s %-14s %9s %9s %8s %8s %7s %8s %6s %8s %s\n", "test", "size", "rate", "recorder", "sent/s", "captured", "missing", "own-drop", "cpu-s", "µs/frame", "sys µs", "send-cpu", "sidecar=truth"
	for (i = 1; i <= nk; i++) {
		k = keys[i]; split(k, p, "\t")
		e = (p[4] ~ /^(gapan|recvfloor)/) ? (ex[k] == "" ? "yes in every run" : "NO in " gsub(/NO/, "", ex[k]) " runs") : "-"
		printf "%-6s %5s %7s %-14s %9s %9s %8s %8s %7s %8.2f %6.2f %8s %s\n", p[1], p[2], p[3], p[4], med(sent[k]), med(cap[k]), med(miss[k]), med(own[k]), med(cpu[k]), med(us[k]), med(sus[k]), med(scpu[k]), e
	}
}' "$RES"
[ -s "$DIR/mismatch.log" ] && { echo "sidecar mismatches:"; cat "$DIR/mismatch.log"; }
exit 0
