#!/usr/bin/env bash
# Usage: bench/compare.sh [shape ...]     (default: every shape)
# Shapes: memory disk fanout size1k size64k disk64k topics consumers latency
#         (and, named only: held ceiling)
# Env:    ROUNDS    alternating rounds per shape (default 5)
#         RUNFOR    how long each writer and reader runs (default 5s)
#         NSQD_BIN  our nsqd (default build/nsqd, from `make build`)
#         BENCH_CACHE  where upstream v1.3.0 is built (default
#                   ${XDG_CACHE_HOME:-~/.cache}/nsqgo-bench), outside the tree
#         BASELINE_BIN  compare with this nsqd instead of upstream's (an
#                   earlier build of ours: before vs after a change, same run)
#         WARMUP    before a shape's round 1, one uncounted run of each daemon
#                   (ours, then the other) this long per writer and reader
#                   (default RUNFOR's; 0 switches it off): a script's first
#                   runs are slow (cold caches, memory the VM's host must
#                   back again), and round 1's first run is ours. As long as
#                   a counted run, the warm-up leaves the machine as a
#                   counted run leaves it for the next (as much memory
#                   freed, as much of the disk queue's file data)
#         TOUCH_MB  before every run (warm-up or counted), make this many MB
#                   of fresh memory resident and free it again
#                   (bench/bench_touch; default 0, off): the VM hands freed
#                   memory back to its host, and memory the host must back
#                   again costs 10-20x more to fault in, so a daemon started
#                   after a run that freed much memory pays less for its own
#                   than one started after a small run; this was meant to
#                   put each on the same footing, but did not narrow the
#                   spread of A/A rounds (README). The line it prints
#                   ("touched N MB in S s") shows the state each run started
#                   from: a slow touch means the host had taken it back
#         QUIET     run a round again when other processes took more than
#                   this many cores during either of its runs (default 0.5;
#                   0 switches it off), at most RETRIES times (default 1):
#                   on 2 cores such a run reads far lower than its twin (in
#                   A/A runs a round's ratio was 0.96-1.05x when both runs
#                   were quiet, 18% off 1.00x in the median when not). Each run
#                   prints what else took the CPU meanwhile; the last try of
#                   a round counts, quiet or not. Not for the latency shape,
#                   which leaves most of the CPU idle for others to take
#         DRYRUN=1  print the runs in order (warm-ups, rounds, daemons)
#                   without building or running anything
#
# Side by side with upstream nsqd v1.3.0: builds upstream's nsqd, bench_writer
# and bench_reader from the Go module proxy into BENCH_CACHE (a throwaway
# module that requires github.com/nsqio/nsq v1.3.0; nothing of upstream is
# copied into this repository), then runs each shape against ours and
# upstream alternately, in ABBA order (ours first in odd rounds, upstream
# first in even ones) after an uncounted warm-up run of each (WARMUP),
# each run on a fresh nsqd with a fresh data dir, prints each round's
# ratios, and at the end the medians and the ratios ours / upstream. Peak RSS (rss_mb) is
# the daemon's VmHWM at the end of the run; rss_b_msg is it in bytes per
# message published (where messages wait in memory, the peak follows how
# many a daemon took in RUNFOR: this is what each costs). pub_cpu and sub_cpu are the daemon's
# CPU time (user + system, from /proc) per message published and consumed,
# in microseconds: on a loaded machine they drift far less than the rates.
# pub_tool and sub_tool are the same for the bench writer and reader(s)
# themselves: on 2 cores the tools and the daemon share the CPU, so a rate
# can go no higher than the cores / (daemon's + tool's CPU per message).
# The data dir's block device (the one under TMPDIR, default /tmp: each
# run's data dir is made there) is read from /proc/diskstats before and
# after each phase: each run prints what the device wrote and read while
# publishing and while consuming, the publish phase's write rate, and the
# daemon's own share (/proc/PID/io's write_bytes; the device counts every
# process's writes), and the summary adds pub_wr_mb and pub_wr_mbs (MB
# written while publishing, and per second of the publish phase), pub_busy
# (the share of the publish phase the device had a write or read in
# flight: near 1.0, the device was the bound), busy_wr_mbs (MB written per
# second it was busy: what it sustained), sub_wr_mb, disk_rd_mb (both
# phases) and wr_b_msg (the bytes written over both phases per message
# published). A data dir on tmpfs or a device the counters do not
# list: the header says so, and the runs go on without these figures.
# A run whose reader drained every message published before RUNFOR ended
# is marked "drained": its consume rate is only that count / RUNFOR, a lower
# bound, and the summary says in how many runs of each daemon that happened.
#
# Each shape publishes for RUNFOR, then consumes for RUNFOR:
#   memory     200-byte messages, MPUB batches of 200, --mem-queue-size=1000000
#              (upstream's bench.sh settings), upstream's bench_writer/reader
#   disk       the same through disk, --mem-queue-size=0
#   ceiling    the most any daemon could do on this machine with the same
#              tools: each shape's writer and reader(s) against bench_ideal
#              (bench/bench_ideal: an ideal nsqd with nothing behind it,
#              answering each PUB/MPUB OK once read and streaming messages
#              of the shape's size as fast as RDY credit allows; one message
#              sequence per channel, so the fan-out shape's three readers
#              each read a whole stream). Measures the ceilings of memory
#              (pub, sub), size1k (pub1k, sub1k), size64k (pub64k, sub64k),
#              fanout (fanout_pub, fanout_sub) and consumers (consumers_sub)
#              -- those named with it, or all when it is named without any
#              -- each beside upstream nsqd's figure from the same run, with
#              bench_ideal's and the tools' CPU per message, and for each,
#              what twice upstream's rate would leave the daemon: 2 cores'
#              CPU per message at that rate less the tools' own. Not in
#              the default set; name it (after those shapes) to run it.
#   held       memory's settings, but no channel until the reader's SUB
#              creates it: the topic holds what is published (1M messages
#              in memory, the rest on its disk) and hands it over to the
#              new channel. Not in the default set; name it to run it.
#   fanout     topic clicks with channels metrics, spam_analysis and archive;
#              three upstream bench_readers at once, one per channel
#              (consume is their sum); --mem-queue-size=1000000
#   size1k     1 KB messages, batches of 200, --mem-queue-size=1000000
#   size64k    64 KB messages, batches of 50 (a batch of 200 would exceed
#              the default 5 MB --max-body-size), default --mem-queue-size
#   disk64k    64 KB messages, batches of 50, all through disk
#              (--mem-queue-size=0): the disk read path for big records
#   topics     100 topics, one publisher and one consumer connection each
#              (our bench_writer/bench_reader: upstream's cannot), 200 bytes
#   consumers  one channel, 200 consumer connections with RDY 50 (our
#              bench_reader); published by upstream's bench_writer
#   latency    publish-to-delivery latency at a fixed 20,000 msgs/s offered
#              (our bench_latency), --mem-queue-size=10000; p50, p99, p999
#              and max, and how many rounds of each daemon spiked (p99 of
#              SPIKE_MS or more, default 50): on a busy machine a spike may
#              be the machine's, so each round also shows the tool's own
#              longest stall and how many slow messages (50 ms or more)
#              were in flight while the tool itself was stalled.
#              LATENCY_FLAGS adds bench_latency flags (e.g. --timeline=100ms).
set -euo pipefail

