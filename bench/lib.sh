# Shared by the benchmark scripts (source it): a fresh nsqd on free local
# ports with a temporary data dir, stopped by its PID and removed on exit.
# Set nsqd_bin first; start_nsqd <mem-queue-size> sets nsqd_pid, tmpdir,
# tcp_addr and http_addr; create_channel <topic> <channel> makes both;
# peak_rss_kb prints the running nsqd's peak RSS; stop_nsqd stops it (at
# once with "now") and removes its data dir, so another can be started.

nsqd_pid=
tmpdir=
stop_nsqd() {
	if [[ -n $nsqd_pid && ${1:-} == now ]]; then
		# The data dir is thrown away: no need to wait for a flush.
		{ kill -KILL "$nsqd_pid" && wait "$nsqd_pid"; } 2>/dev/null || true
		nsqd_pid=
	fi
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
	nsqd_pid=
	tmpdir=
}
cleanup() { stop_nsqd; }
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

start_nsqd() {
	local mem_queue_size=$1 tcp_port http_port i
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
		[[ $(curl -s --max-time 1 "http://$http_addr/ping" || true) == OK ]] && return 0
		if ! kill -0 "$nsqd_pid" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	echo "bench: nsqd did not come up on $http_addr; its log:" >&2
	tail -n 20 "$tmpdir/nsqd.log" >&2
	exit 1
}

# peak_rss_kb prints the nsqd's peak resident set (VmHWM) in kB.
peak_rss_kb() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$nsqd_pid/status"
}

create_channel() {
	echo "# creating topic $1, channel $2"
	curl -sf -X POST "http://$http_addr/topic/create?topic=$1" >/dev/null ||
		{ echo "bench: topic create failed" >&2; exit 1; }
	curl -sf -X POST "http://$http_addr/channel/create?topic=$1&channel=$2" >/dev/null ||
		{ echo "bench: channel create failed" >&2; exit 1; }
}
