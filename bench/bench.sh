#!/usr/bin/env bash
# Usage: bench/bench.sh [mem-queue-size]          (default 1000000)
# Env:   RUNFOR   how long each of writer and reader runs (default 10s)
#        NSQD_BIN nsqd binary to measure (default build/nsqd, from `make build`)
#
# Starts a fresh nsqd on free local ports with a temporary data dir, publishes
# to sub_bench for RUNFOR with bench_writer, then drains channel ch with
# bench_reader for RUNFOR, and prints both report lines as PUB: and SUB:.
set -euo pipefail

mem_queue_size=${1:-1000000}
runfor=${RUNFOR:-10s}
nsqd_bin=${NSQD_BIN:-build/nsqd}
# A relative NSQD_BIN path means relative to the caller's directory.
if [[ $nsqd_bin == */* && $nsqd_bin != /* && -n ${NSQD_BIN:-} ]]; then
	nsqd_bin=$PWD/$nsqd_bin
fi
cd "$(dirname "$0")/.."

if ! command -v "$nsqd_bin" >/dev/null; then
	echo "bench: $nsqd_bin not found; run 'make build' or set NSQD_BIN" >&2
	exit 1
fi

source bench/lib.sh

echo "# building bench_writer and bench_reader into build/"
mkdir -p build
go build -o build/ ./bench/bench_writer ./bench/bench_reader

start_nsqd "$mem_queue_size"
create_channel sub_bench ch

echo "# running each side for $runfor"
if ! out=$(build/bench_writer --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" \
	--topic=sub_bench --size=200 --batch-size=200 2>&1); then
	echo "bench: bench_writer failed: $out" >&2
	exit 1
fi
echo "PUB: $out"
pub_out=$out

if ! out=$(build/bench_reader --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" \
	--topic=sub_bench --channel=ch --size=200 2>&1); then
	echo "bench: bench_reader failed: $out" >&2
	exit 1
fi
echo "SUB: $out"

# bench_reader reads for RUNFOR whether or not messages are left: when it
# drained everything published before then, its rate is only that count
# divided by RUNFOR, a lower bound on what the daemon could deliver.
count() {
	sed -n 's/.*duration: \([0-9.]*\)\(m*s\) - .* - \([0-9.]*\)ops\/s - .*/\1 \2 \3/p' <<<"$1" | tail -n 1 |
		awk '{ d = $1; if ($2 == "ms") d /= 1000; printf "%.0f", d * $3 }'
}
pub_count=$(count "$pub_out") sub_count=$(count "$out")
if awk -v p="$pub_count" -v s="$sub_count" 'BEGIN { exit !(p > 0 && s >= p * 0.999) }'; then
	echo "# SUB drained all $pub_count messages before $runfor ended: its rate is a lower bound"
fi
