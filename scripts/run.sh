#!/usr/bin/env bash
# `make run`: starts a local cluster from ./build with its data under ./data:
# nsqlookupd, nsqd registered with it, and an nsq_to_file archiver that
# follows every topic (each started when its binary has been built).
# Ctrl-C stops everything cleanly, by PID.
set -euo pipefail
# Job control puts each daemon in a process group of its own, so Ctrl-C
# reaches only this script, whose trap stops them one by one in order.
set -m
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
DATA=${DATA:-data}
HOST=${HOST:-127.0.0.1}
NSQD_TCP=${NSQD_TCP:-4150}
NSQD_HTTP=${NSQD_HTTP:-4151}
LOOKUPD_TCP=${LOOKUPD_TCP:-4160}
LOOKUPD_HTTP=${LOOKUPD_HTTP:-4161}

mkdir -p "$DATA/nsqd" "$DATA/archive" "$DATA/archive-work"
pids=()

stop_all() {
  trap - INT TERM EXIT
  echo
  echo "stopping..."
  # Reverse order: the archiver first (it flushes and moves its files), nsqd
  # next (it closes its queues), lookupd last.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  echo "stopped; data is in $DATA/"
}
trap stop_all INT TERM EXIT

wait_http() {
  local url=$1
  for _ in $(seq 1 100); do
    if curl -sf "$url" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for $url" >&2
  return 1
}

lookupd_args=()
if [[ -x $BUILD/nsqlookupd ]]; then
  "$BUILD/nsqlookupd" --tcp-address="$HOST:$LOOKUPD_TCP" --http-address="$HOST:$LOOKUPD_HTTP" \
    --broadcast-address="$HOST" &
  pids+=($!)
  wait_http "http://$HOST:$LOOKUPD_HTTP/ping"
  lookupd_args=(--lookupd-tcp-address="$HOST:$LOOKUPD_TCP")
fi

"$BUILD/nsqd" --data-path="$DATA/nsqd" --tcp-address="$HOST:$NSQD_TCP" --http-address="$HOST:$NSQD_HTTP" \
  --broadcast-address="$HOST" "${lookupd_args[@]}" &
pids+=($!)
wait_http "http://$HOST:$NSQD_HTTP/ping"

if [[ -x $BUILD/nsq_to_file && -x $BUILD/nsqlookupd ]]; then
  "$BUILD/nsq_to_file" --lookupd-http-address="$HOST:$LOOKUPD_HTTP" --topic-pattern='.*' \
    --topic-refresh=5s --output-dir="$DATA/archive" --work-dir="$DATA/archive-work" \
    --filename-format='<TOPIC>.<HOST><REV>.<DATETIME>.log' --rotate-interval=1m &
  pids+=($!)
fi

cat <<EOT

  nsqd        tcp $HOST:$NSQD_TCP   http http://$HOST:$NSQD_HTTP
$( [[ ${#lookupd_args[@]} -gt 0 ]] && echo "  nsqlookupd  tcp $HOST:$LOOKUPD_TCP   http http://$HOST:$LOOKUPD_HTTP" )
  data        $DATA/

  publish:    curl -d 'hello' 'http://$HOST:$NSQD_HTTP/pub?topic=test'
  stats:      curl 'http://$HOST:$NSQD_HTTP/stats'
$( [[ -x $BUILD/nsq_to_file && -x $BUILD/nsqlookupd ]] && echo "  archive:    $DATA/archive/ (every topic, rotated each minute)" )

  Ctrl-C stops everything.
EOT
# Wait until any process exits (or Ctrl-C), then stop the rest.
wait -n "${pids[@]}" || true