rounds=${ROUNDS:-5}
runfor=${RUNFOR:-5s}
warmup=${WARMUP:-$runfor}
touch_mb=${TOUCH_MB:-0}
quiet=${QUIET:-0.5}
retries=${RETRIES:-1}
[[ $quiet =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "compare: QUIET must be a number of cores, not $quiet" >&2; exit 2; }
[[ $retries =~ ^[0-9]+$ ]] || { echo "compare: RETRIES must be a count, not $retries" >&2; exit 2; }
[[ $touch_mb =~ ^[0-9]+$ ]] || { echo "compare: TOUCH_MB must be a number of MB, not $touch_mb" >&2; exit 2; }
ours_bin=${NSQD_BIN:-build/nsqd}
if [[ $ours_bin == */* && $ours_bin != /* ]]; then ours_bin=$PWD/$ours_bin; fi
cache=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nsqgo-bench}
all_shapes=(memory disk fanout size1k size64k disk64k topics consumers latency)
known_shapes=("${all_shapes[@]}" held ceiling)
shapes=("$@")
[[ ${#shapes[@]} -gt 0 ]] || shapes=("${all_shapes[@]}")
for s in "${shapes[@]}"; do
	[[ " ${known_shapes[*]} " == *" $s "* ]] || { echo "compare: unknown shape $s (one of: ${known_shapes[*]})" >&2; exit 2; }
done
cd "$(dirname "$0")/.."

# schedule prints the runs in the order the main loop below makes them, one
# "<shape> <warmup|round N> <daemon>" line each (DRYRUN=1 prints only this).
schedule() {
	local shape round daemon order
	for shape in "${shapes[@]}"; do
		if [[ $shape != ceiling && $warmup != 0 ]]; then
			for daemon in ours upstream; do echo "$shape warmup $daemon"; done
		fi
		for round in $(seq "$rounds"); do
			if [[ $shape == ceiling ]]; then
				echo "$shape round $round ideal"
				continue
			fi
			if ((round % 2 == 1)); then order=(ours upstream); else order=(upstream ours); fi
			for daemon in "${order[@]}"; do echo "$shape round $round $daemon"; done
		done
	done
}
if [[ ${DRYRUN:-0} == 1 ]]; then
	schedule
	exit 0
fi

# build_upstream builds upstream v1.3.0's nsqd and bench tools into $cache.
upstream=$cache/upstream-v1.3.0
build_upstream() {
	if [[ -x $upstream/bin/nsqd && -x $upstream/bin/bench_writer && -x $upstream/bin/bench_reader ]]; then
		return
	fi
	echo "# building upstream nsqd v1.3.0 and its bench tools into $upstream"
	mkdir -p "$upstream"
	cat >"$upstream/go.mod" <<-'EOF'
		module nsqgo.local/upstream-bench

		go 1.21

		require github.com/nsqio/nsq v1.3.0

		// as upstream's own go.mod has it
		replace github.com/judwhite/go-svc => github.com/mreiferson/go-svc v1.2.2-0.20210815184239-7a96e00010f6
	EOF
	cat >"$upstream/tools.go" <<-'EOF'
		//go:build tools

		// Package tools only names what this module builds.
		package tools

		import (
			_ "github.com/nsqio/nsq/apps/nsqd"
			_ "github.com/nsqio/nsq/bench/bench_reader"
			_ "github.com/nsqio/nsq/bench/bench_writer"
		)
	EOF
	(cd "$upstream" && GOFLAGS=-mod=mod GOWORK=off go mod tidy &&
		GOFLAGS=-mod=mod GOWORK=off go build -o bin/ github.com/nsqio/nsq/apps/nsqd \
			github.com/nsqio/nsq/bench/bench_writer github.com/nsqio/nsq/bench/bench_reader)
}

build_upstream
if [[ -n ${NSQD_BIN:-} ]]; then echo "# building the bench tools into build/ (ours: NSQD_BIN=$NSQD_BIN, as given, not rebuilt)"; else echo "# building ours and the bench tools into build/"; fi
mkdir -p build
go build -o build/ ./bench/bench_writer ./bench/bench_reader ./bench/bench_latency ./bench/bench_ideal ./bench/bench_touch
[[ -n ${NSQD_BIN:-} ]] || go build -o build/ ./apps/nsqd
command -v "$ours_bin" >/dev/null || { echo "compare: $ours_bin not found (NSQD_BIN is used as given: build it first, e.g. go build -o build/ ./apps/nsqd)" >&2; exit 1; }

# The other daemon: upstream's, or BASELINE_BIN (reported in the
# "upstream" column, named in the header).
other_bin=$upstream/bin/nsqd
if [[ -n ${BASELINE_BIN:-} ]]; then
	other_bin=$BASELINE_BIN
	[[ $other_bin == /* ]] || other_bin=$PWD/$other_bin
	echo "# comparing with BASELINE_BIN=$other_bin instead of upstream's nsqd"
fi
up_writer=$upstream/bin/bench_writer
up_reader=$upstream/bin/bench_reader
our_writer=$PWD/build/bench_writer
our_reader=$PWD/build/bench_reader
our_latency=$PWD/build/bench_latency

source bench/lib.sh
source bench/diskstats.sh
results=$(mktemp "${TMPDIR:-/tmp}/nsq-compare.XXXXXX")
# A round's records wait in pending until the round is kept (QUIET).
pending=$results.pending
trap 'cleanup; rm -f "$results" "$pending"' EXIT

# ops prints the msgs/s of a bench_writer/bench_reader report line.
ops() { sed -n 's/.* - \([0-9.]*\)ops\/s - .*/\1/p' <<<"$1" | tail -n 1; }
# count prints how many messages a report line stands for (rate x duration).
count() {
	sed -n 's/.*duration: \([0-9.]*\)\(m*s\) - .* - \([0-9.]*\)ops\/s - .*/\1 \2 \3/p' <<<"$1" | tail -n 1 |
		awk '{ d = $1; if ($2 == "ms") d /= 1000; printf "%.0f", d * $3 }'
}
# cpu_ticks prints the daemon's user + system CPU time in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$nsqd_pid/stat"; }
# cpu_us <ticks> <messages> prints microseconds of CPU per message.
cpu_us() { awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", (n > 0 ? t / hz * 1e6 / n : 0) }'; }

# tool_cpu prints, as a "# tool cpu <seconds>" line, the user + system CPU
# time of the calling shell's finished children (bash's times builtin): run
# in the subshell that ran one bench tool, that tool's own CPU. (times
# writes into a process substitution: in a pipeline it would run in a
# subshell of its own, which has no children.)
tool_cpu() {
	times > >(awk 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) { v = $i; sub(/s$/, "", v); split(v, p, "m"); t += p[1] * 60 + p[2] }
		printf "# tool cpu %.3f\n", t
	}')
}
# tool_us <report> <messages> prints a tool's CPU microseconds per message
# from the "# tool cpu" lines in its report (summed: fan-out has three).
tool_us() {
	awk -v n="$2" '/^# tool cpu / { t += $4 } END { printf "%.3f", (n > 0 ? t * 1e6 / n : 0) }' <<<"$1"
}

# run_tool runs a bench tool, failing the run loudly if it fails, and ends
# its report with the tool's own CPU time (tool_cpu).
run_tool() {
	local out
	if ! out=$("$@" 2>&1 && tool_cpu); then
		echo "compare: $* failed: $out" >&2
		return 1
	fi
	echo "$out"
}

# machine_state prints "<time s> <busy ticks> <steal ticks> <reported kB>":
# /proc/stat's CPU totals (busy: user, nice, system, irq, softirq) and, where
# this kernel has it, how much freed memory the VM has handed back to its
# host so far (free page reporting; 0 elsewhere).
machine_state() {
	local rep=0 f=/sys/module/page_reporting/parameters/reported_kib
	[[ -r $f ]] && rep=$(<"$f")
	awk -v rep="$rep" -v now="$(date +%s.%N)" '$1 == "cpu" { print now, $2 + $3 + $4 + $7 + $8, $9, rep; exit }' /proc/stat
}
# meanwhile <state at start> <state at end> <daemon ticks> <tool reports>
# prints what else went on during a run: the CPU of every other process
# (all busy time less the daemon's and the tools'), the host's steal, both
# in cores, and the MB of freed memory handed back to the host. A run whose
# rate is off while others took a core was slowed by them, not by either
# daemon.
meanwhile() {
	local tools
	tools=$(awk '/^# tool cpu / { t += $4 } END { printf "%.3f", t }' <<<"$4")
	awk -v a="$1" -v b="$2" -v d="$3" -v t="$tools" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		split(a, x, " "); split(b, y, " "); w = y[1] - x[1]
		if (w <= 0) w = 1
		o = ((y[2] - x[2]) / hz - d / hz - t) / w
		if (o < 0) o = 0
		printf "%.2f %.2f %.0f\n", o, (y[3] - x[3]) / hz / w, (y[4] - x[4]) / 1024
	}'
}

# disk_mark <i>: the data dir's device counters (disk_sectors), the daemon's
# own write_bytes and the time at the start (0), at the end of the publish
# phase (1) and at the end of the consume phase (2) of a run.
data_dir=${TMPDIR:-/tmp}
disk_dev=$(disk_device "$data_dir")
declare -a dmark_sec dmark_own dmark_time
disk_mark() {
	[[ -n $disk_dev ]] || return 0
	dmark_sec[$1]=$(disk_sectors "$disk_dev")
	dmark_own[$1]=$(proc_write_bytes "$nsqd_pid")
	dmark_time[$1]=$(date +%s.%N)
}
# disk_report <shape> <daemon> <messages published>: prints a run's
# "disk" line from its marks and records its disk metrics; in the latency
# shape (one phase) only what the whole run wrote and read.
disk_report() {
	[[ -n $disk_dev ]] || return 0
	local pub sub own
	pub=$(disk_delta "${dmark_sec[0]:-}" "${dmark_sec[1]:-}")
	sub=$(disk_delta "${dmark_sec[1]:-}" "${dmark_sec[2]:-}")
	if [[ -z $pub || -z $sub ]]; then
		echo "#     disk $disk_dev: its counters could not be read during this run"
		return 0
	fi
	own=$(awk -v a="${dmark_own[0]:-}" -v b="${dmark_own[1]:-}" -v c="${dmark_own[2]:-}" 'BEGIN {
		if (a == "" || b == "" || c == "") print "unknown"; else printf "%.1f / %.1f MB", (b - a) / 1e6, (c - b) / 1e6
	}')
	if [[ $1 == latency ]]; then
		awk -v d="$disk_dev" -v p="$pub" -v s="$sub" -v o="$own" 'BEGIN {
			split(p, x, " "); split(s, y, " ")
			printf "#     disk %s: the run wrote %.1f MB and read %.1f MB (the daemon'"'"'s own writes %s)\n", d, x[2] + y[2], x[1] + y[1], o
		}'
		return 0
	fi
	local line
	line=$(awk -v d="$disk_dev" -v p="$pub" -v s="$sub" -v o="$own" -v n="$3" \
		-v t0="${dmark_time[0]:-}" -v t1="${dmark_time[1]:-}" -v t2="${dmark_time[2]:-}" 'BEGIN {
		split(p, x, " "); split(s, y, " ")
		w = t1 - t0; if (w <= 0) w = 1e-9
		c = t2 - t1; if (c <= 0) c = 1e-9
		bw = (x[3] > 0 ? x[2] / x[3] : 0)
		printf "%.1f %.0f %.2f %.0f %.1f %.1f %.0f|", x[2], x[2] / w, x[3] / w, bw, y[2], x[1] + y[1], (n > 0 ? (x[2] + y[2]) * 1e6 / n : 0)
		printf "#     disk %s: publish wrote %.1f MB in %.2f s (%.0f MB/s; the device busy %.2f s of it, %.0f MB/s while busy) and read %.1f MB; consume wrote %.1f MB (%.0f MB/s) and read %.1f MB in %.2f s; the daemon'"'"'s own writes %s (the device counts every process'"'"'s)\n", d, x[2], w, x[2] / w, x[3], bw, x[1], y[2], y[2] / c, y[1], c, o
	}')
	local v=(${line%%|*})
	record "$1" "$2" pub_wr_mb "${v[0]}"
	record "$1" "$2" pub_wr_mbs "${v[1]}"
	record "$1" "$2" pub_busy "${v[2]}"
	record "$1" "$2" busy_wr_mbs "${v[3]}"
	record "$1" "$2" sub_wr_mb "${v[4]}"
	record "$1" "$2" disk_rd_mb "${v[5]}"
	record "$1" "$2" wr_b_msg "${v[6]}"
	echo "${line#*|}"
}

# record <shape> <daemon> <metric> <value>; nothing in a warm-up run.
counting=1
record() { ((counting)) || return 0; echo "$1 $2 $3 $4" >>"$pending"; }
# keep_records moves the pending records into the results.
keep_records() { cat "$pending" >>"$results" 2>/dev/null || true; : >"$pending"; }

# read_fanout <tcp addr>: the fan-out shape's consume side, three upstream
# bench_readers at once on topic clicks, one per channel; sets the
# caller's sub (their rates summed), subn (messages) and subtool (their
# reports).
read_fanout() {
	local c pids=() files=()
	for c in metrics spam_analysis archive; do
		files+=("$tmpdir/reader-$c.out")
		("$up_reader" --runfor="$runfor" --nsqd-tcp-address="$1" --topic=clicks --channel="$c" --size=200 && tool_cpu) >"$tmpdir/reader-$c.out" 2>&1 &
		pids+=($!)
	done
	for c in "${pids[@]}"; do wait "$c" || { echo "compare: a fan-out reader failed: $(cat "${files[@]}")" >&2; return 1; }; done
	sub=0 subn=0
	for c in "${files[@]}"; do
		sub=$(awk -v a="$sub" -v b="$(ops "$(cat "$c")")" 'BEGIN { printf "%.3f", a + b }')
		subn=$((subn + $(count "$(cat "$c")")))
	done
	subtool=$(cat "${files[@]}")
}

# The shapes whose ceilings the ceiling shape measures: those named with
# it, or all of them when it is named without any.
ceiling_shapes=(memory size1k size64k fanout consumers)
ceiling_wants() {
	local s
	for s in "${ceiling_shapes[@]}"; do
		[[ " ${shapes[*]} " == *" $s "* ]] && { [[ " ${shapes[*]} " == *" $1 "* ]]; return; }
	done
	return 0
}

# start_ideal <body size>: bench_ideal on a free port, in nsqd_pid's place
# (so cleanup and stop_nsqd stop it); sets tcp_addr.
start_ideal() {
	local port i
	tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/nsq-bench.XXXXXX")
	port=$(free_port)
	tcp_addr=127.0.0.1:$port
	"$PWD/build/bench_ideal" --tcp-address="$tcp_addr" --size="$1" >"$tmpdir/ideal.out" 2>&1 &
	nsqd_pid=$!
	for i in $(seq 100); do
		grep -q '^listening on' "$tmpdir/ideal.out" && return 0
		kill -0 "$nsqd_pid" 2>/dev/null || { echo "compare: bench_ideal died: $(cat "$tmpdir/ideal.out")" >&2; return 1; }
		sleep 0.1
	done
	echo "compare: bench_ideal did not start listening" >&2
	return 1
}

# run_ceiling: one run of the tools of each wanted shape (ceiling_wants)
# against bench_ideal, recorded as daemon "ideal": the publish sides on one
# bench_ideal, then each consume side on a fresh one serving that shape's
# body size. <metric>_cpu is bench_ideal's CPU per message consumed,
# <metric>_tool the tools'.
run_ceiling() {
	local spec metric shape topic size batch out n t1 t2 sub subn subtool
	local line="#   ceiling: against bench_ideal:"
	start_ideal 200
	for spec in pub:memory:sub_bench:200:200 pub1k:size1k:sub_bench:1024:200 pub64k:size64k:sub_bench:65536:50 fanout_pub:fanout:clicks:200:200; do
		IFS=: read -r metric shape topic size batch <<<"$spec"
		ceiling_wants "$shape" || continue
		out=$(run_tool "$up_writer" --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" --topic="$topic" --size="$size" --batch-size="$batch")
		n=$(count "$out")
		record ceiling ideal "$metric" "$(ops "$out")"
		record ceiling ideal "${metric}_tool" "$(tool_us "$out" "$n")"
		line+=" $metric $(ops "$out") msgs/s (writer $(tool_us "$out" "$n") us per message),"
	done
	for spec in sub:memory:200 sub1k:size1k:1024 sub64k:size64k:65536 fanout_sub:fanout:200 consumers_sub:consumers:200; do
		IFS=: read -r metric shape size <<<"$spec"
		ceiling_wants "$shape" || continue
		stop_nsqd now
		start_ideal "$size"
		t1=$(cpu_ticks)
		case $metric in
		fanout_sub) read_fanout "$tcp_addr" ;;
		consumers_sub)
			subtool=$(run_tool "$our_reader" --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" --topic=sub_bench --channel=ch --connections=200 --rdy=50 --size=200)
			sub=$(ops "$subtool") subn=$(count "$subtool")
			;;
		*)
			subtool=$(run_tool "$up_reader" --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" --topic=sub_bench --channel=ch --size="$size")
			sub=$(ops "$subtool") subn=$(count "$subtool")
			;;
		esac
		t2=$(cpu_ticks)
		record ceiling ideal "$metric" "$sub"
		record ceiling ideal "${metric}_cpu" "$(cpu_us $((t2 - t1)) "$subn")"
		record ceiling ideal "${metric}_tool" "$(tool_us "$subtool" "$subn")"
		line+=" $metric $sub msgs/s (bench_ideal $(cpu_us $((t2 - t1)) "$subn"), readers $(tool_us "$subtool" "$subn") us per message),"
	done
	stop_nsqd now
	echo "${line%,}"
}

# run_shape <shape> <daemon>: one run on a fresh nsqd.
run_shape() {
	local shape=$1 daemon=$2 mqs=1000000 size=200 batch=200 out pub sub pubn subn=0 t0 t1 t2 pubtool= subtool=
	nsqd_bin=$ours_bin
	[[ $daemon == upstream ]] && nsqd_bin=$other_bin
	case $shape in
	disk) mqs=0 ;;
	size1k) size=1024 ;;
	size64k) mqs=10000 size=65536 batch=50 ;;
	disk64k) mqs=0 size=65536 batch=50 ;;
	latency) mqs=10000 ;;
	esac
	local touched=
	((touch_mb == 0)) || touched=$("$PWD/build/bench_touch" --mb="$touch_mb")
	local state0 state1 others steal handed
	state0=$(machine_state)
	start_nsqd "$mqs" >/dev/null
	t0=$(cpu_ticks)
	dmark_sec=() dmark_own=() dmark_time=()
	disk_mark 0
	case $shape in
	memory | disk | size1k | size64k | disk64k | held)
		[[ $shape == held ]] || create_channel sub_bench ch >/dev/null
		out=$(run_tool "$up_writer" --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" --topic=sub_bench --size="$size" --batch-size="$batch")
		pub=$(ops "$out") pubn=$(count "$out") t1=$(cpu_ticks) pubtool=$out
		disk_mark 1
		out=$(run_tool "$up_reader" --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" --topic=sub_bench --channel=ch --size="$size")
		sub=$(ops "$out") subn=$(count "$out") subtool=$out
		;;
	fanout)
		local c
		for c in metrics spam_analysis archive; do create_channel clicks "$c" >/dev/null; done
		out=$(run_tool "$up_writer" --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" --topic=clicks --size=200 --batch-size=200)
		pub=$(ops "$out") pubn=$(count "$out") t1=$(cpu_ticks) pubtool=$out
		disk_mark 1
		read_fanout "$tcp_addr"
		;;
	topics)
		local i
		for i in $(seq 0 99); do create_channel "sub_bench_$i" ch >/dev/null; done
		out=$(run_tool "$our_writer" --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" --topic=sub_bench --topics=100 --connections=100 --size=200 --batch-size=200)
		pub=$(ops "$out") pubn=$(count "$out") t1=$(cpu_ticks) pubtool=$out
		disk_mark 1
		out=$(run_tool "$our_reader" --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" --topic=sub_bench --topics=100 --connections=100 --channel=ch --size=200)
		sub=$(ops "$out") subn=$(count "$out") subtool=$out
		;;
	consumers)
		create_channel sub_bench ch >/dev/null
		out=$(run_tool "$up_writer" --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" --topic=sub_bench --size=200 --batch-size=200)
		pub=$(ops "$out") pubn=$(count "$out") t1=$(cpu_ticks) pubtool=$out
		disk_mark 1
		out=$(run_tool "$our_reader" --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" --topic=sub_bench --channel=ch --connections=200 --rdy=50 --size=200)
		sub=$(ops "$out") subn=$(count "$out") subtool=$out
		;;
	latency)
		create_channel latency_bench ch >/dev/null
		# shellcheck disable=SC2086 # LATENCY_FLAGS is a list of flags
		out=$(run_tool "$our_latency" --runfor="$runfor" --nsqd-tcp-address="$tcp_addr" --rate=20000 ${LATENCY_FLAGS:-})
		disk_mark 1
		local metric p99
		for metric in p50 p99 p999 max; do
			record "$shape" "$daemon" "${metric}_ms" "$(sed -n "s/.* $metric: \([0-9.]*\)ms .*/\1/p" <<<"$out")"
		done
		p99=$(sed -n 's/.* p99: \([0-9.]*\)ms .*/\1/p' <<<"$out")
		if awk -v p="$p99" -v s="${SPIKE_MS:-50}" 'BEGIN { exit !(p >= s) }'; then
			record "$shape" "$daemon" spiked 1
		fi
		record "$shape" "$daemon" tool_stall_ms "$(sed -n 's/.* longest \([0-9.]*\)ms - .*/\1/p' <<<"$out")"
		;;
	esac
	local rss label="$shape $daemon"
	((counting)) || label="$shape $daemon (warm-up, not counted)"
	rss=$(peak_rss_kb) t2=$(cpu_ticks) state1=$(machine_state)
	disk_mark 2
	stop_nsqd now
	[[ -z $touched ]] || echo "#   $label: before it, $touched"
	local reports="$pubtool"$'\n'"$subtool"
	[[ $shape == latency ]] && reports=$out
	read -r others steal handed < <(meanwhile "$state0" "$state1" $((t2 - t0)) "$reports")
	record "$shape" "$daemon" others "$others"
	last_others[$daemon]=$others
	record "$shape" "$daemon" rss_mb "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')"
	if [[ $shape == latency ]]; then
		sed "1s/^/#   $label: /; 1!s/^/#     /" <<<"$out"
	else
		[[ -n $pub && -n $sub ]] || { echo "compare: no rate parsed for $shape $daemon" >&2; return 1; }
		record "$shape" "$daemon" pub "$pub"
		record "$shape" "$daemon" sub "$sub"
		record "$shape" "$daemon" pub_cpu "$(cpu_us $((t1 - t0)) "$pubn")"
		record "$shape" "$daemon" sub_cpu "$(cpu_us $((t2 - t1)) "$subn")"
		record "$shape" "$daemon" pub_tool "$(tool_us "$pubtool" "$pubn")"
		record "$shape" "$daemon" sub_tool "$(tool_us "$subtool" "$subn")"
		# Peak RSS per message published: in the shapes that queue in memory
		# the peak follows how many messages a daemon took in RUNFOR, so a
		# faster one peaks higher; this is the memory each one costs.
		record "$shape" "$daemon" rss_b_msg "$(awk -v k="$rss" -v n="$pubn" 'BEGIN { printf "%.1f", (n > 0 ? k * 1024 / n : 0) }')"
		# A reader reads for RUNFOR whether or not messages are left: one that
		# drained everything published reports that count / RUNFOR, a lower
		# bound on what the daemon could deliver (compare sub_cpu then).
		local copies=1 drained=
		[[ $shape == fanout ]] && copies=3
		if awk -v p="$pubn" -v s="$subn" -v c="$copies" 'BEGIN { exit !(p > 0 && s >= p * c * 0.999) }'; then
			drained=" (drained: consume is a lower bound)"
			record "$shape" "$daemon" drained 1
		fi
		last_pub[$daemon]=$pub last_sub[$daemon]=$sub
		echo "#   $label: publish $pub msgs/s, consume $sub msgs/s$drained, peak RSS $((rss / 1024)) MB," \
			"CPU $(cpu_us $((t1 - t0)) "$pubn") / $(cpu_us $((t2 - t1)) "$subn") us per message" \
			"(tools $(tool_us "$pubtool" "$pubn") / $(tool_us "$subtool" "$subn"))"
	fi
	echo "#     meanwhile other processes took $others cores, the host's steal $steal; $handed MB of freed memory went back to the host"
	disk_report "$shape" "$daemon" "${pubn:-0}"
}

# The last run's rates of each daemon, for the round's ratio line, and the
# CPU other processes took during it (QUIET).
declare -A last_pub last_sub last_others
echo "# $(nproc) cores, $(awk '/MemTotal/ { printf "%d GB", $2 / 1048576 }' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg); $rounds rounds, RUNFOR=$runfor, WARMUP=$warmup, QUIET=$quiet (RETRIES=$retries), TOUCH_MB=$touch_mb"
if [[ -n $disk_dev ]]; then
	echo "# data dirs in $data_dir, on device $disk_dev (/proc/diskstats): its writes and reads are shown per run"
else
	echo "# data dirs in $data_dir: its block device was not found in /proc/diskstats (tmpfs, overlay?): no disk figures"
fi

# run_round <shape> <round> <daemon> <daemon>: one round, run again (both
# daemons, same order) while other processes took more than QUIET cores
# during either run, at most RETRIES times; then its records are kept and
# its ratios printed.
run_round() {
	local shape=$1 round=$2 try busiest
	for try in $(seq 0 "$retries"); do
		: >"$pending"
		last_pub=() last_sub=() last_others=()
		run_shape "$shape" "$3"
		run_shape "$shape" "$4"
		busiest=$(printf '%s\n' "${last_others[@]}" | sort -g | tail -n 1)
		# The latency shape leaves most of the CPU idle, which other
		# processes then take without slowing it: not a reason to rerun.
		[[ $shape != latency ]] || break
		awk -v b="$busiest" -v q="$quiet" 'BEGIN { exit !(q > 0 && b > q) }' || break
		((try < retries)) || { echo "#   $shape round $round: other processes took $busiest cores during it (QUIET=$quiet), counted anyway (RETRIES=$retries)"; break; }
		echo "#   $shape round $round: other processes took $busiest cores during it (QUIET=$quiet): running it again"
	done
	keep_records
	[[ $shape != latency ]] || return 0
	awk -v s="$shape" -v r="$round" -v po="${last_pub[ours]}" -v pu="${last_pub[upstream]}" \
		-v so="${last_sub[ours]}" -v su="${last_sub[upstream]}" 'BEGIN {
			printf "#   %s round %d: ours / upstream publish %.2fx, consume %.2fx\n", s, r, (pu > 0 ? po / pu : 0), (su > 0 ? so / su : 0)
		}'
}

# The runs in schedule's order: warm-ups uncounted (RUNFOR is WARMUP's
# there), then each round's two runs together (run_round). (An array, not
# a pipe: the bench tools must not share the loop's stdin.)
mapfile -t runs < <(schedule)
first=
for run in "${runs[@]}"; do
	read -r shape kind round daemon <<<"$run"
	if [[ $kind == warmup ]]; then
		daemon=$round
		[[ $daemon == ours ]] && echo "# $shape warm-up (not counted, WARMUP=$warmup)"
		counting=0 runfor_counted=$runfor runfor=$warmup
		run_shape "$shape" "$daemon"
		counting=1 runfor=$runfor_counted
		continue
	fi
	if [[ $shape == ceiling ]]; then
		echo "# $shape round $round/$rounds"
		run_ceiling
		keep_records
		continue
	fi
	if [[ -z $first ]]; then
		first=$daemon
		continue
	fi
	echo "# $shape round $round/$rounds"
	run_round "$shape" "$round" "$first" "$daemon"
	first=
done

# The medians of each shape's metrics, ours beside upstream's.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo
printf '%-10s %-8s %12s %12s %7s\n' shape metric ours upstream ratio
for shape in "${shapes[@]}"; do
	if [[ $shape == ceiling ]]; then
		# bench_ideal in the ours column; upstream nsqd's figure from the
		# matching shape (when it ran too) in the other. Then, for each
		# rate, what twice upstream's would leave the daemon.
		budget=
		for spec in pub:memory:pub pub1k:size1k:pub pub64k:size64k:pub fanout_pub:fanout:pub \
			sub:memory:sub sub1k:size1k:sub sub64k:size64k:sub fanout_sub:fanout:sub consumers_sub:consumers:sub; do
			IFS=: read -r metric other side <<<"$spec"
			extra=(tool)
			[[ $side == sub ]] && extra=(cpu tool)
			awk -v m="$metric" '$1 == "ceiling" && $2 == "ideal" && $3 == m { found = 1 } END { exit !found }' "$results" || continue
			for m in "$metric" "${extra[@]/#/${metric}_}"; do
				om=${m/#$metric/$side}
				a=$(awk -v m="$m" '$1 == "ceiling" && $2 == "ideal" && $3 == m { print $4 }' "$results" | median)
				b=$(awk -v s="$other" -v m="$om" '$1 == s && $2 == "upstream" && $3 == m { print $4 }' "$results" | median)
				awk -v m="$m" -v a="$a" -v b="${b:-0}" \
					'BEGIN { printf "%-10s %-8s %12.3f %12.3f %6.2fx\n", "ceiling", m, a, b, (b > 0 ? a / b : 0) }'
			done
			# Twice upstream's rate on $(nproc) cores leaves cores * 1e6 /
			# (2 * rate) us of CPU per message for the daemon and the tools
			# together; less the tools' own (against bench_ideal, the least
			# they spend) is the daemon's share, beside ours's now.
			a=$(awk -v m="$metric" '$1 == "ceiling" && $2 == "ideal" && $3 == m { print $4 }' "$results" | median)
			b=$(awk -v s="$other" -v m="$side" '$1 == s && $2 == "upstream" && $3 == m { print $4 }' "$results" | median)
			tool=$(awk -v m="${metric}_tool" '$1 == "ceiling" && $2 == "ideal" && $3 == m { print $4 }' "$results" | median)
			ours=$(awk -v s="$other" -v m="${side}_cpu" '$1 == s && $2 == "ours" && $3 == m { print $4 }' "$results" | median)
			# bench_ideal's own CPU per message consumed: the least any
			# daemon writing the same bytes spends.
			floor=
			[[ $side == sub ]] && floor=$(awk -v m="${metric}_cpu" '$1 == "ceiling" && $2 == "ideal" && $3 == m { print $4 }' "$results" | median)
			awk -v b="$b" 'BEGIN { exit !(b > 0) }' || continue
			budget+=$(awk -v m="$metric" -v a="$a" -v b="$b" -v t="$tool" -v o="${ours:-}" -v f="$floor" -v c="$(nproc)" 'BEGIN {
				u = c * 1e6 / (2 * b)
				printf "#   2x upstream %s = %.0f msgs/s: ceiling %.2fx of it (%s); %d cores give %.3f us per message, the tools take %.3f, leaving %.3f for the daemon%s%s\n",
					m, 2 * b, a / (2 * b), (a >= 2 * b ? "reached by bench_ideal" : "NOT reached even by bench_ideal"),
					c, u, t, u - t, (f == "" ? "" : sprintf(", bench_ideal itself takes %.3f", f)),
					(o == "" || o + 0 == 0 ? "" : sprintf(" (ours now %.3f)", o))
			}')$'\n'
		done
		echo "#   ceiling: bench_ideal (nothing behind it) in the ours column; upstream nsqd's figure in the matching shape (memory: pub, sub; size1k: pub1k, sub1k; size64k: pub64k, sub64k; fanout: fanout_pub, fanout_sub; consumers: consumers_sub) in the other; _cpu is the daemon's CPU, _tool the tools', in us per message"
		printf '%s' "$budget"
		continue
	fi
	metrics=(pub sub rss_mb rss_b_msg pub_cpu sub_cpu pub_tool sub_tool)
	[[ -z $disk_dev ]] || metrics+=(pub_wr_mb pub_wr_mbs pub_busy busy_wr_mbs sub_wr_mb disk_rd_mb wr_b_msg)
	[[ $shape == latency ]] && metrics=(p50_ms p99_ms p999_ms max_ms tool_stall_ms rss_mb)
	for metric in "${metrics[@]}"; do
		a=$(awk -v s="$shape" -v m="$metric" '$1 == s && $2 == "ours" && $3 == m { print $4 }' "$results" | median)
		b=$(awk -v s="$shape" -v m="$metric" '$1 == s && $2 == "upstream" && $3 == m { print $4 }' "$results" | median)
		awk -v s="$shape" -v m="$metric" -v a="$a" -v b="$b" \
			'BEGIN { printf "%-10s %-8s %12.3f %12.3f %6.2fx\n", s, m, a, b, (b > 0 ? a / b : 0) }'
	done
	awk -v s="$shape" '$1 == s && $3 == "others" { print $2, $4 }' "$results" | sort -k1,1 -k2g | awk -v s="$shape" '
		{ v[$1, ++n[$1]] = $2 }
		END {
			for (d in n) { k = n[d]; m[d] = (k % 2 ? v[d, (k + 1) / 2] : (v[d, k / 2] + v[d, k / 2 + 1]) / 2); x[d] = v[d, k] }
			printf "#   %s: other processes took a median of %.2f cores (at most %.2f) during ours'"'"' runs, %.2f (%.2f) during upstream'"'"'s\n", s, m["ours"], x["ours"], m["upstream"], x["upstream"]
		}'
	for daemon in ours upstream; do
		n=$(awk -v s="$shape" -v d="$daemon" '$1 == s && $2 == d && $3 == "drained"' "$results" | wc -l)
		((n == 0)) || echo "#   $shape: $daemon's reader drained the channel in $n of $rounds runs (consume is a lower bound there)"
		if [[ $shape == latency ]]; then
			n=$(awk -v s="$shape" -v d="$daemon" '$1 == s && $2 == d && $3 == "spiked"' "$results" | wc -l)
			echo "#   $shape: $daemon spiked (p99 >= ${SPIKE_MS:-50} ms) in $n of $rounds rounds"
		fi
	done
done
