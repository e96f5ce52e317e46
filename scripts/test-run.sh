#!/usr/bin/env bash
# Runs packages' tests as go test would, for make test, with two differences
# that save most of the suite's CPU on a machine with few cores:
#
#   - The test binaries are kept (in BIN_DIR), so a run after one that
#     changed nothing links none of them again: go test links every test
#     binary on every run, about 40 s of CPU for this module's 48 packages.
#   - The packages in SHARD_PKGS run as SHARDS processes at once, each a
#     share of the tests: in one process a package's tests run one after
#     another, and nsqd's 500-odd mostly wait.
#
#   BIN_DIR=build/test/race P=4 SHARDS=4 SHARD_PKGS="./nsqd" \
#     scripts/test-run.sh [go test build flags, e.g. -race] -- PACKAGES...
#
# Packages start in the order given (the sharded ones first), P at a time
# plus the shares. Prints "ok" per package (per share), or a failed one's
# whole output; exits non-zero when any fails. Each runs in its package's
# directory, as go test runs a test binary, with -test.count=1 and a
# 10 minute timeout.
set -uo pipefail

go=${GO:-go}
bin_dir=${BIN_DIR:?BIN_DIR names where the test binaries are kept}
parallel=${P:-4}
shards=${SHARDS:-1}
shard_pkgs=${SHARD_PKGS:-}

flags=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	flags+=("$1")
	shift
done
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || { echo "test-run.sh: no packages" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$bin_dir" && bin_dir=$(cd "$bin_dir" && pwd) || exit 1 # the jobs cd

# import path, directory, and whether it has tests, for each package.
sharded=" "
if [ -n "$shard_pkgs" ]; then
	# shellcheck disable=SC2086 # a list of packages
	sharded=" $($go list $shard_pkgs | tr '\n' ' ') " || exit 1
fi
mapfile -t listed < <($go list -f '{{.ImportPath}} {{.Dir}} {{if or .TestGoFiles .XTestGoFiles}}tests{{end}}' "$@") || exit 1

# One go test -c per group of packages whose names differ (it names each
# binary after its package: nsqd and apps/nsqd would collide), into a
# directory of the group's own.
declare -A group_of taken
pkgs=() dirs=() bins=()
for line in "${listed[@]}"; do
	read -r path dir tests <<<"$line"
	if [ -z "$tests" ]; then
		echo "?   	$path	[no test files]"
		continue
	fi
	name=${path##*/}
	g=0
	while [ -n "${taken[$g/$name]:-}" ]; do g=$((g + 1)); done
	taken[$g/$name]=1
	group_of[$g]+=" $path"
	pkgs+=("$path")
	dirs+=("$dir")
	bins+=("$bin_dir/$g/$name.test")
done
for g in "${!group_of[@]}"; do
	mkdir -p "$bin_dir/$g"
	# shellcheck disable=SC2086 # the group is a list of import paths
	if ! $go test -c -vet=off "${flags[@]}" -o "$bin_dir/$g/" ${group_of[$g]} >"$work/build.$g" 2>&1; then
		cat "$work/build.$g"
		echo "FAIL	[building the test binaries]"
		exit 1
	fi
	grep -v 'no test files' "$work/build.$g"
done

# The jobs: a package, or one share of a sharded package's tests (a -run
# pattern of every Nth test, fuzz target and example, in listing order).
jobs=()
for i in "${!pkgs[@]}"; do
	case "$sharded" in
	*" ${pkgs[i]} "*) ;;
	*) continue ;;
	esac
	mapfile -t names < <(cd "${dirs[i]}" && "${bins[i]}" -test.list '.*' | grep -E '^(Test|Fuzz|Example)')
	for ((s = 0; s < shards; s++)); do
		pattern=
		for ((k = s; k < ${#names[@]}; k += shards)); do
			pattern+="${pattern:+|}${names[k]}"
		done
		[ -n "$pattern" ] && jobs+=("$i $((s + 1))/$shards ^($pattern)\$")
	done
done
nshares=${#jobs[@]}
for i in "${!pkgs[@]}"; do
	case "$sharded" in
	*" ${pkgs[i]} "*) ;;
	*) jobs+=("$i - .") ;;
	esac
done

# A job started with & by a shell without job control (this script's, or
# make's when it runs this script in the background) ignores SIGINT and
# SIGQUIT, and an exec'd test binary would pass that on to the processes it
# starts: scripts/run.sh's Ctrl-C test then never stopped. go test resets
# them; so does env --default-signal (GNU coreutils 8.31 and later) here.
reset_signals=()
if env --default-signal=INT,QUIT true 2>/dev/null; then
	reset_signals=(env --default-signal=INT,QUIT)
fi

run_job() {
	local n=$1 i share pattern
	read -r i share pattern <<<"${jobs[n]}"
	local label=""
	[ "$share" != "-" ] && label=" [share $share]"
	local start rc ms
	start=$(date +%s%N)
	(cd "${dirs[i]}" && exec "${reset_signals[@]}" "${bins[i]}" -test.paniconexit0 -test.count=1 -test.timeout=10m -test.run "$pattern") >"$work/out.$n" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	local elapsed=$((ms / 1000)).$(printf '%03d' $((ms % 1000)))s
	if [ $rc -eq 0 ]; then
		echo "ok  	${pkgs[i]}	$elapsed$label" >"$work/result.$n"
	else
		{
			cat "$work/out.$n"
			echo "FAIL	${pkgs[i]}	$elapsed$label"
		} >"$work/result.$n"
	fi
	# One job's report at a time, whole.
	{
		flock 9 2>/dev/null
		cat "$work/result.$n"
	} 9>>"$work/print.lock"
	return $rc
}

status=0
running=0
for n in "${!jobs[@]}"; do
	if [ $running -ge $((parallel + nshares)) ]; then
		wait -n || status=1
		running=$((running - 1))
	fi
	run_job "$n" &
	running=$((running + 1))
done
while [ $running -gt 0 ]; do
	wait -n || status=1
	running=$((running - 1))
done
exit $status
