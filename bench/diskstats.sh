# What the block device under a directory read and wrote, from the kernel's
# per-device counters (/proc/diskstats; source it). bench/compare.sh uses it
# to show how much each daemon's data dir made the device write, beside the
# rates: where a shape's messages go past the memory bound, the device's
# write bandwidth can be its ceiling. Every function here prints nothing
# (and still succeeds) when it cannot tell, so a machine whose data dir is
# on tmpfs, overlayfs or an unknown device still gets its run, only without
# disk figures. The optional last argument of each is the counters' file
# (default /proc/diskstats), so that bench/compare_test.go can feed one.

# disk_device <dir> [file] prints the name the counters list the device
# holding <dir> under: the device whose major:minor is <dir>'s st_dev (a
# partition's own line where <dir> is on a partition), or else the one
# findmnt names as the mount's source (e.g. /dev/mapper/x -> dm-0).
disk_device() {
	local dir=$1 file=${2:-/proc/diskstats} majmin name src
	[[ -d $dir && -r $file ]] || return 0
	majmin=$(stat -c '%Hd %Ld' "$dir" 2>/dev/null) || majmin=
	if [[ ! $majmin =~ ^[0-9]+\ [0-9]+$ ]]; then
		# An older stat without %Hd/%Ld: split st_dev as glibc encodes it.
		local dev
		dev=$(stat -c '%d' "$dir" 2>/dev/null) || dev=
		[[ $dev =~ ^[0-9]+$ ]] && majmin="$(((dev >> 8) & 0xfff | (dev >> 32) & ~0xfff)) $(((dev & 0xff) | ((dev >> 12) & 0xffffff00)))"
	fi
	if [[ $majmin =~ ^[0-9]+\ [0-9]+$ ]]; then
		name=$(awk -v a="${majmin% *}" -v b="${majmin#* }" \
			'NF >= 10 && $1 == a && $2 == b { print $3; exit }' "$file" 2>/dev/null) || name=
		[[ -z $name ]] || { echo "$name"; return 0; }
	fi
	command -v findmnt >/dev/null || return 0
	src=$(findmnt -n -o SOURCE -T "$dir" 2>/dev/null) || return 0
	[[ $src == /dev/* ]] || return 0
	src=$(readlink -f "$src" 2>/dev/null) || return 0
	name=$(awk -v n="${src##*/}" 'NF >= 10 && $3 == n { print $3; exit }' "$file" 2>/dev/null) || name=
	[[ -z $name ]] || echo "$name"
	return 0
}

# disk_sectors <name> [file] prints "<sectors read> <sectors written>
# <ms busy>" so far for the named device, or nothing: sectors of 512 bytes
# whatever the device's own sector size (the kernel counts in 512-byte
# units), and the time the device had a request in flight (io_ticks), so
# that bytes over busy time is its rate while it was writing, not the
# average over a run that wrote only part of the time.
disk_sectors() {
	local name=$1 file=${2:-/proc/diskstats}
	[[ -n $name && -r $file ]] || return 0
	awk -v n="$name" 'NF >= 13 && $3 == n && $6 ~ /^[0-9]+$/ && $10 ~ /^[0-9]+$/ && $13 ~ /^[0-9]+$/ { print $6, $10, $13; exit }' "$file" 2>/dev/null || true
}

# disk_delta <before> <after> prints "<MB read> <MB written> <s busy>"
# between two disk_sectors readings (MB of 10^6 bytes), or nothing when
# either is missing or the counters went back (the device was replaced
# meanwhile).
disk_delta() {
	[[ $1 =~ ^[0-9]+\ [0-9]+\ [0-9]+$ && $2 =~ ^[0-9]+\ [0-9]+\ [0-9]+$ ]] || return 0
	awk -v a="$1" -v b="$2" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		if (y[1] < x[1] || y[2] < x[2] || y[3] < x[3]) exit
		printf "%.1f %.1f %.2f\n", (y[1] - x[1]) * 512 / 1e6, (y[2] - x[2]) * 512 / 1e6, (y[3] - x[3]) / 1000
	}'
}

# proc_write_bytes <pid> prints how many bytes the process has caused to be
# written to storage so far (/proc/PID/io's write_bytes: counted when it
# dirties a page, less nothing; a file deleted before its pages reached the
# device shows up in cancelled_write_bytes instead), or nothing.
proc_write_bytes() {
	awk '$1 == "write_bytes:" { print $2; exit }' "/proc/$1/io" 2>/dev/null || true
}
