#!/usr/bin/env bash
# Usage: bench/archive.sh [messages]               (default 100000)
# Env:   NSQ_TO_FILE_BIN nsq_to_file binary to measure (default build/nsq_to_file)
#        NSQD_BIN        nsqd binary (default build/nsqd); both from `make build`
#
# Archiving throughput: publishes the messages (100-byte lines, with
# build/to_nsq) to topic archive on a fresh nsqd, then starts nsq_to_file on
# it and prints how long it takes to drain the channel into files (every
# message written, synced and FIN'd but the last batch, which waits for
# --sync-interval), and the line count of the files after SIGTERM.
set -euo pipefail

messages=${1:-100000}
nsqd_bin=${NSQD_BIN:-build/nsqd}
archiver_bin=${NSQ_TO_FILE_BIN:-build/nsq_to_file}
for bin in nsqd_bin archiver_bin; do
	# A relative path means relative to the caller's directory.
	if [[ ${!bin} == */* && ${!bin} != /* ]]; then printf -v "$bin" '%s' "$PWD/${!bin}"; fi
done
cd "$(dirname "$0")/.."
for bin in "$nsqd_bin" "$archiver_bin" build/to_nsq; do
	command -v "$bin" >/dev/null || { echo "bench: $bin not found; run 'make build'" >&2; exit 1; }
done

source bench/lib.sh
start_nsqd 1000000
create_channel archive nsq_to_file

echo "# publishing $messages messages"
awk -v n="$messages" 'BEGIN { for (i = 0; i < n; i++) printf "message-%08d-%082d\n", i, 0 }' |
	build/to_nsq --topic=archive --nsqd-tcp-address="$tcp_addr" 2>/dev/null

channel_depth() {
	curl -sf "http://$http_addr/stats?format=json&topic=archive&channel=nsq_to_file&include_clients=false" |
		grep -o '"channel_name":"nsq_to_file","depth":[0-9]*' | grep -o '[0-9]*$'
}
[[ $(channel_depth) == "$messages" ]] || { echo "bench: expected $messages queued" >&2; exit 1; }

mkdir -p "$tmpdir/out" "$tmpdir/work"
start=$(date +%s%N)
"$archiver_bin" --nsqd-tcp-address="$tcp_addr" --topic=archive \
	--output-dir="$tmpdir/out" --work-dir="$tmpdir/work" >"$tmpdir/archiver.log" 2>&1 &
archiver_pid=$!
while [[ $(channel_depth) != 0 ]]; do
	kill -0 "$archiver_pid" 2>/dev/null || { echo "bench: nsq_to_file exited" >&2; exit 1; }
	sleep 0.02
done
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
kill -TERM "$archiver_pid"
wait "$archiver_pid" || true
lines=$(cat "$tmpdir"/out/* | wc -l)
echo "ARCHIVE: $messages messages drained in ${elapsed_ms} ms ($((messages * 1000 / (elapsed_ms + 1))) msgs/s); $lines lines in files"
