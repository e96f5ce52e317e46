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

nsqd_pid=
tmpdir=
cleanup() {
	if [[ -n $nsqd_pid ]]; then
		kill -TERM "$nsqd_pid" 2>/dev/null || true
		# nsqd may flush its memory queues to disk on exit; allow 10 s.
		for _ in $(seq 100); do
			kill -0 "$nsqd_pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$nsqd_pid" 2>/dev/null; then
			echo "bench: nsqd did not exit within 10s, sending SIGKILL" >&2
			kill -KILL "$nsqd_pid" 2>/dev/null || true
		fi
		wait "$nsqd_pid" 2>/dev/null || true
	fi
	if [[ -n $tmpdir ]]; then rm -rf "$tmpdir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_port prints an unused local port below the kernel's ephemeral range:
# a /dev/tcp connect succeeds only when something already listens there.
# $1 is a port to avoid.
free_port() {
	local port
	for _ in $(seq 200); do
		port=$((20000 + RANDOM % 12000))
		[[ $port == "${1:-}" ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	echo "bench: no free port found" >&2
	return 1
}

echo "# building bench_writer and bench_reader into build/"
mkdir -p build
go build -o build/ ./bench/bench_writer ./bench/bench_reader

tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/nsq-bench.XXXXXX")
tcp_port=$(free_port)
http_port=$(free_port "$tcp_port")
tcp_addr=127.0.0.1:$tcp_port
http_addr=127.0.0.1:$http_port

echo "# $nsqd_bin --mem-queue-size=$mem_queue_size --data-path=$tmpdir (tcp $tcp_addr, http $http_addr)"
"$nsqd_bin" --mem-queue-size="$mem_queue_size" --data-path="$tmpdir" \
	--tcp-address="$tcp_addr" --http-address="$http_addr" >"$tmpdir/nsqd.log" 2>&1 &
nsqd_pid=$!

# Wait (at most ~10 s) for the HTTP side to answer, failing fast if nsqd died.
for i in $(seq 100); do
	[[ $(curl -s --max-time 1 "http://$http_addr/ping" || true) == OK ]] && break
	if ! kill -0 "$nsqd_pid" 2>/dev/null || ((i == 100)); then
		echo "bench: nsqd did not come up on $http_addr; its log:" >&2
		tail -n 20 "$tmpdir/nsqd.log" >&2
		exit 1
	fi
	sleep 0.1
done

echo "# creating topic sub_bench, channel ch"
curl -sf -X POST "http://$http_addr/topic/create?topic=sub_bench" >/dev/null ||
	{ echo "bench: topic create failed" >&2; exit 1; }
curl -sf -X POST "http://$http_addr/channel/create?topic=sub_bench&channel=ch" >/dev/null ||
	{ echo "bench: channel create failed" >&2; exit 1; }

echo "# running each side for $runfor"
if ! out=$(build/bench_writer --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" \
	--topic=sub_bench --size=200 --batch-size=200 2>&1); then
	echo "bench: bench_writer failed: $out" >&2
	exit 1
fi
echo "PUB: $out"

if ! out=$(build/bench_reader --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" \
	--topic=sub_bench --channel=ch --size=200 2>&1); then
	echo "bench: bench_reader failed: $out" >&2
	exit 1
fi
echo "SUB: $out"
