#!/usr/bin/env bash
# Usage: bench/metrics_scrape.sh [rounds] [mem-queue-size]   (defaults 3, 1000000)
# Env:   RUNFOR   how long each of writer and reader runs (default 5s)
#        NSQD_BIN nsqd binary to measure (default build/nsqd, from `make build`)
#        SCRAPE_PATH what the scraper fetches (default /metrics; /ping is the
#                 control: an HTTP request a second that collects nothing)
#
# The bench.sh workload (bench_writer then bench_reader, 200-byte messages,
# MPUB batches of 200) run in alternating rounds without and with a
# Prometheus-style scraper fetching /metrics every second, each round on a
# fresh nsqd. Prints every round, then the ratio of the medians
# (scraped / plain): 1.00 means scraping costs the data path nothing.
#
# Besides the rates each round prints the daemon's CPU time (user + system,
# from /proc) per message published and per message consumed, in µs, which
# drifts far less than the rates on a loaded machine. bench_reader reads
# for RUNFOR whether or not messages are left, so when it drains the
# channel before RUNFOR ends its rate is only what was published divided by
# RUNFOR (the same figure as publish): such a round is marked "drained" and
# its sub rate is a lower bound; compare sub_cpu instead.
set -euo pipefail

rounds=${1:-3}
mem_queue_size=${2:-1000000}
runfor=${RUNFOR:-5s}
scrape_path=${SCRAPE_PATH:-/metrics}
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

# count prints how many messages a report line stands for (rate x duration).
count() {
	sed -n 's/.*duration: \([0-9.]*\)\(m*s\) - .* - \([0-9.]*\)ops\/s - .*/\1 \2 \3/p' <<<"$1" | tail -n 1 |
		awk '{ d = $1; if ($2 == "ms") d /= 1000; printf "%.0f", d * $3 }'
}
# cpu_ticks prints the daemon's user + system CPU time in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$nsqd_pid/stat"; }
# cpu_us <ticks> <messages> prints microseconds of CPU per message.
cpu_us() { awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", (n > 0 ? t / hz * 1e6 / n : 0) }'; }

# round <label> <scrape:0|1> prints
# "<label> pub <ops/s> sub <ops/s> scrapes <n> pub_cpu <us> sub_cpu <us> [drained]".
round() {
	local label=$1 scrape=$2 pub sub scrapes=0 t0 t1 t2 pubn subn drained=
	start_nsqd "$mem_queue_size" >/dev/null
	create_channel sub_bench ch >/dev/null
	t0=$(cpu_ticks)
	if [[ $scrape == 1 ]]; then
		(
			while true; do
				curl -sf --max-time 5 "http://$http_addr$scrape_path" >/dev/null && echo x >>"$tmpdir/scrapes"
				sleep 1
			done
		) &
		scraper_pid=$!
	fi
	pub=$(build/bench_writer --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" \
		--topic=sub_bench --size=200 --batch-size=200 2>&1)
	t1=$(cpu_ticks)
	sub=$(build/bench_reader --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" \
		--topic=sub_bench --channel=ch --size=200 2>&1)
	t2=$(cpu_ticks)
	stop_scraper
	[[ -f $tmpdir/scrapes ]] && scrapes=$(wc -l <"$tmpdir/scrapes")
	pubn=$(count "$pub") subn=$(count "$sub")
	# Counts from rate x duration are rounded: within 0.1% means all of it.
	awk -v p="$pubn" -v s="$subn" 'BEGIN { exit !(s >= p * 0.999) }' && drained=drained
	echo "$label pub $(ops_per_sec "$pub") sub $(ops_per_sec "$sub") scrapes $scrapes" \
		"pub_cpu $(cpu_us $((t1 - t0)) "$pubn") sub_cpu $(cpu_us $((t2 - t1)) "$subn") $drained"
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
echo "# scraper fetched $scrape_path"
for side in pub sub pub_cpu sub_cpu; do
	case $side in pub) col=3 ;; sub) col=5 ;; pub_cpu) col=9 ;; sub_cpu) col=11 ;; esac
	plain=$(printf '%s\n' "${results[@]}" | awk -v c=$col '$1 == "plain" {print $c}' | median)
	scraped=$(printf '%s\n' "${results[@]}" | awk -v c=$col '$1 == "scraped" {print $c}' | median)
	awk -v s="$side" -v p="$plain" -v q="$scraped" 'BEGIN {f = (s ~ /cpu/) ? "%.3f" : "%.0f"; printf "%s median plain " f " scraped " f " ratio %.3f\n", s, p, q, q / p}'
done
