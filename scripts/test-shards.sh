#!/usr/bin/env bash
# Runs one package's tests as N processes at once, each a share of its tests,
# for make test: the nsqd package's 500-odd tests run one after another in a
# single process and mostly wait (sockets, timers, disk), so split they take
# a fraction of the time for the same work. The test binary is built once.
#
#   scripts/test-shards.sh SHARDS PACKAGE [go test build flags, e.g. -race]
#
# Prints one "ok" line per share, or a failed share's whole output; exits
# non-zero when any share fails. Each share runs in the package's directory,
# as go test runs a test binary.
set -uo pipefail

shards=$1
pkg=$2
shift 2
go=${GO:-go}

dir=$($go list -f '{{.Dir}}' "$pkg") || exit 1
name=$($go list -f '{{.ImportPath}}' "$pkg") || exit 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! $go test -c -vet=off "$@" -o "$work/pkg.test" "$pkg" >"$work/build.log" 2>&1; then
	echo "FAIL	$name [build failed]"
	cat "$work/build.log"
	exit 1
fi

# Every test, fuzz target (its seed corpus) and example, dealt round-robin:
# the slow tests of one file go to different shares.
mapfile -t names < <(cd "$dir" && "$work/pkg.test" -test.list '.*' | grep -E '^(Test|Fuzz|Example)')
if [ ${#names[@]} -eq 0 ]; then
	echo "ok  	$name	[no tests]"
	exit 0
fi

pids=()
for ((s = 0; s < shards; s++)); do
	pattern=
	for ((i = s; i < ${#names[@]}; i += shards)); do
		pattern+="${pattern:+|}${names[i]}"
	done
	[ -n "$pattern" ] || continue
	(
		start=$(date +%s%N)
		cd "$dir" && "$work/pkg.test" -test.count=1 -test.timeout=10m -test.run "^($pattern)\$" >"$work/out.$s" 2>&1
		rc=$?
		ms=$((($(date +%s%N) - start) / 1000000))
		elapsed=$((ms / 1000)).$(printf '%03d' $((ms % 1000)))
		if [ $rc -eq 0 ]; then
			echo "ok  	$name	${elapsed}s [share $((s + 1))/$shards]"
		else
			cat "$work/out.$s"
			echo "FAIL	$name	${elapsed}s [share $((s + 1))/$shards]"
		fi
		exit $rc
	) &
	pids+=($!)
done

status=0
for pid in "${pids[@]}"; do
	wait "$pid" || status=1
done
exit $status
