#!/usr/bin/env bash
# Usage: bench/metrics_scrape.sh [rounds] [mem-queue-size]   (defaults 3, 1000000)
# Env:   RUNFOR   how long each of writer and reader runs (default 5s)
#        NSQD_BIN nsqd binary to measure (default build/nsqd, from `make build`)
#
# The bench.sh workload (bench_writer then bench_reader, 200-byte messages,
# MPUB batches of 200) run in alternating rounds without and with a
# Prometheus-style scraper fetching /metrics every second, each round on a
# fresh nsqd. Prints every round, then the ratio of the medians
# (scraped / plain): 1.00 means scraping costs the data path nothing.
set -euo pipefail

rounds=${1:-3}
mem_queue_size=${2:-1000000}
runfor=${RUNFOR:-5s}
nsqd_bin=${NSQD_BIN:-build/nsqd}
if [[ $nsqd_bin == */* && $nsqd_bin != /* && -n ${NSQD_BIN:-} ]]; then
	nsqd_bin=$PWD/$nsqd_bin
fi
cd "$(dirname "$0")/.."
source bench/lib.sh

scraper_pid=
stop_scraper() {
	if [[ -n $scraper_pid ]]; then
		kill -TERM "$scraper_pid" 2>/dev/null || true
		wait "$scraper_pid" 2>/dev/null || true
		scraper_pid=
	fi
}
trap 'stop_scraper; cleanup' EXIT

mkdir -p build
go build -o build/ ./bench/bench_writer ./bench/bench_reader

# ops_per_sec extracts the "%.03fops/s" figure of a bench_* report line.
ops_per_sec() { sed -n 's/.* - \([0-9.]*\)ops\/s.*/\1/p' <<<"$1"; }

# round <label> <scrape:0|1> prints "<label> pub <ops/s> sub <ops/s> scrapes <n>".
round() {
	local label=$1 scrape=$2 pub sub scrapes=0
	start_nsqd "$mem_queue_size" >/dev/null
	create_channel sub_bench ch >/dev/null
	if [[ $scrape == 1 ]]; then
		(
			while true; do
				curl -sf --max-time 5 "http://$http_addr/metrics" >/dev/null && echo x >>"$tmpdir/scrapes"
				sleep 1
			done
		) &
		scraper_pid=$!
	fi
	pub=$(build/bench_writer --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" \
		--topic=sub_bench --size=200 --batch-size=200 2>&1)
	sub=$(build/bench_reader --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" \
		--topic=sub_bench --channel=ch --size=200 2>&1)
	stop_scraper
	[[ -f $tmpdir/scrapes ]] && scrapes=$(wc -l <"$tmpdir/scrapes")
	echo "$label pub $(ops_per_sec "$pub") sub $(ops_per_sec "$sub") scrapes $scrapes"
	cleanup
	nsqd_pid= tmpdir=
}

results=()
for i in $(seq "$rounds"); do
	# Alternate which goes first so drift in machine load hits both alike.
	if ((i % 2)); then
		results+=("$(round plain 0)" "$(round scraped 1)")
	else
		results+=("$(round scraped 1)" "$(round plain 0)")
	fi
	printf '%s\n' "${results[@]: -2}"
done

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
for side in pub sub; do
	col=3
	[[ $side == sub ]] && col=5
	plain=$(printf '%s\n' "${results[@]}" | awk -v c=$col '$1 == "plain" {print $c}' | median)
	scraped=$(printf '%s\n' "${results[@]}" | awk -v c=$col '$1 == "scraped" {print $c}' | median)
	awk -v s="$side" -v p="$plain" -v q="$scraped" 'BEGIN {printf "%s median plain %.0f scraped %.0f ratio %.3f\n", s, p, q, q / p}'
done
