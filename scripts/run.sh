#!/usr/bin/env bash
# `make run`: starts a local cluster from ./build with its data under ./data:
# nsqlookupd, nsqd registered with it, an nsq_to_file archiver that follows
# every topic, and nsqadmin on the lookupd (each started when its binary has
# been built). Ctrl-C stops everything cleanly, by PID.
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
NSQADMIN_HTTP=${NSQADMIN_HTTP:-4171}

mkdir -p "$DATA/nsqd" "$DATA/archive" "$DATA/archive-work"
pids=()

# stop_all STATUS: stops every daemon started, then exits with STATUS (0
# after Ctrl-C or SIGTERM: a stop that was asked for).
stop_all() {
  local status=$1
  trap - INT TERM EXIT
  echo
  echo "stopping..."
  # Reverse order: nsqadmin and the archiver first (it flushes and moves
  # its files), nsqd next (it closes its queues), lookupd last.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  echo "stopped; data is in $DATA/"
  exit "$status"
}
trap 'stop_all 0' INT TERM
trap 'stop_all $?' EXIT

# start NAME ARGS...: runs $BUILD/NAME in the background; it logs to this
# terminal.
start() {
  local name=$1
  shift
  "$BUILD/$name" "$@" &
  pids+=($!)
}

# listening PORT: whether something accepts connections on $HOST:PORT.
listening() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# port_hint VAR...: names the variable that moves a port of the daemon that
# just failed, if another process holds that port.
port_hint() {
  local var port
  for var in "$@"; do
    port=${!var}
    if listening "$port"; then
      echo "port $port ($var) is taken by another process (an earlier make run?): choose another, e.g. $var=$((port + 1000)) make run"
      return
    fi
  done
  echo "ports and paths are set by NSQD_TCP, NSQD_HTTP, LOOKUPD_TCP, LOOKUPD_HTTP, NSQADMIN_HTTP and DATA"
}

# await_http NAME URL PORTVAR...: waits until the last daemon started (NAME)
# answers URL. If it exits first, that is reported at once, with its error
# (printed just above by the daemon) and the variable that moves a busy
# port, and the script fails. A daemon that hangs is given 10 s.
await_http() {
  local name=$1 url=$2 pid=${pids[${#pids[@]} - 1]}
  shift 2
  for _ in $(seq 1 200); do
    if curl -sf "$url" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      local status=0
      wait "$pid" || status=$?
      unset 'pids[${#pids[@]}-1]'
      echo "$name exited at start-up with status $status (its error is above)." >&2
      port_hint "$@" >&2
      exit 1
    fi
    sleep 0.05
  done
  echo "$name (pid $pid) did not answer $url within 10 s" >&2
  port_hint "$@" >&2
  exit 1
}

lookupd_args=()
if [[ -x $BUILD/nsqlookupd ]]; then
  start nsqlookupd --tcp-address="$HOST:$LOOKUPD_TCP" --http-address="$HOST:$LOOKUPD_HTTP" \
    --broadcast-address="$HOST"
  await_http nsqlookupd "http://$HOST:$LOOKUPD_HTTP/ping" LOOKUPD_TCP LOOKUPD_HTTP
  lookupd_args=(--lookupd-tcp-address="$HOST:$LOOKUPD_TCP")
fi

start nsqd --data-path="$DATA/nsqd" --tcp-address="$HOST:$NSQD_TCP" --http-address="$HOST:$NSQD_HTTP" \
  --broadcast-address="$HOST" "${lookupd_args[@]}"
await_http nsqd "http://$HOST:$NSQD_HTTP/ping" NSQD_TCP NSQD_HTTP

archiving=false
if [[ -x $BUILD/nsq_to_file && -x $BUILD/nsqlookupd ]]; then
  # --skip-empty-files: a topic nobody published to in a minute gets no file.
  start nsq_to_file --lookupd-http-address="$HOST:$LOOKUPD_HTTP" --topic-pattern='.*' \
    --topic-refresh=5s --output-dir="$DATA/archive" --work-dir="$DATA/archive-work" \
    --filename-format='<TOPIC>.<HOST><REV>.<DATETIME>.log' --rotate-interval=1m --skip-empty-files
  archiving=true
fi

admin=false
if [[ -x $BUILD/nsqadmin ]]; then
  if [[ -x $BUILD/nsqlookupd ]]; then
    start nsqadmin --http-address="$HOST:$NSQADMIN_HTTP" --lookupd-http-address="$HOST:$LOOKUPD_HTTP"
  else
    start nsqadmin --http-address="$HOST:$NSQADMIN_HTTP" --nsqd-http-address="$HOST:$NSQD_HTTP"
  fi
  await_http nsqadmin "http://$HOST:$NSQADMIN_HTTP/ping" NSQADMIN_HTTP
  admin=true
fi

cat <<EOT

  nsqd        tcp $HOST:$NSQD_TCP   http http://$HOST:$NSQD_HTTP
$( [[ ${#lookupd_args[@]} -gt 0 ]] && echo "  nsqlookupd  tcp $HOST:$LOOKUPD_TCP   http http://$HOST:$LOOKUPD_HTTP" )
$( $admin && echo "  nsqadmin    http://$HOST:$NSQADMIN_HTTP/" )
  data        $DATA/

  publish:    curl -d 'hello' 'http://$HOST:$NSQD_HTTP/pub?topic=test'
  stats:      curl 'http://$HOST:$NSQD_HTTP/stats'
$( $archiving && echo "  archive:    $DATA/archive/ (every topic; a file per topic each minute that had messages)" )

  Ctrl-C stops everything.
EOT
# Wait until any process exits (or Ctrl-C), then stop the rest.
wait -n "${pids[@]}" || true
