package promexpo

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// The process collector's families are client_golang v1.25's on Linux
// (collectors.NewProcessCollector), read from /proc as it reads them.
var (
	processCPUDesc            = NewDesc(Counter, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.")
	processOpenFDsDesc        = NewDesc(Gauge, "process_open_fds", "Number of open file descriptors.")
	processMaxFDsDesc         = NewDesc(Gauge, "process_max_fds", "Maximum number of open file descriptors.")
	processVirtualDesc        = NewDesc(Gauge, "process_virtual_memory_bytes", "Virtual memory size in bytes.")
	processMaxVirtDesc        = NewDesc(Gauge, "process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.")
	processResidentDesc       = NewDesc(Gauge, "process_resident_memory_bytes", "Resident memory size in bytes.")
	processStartDesc          = NewDesc(Gauge, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
	processNetReceivedDesc    = NewDesc(Counter, "process_network_receive_bytes_total", "Number of bytes received by the process over the network.")
	processNetTransmittedDesc = NewDesc(Counter, "process_network_transmit_bytes_total", "Number of bytes sent by the process over the network.")
)

// userHZ is the unit of /proc's CPU times and start time: USER_HZ, 100 on
// every Linux architecture Go supports (as client_golang's procfs assumes).
const userHZ = 100

// processCollector reads this process's figures from /proc. A file it
// cannot read (no /proc: not Linux, or a sandbox) leaves its series out
// without an error, as client_golang's collector does by default: process
// figures are a mix-in, not worth a failure logged on every scrape.
type processCollector struct {
	proc     string // /proc/self
	pageSize uint64
	// fdCountBySize: proc is the kernel's, whose fd directory reports its
	// entry count as its size (Linux 6.2 on); a plain directory's size is
	// not a count.
	fdCountBySize bool

	mu       sync.Mutex // guards bootTime
	bootTime uint64     // /proc/stat's btime, read once: it does not change; 0 until read
}

// NewProcessCollector is the process collector for this process.
func NewProcessCollector() Collector {
	return &processCollector{proc: "/proc/self", pageSize: uint64(os.Getpagesize()), fdCountBySize: true}
}

func (c *processCollector) Collect(s *Scrape) error {
	if data, err := os.ReadFile(filepath.Join(c.proc, "stat")); err == nil {
		if st, err := parseProcStat(data); err == nil {
			s.Value(processCPUDesc, float64(st.utime+st.stime)/userHZ)
			s.Value(processVirtualDesc, float64(st.vsize))
			s.Value(processResidentDesc, float64(st.rss*c.pageSize))
			if boot, ok := c.boot(); ok {
				s.Value(processStartDesc, float64(boot)+float64(st.starttime)/userHZ)
			}
		}
	}
	if n, err := c.openFDs(); err == nil {
		s.Value(processOpenFDsDesc, float64(n))
	}
	if data, err := os.ReadFile(filepath.Join(c.proc, "limits")); err == nil {
		if l, err := parseLimits(data); err == nil {
			s.Value(processMaxFDsDesc, float64(l.openFiles))
			s.Value(processMaxVirtDesc, float64(l.addressSpace))
		}
	}
	if data, err := os.ReadFile(filepath.Join(c.proc, "net", "netstat")); err == nil {
		if in, out, err := parseNetstatOctets(data); err == nil {
			s.Value(processNetReceivedDesc, in)
			s.Value(processNetTransmittedDesc, out)
		}
	}
	return nil
}

// boot is the system's boot time in seconds since the epoch.
func (c *processCollector) boot() (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bootTime == 0 {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(c.proc), "stat"))
		if err != nil {
			return 0, false
		}
		if c.bootTime, err = parseBootTime(data); err != nil {
			return 0, false
		}
	}
	return c.bootTime, true
}

// openFDs counts /proc/self/fd: its size where the kernel reports the
// count so (Linux 6.2 on), else its entries (the directory's own
// descriptor among them, as client_golang counts).
func (c *processCollector) openFDs() (int, error) {
	dir := filepath.Join(c.proc, "fd")
	if c.fdCountBySize {
		if fi, err := os.Stat(dir); err == nil && fi.Size() > 0 {
			return int(fi.Size()), nil
		}
	}
	f, err := os.Open(dir)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	return len(names), err
}

// procStat is what the collector reads of /proc/PID/stat.
type procStat struct {
	utime, stime uint64 // CPU time in USER_HZ ticks
	starttime    uint64 // after boot, in USER_HZ ticks
	vsize        uint64 // bytes
	rss          uint64 // pages
}

// parseProcStat reads /proc/PID/stat: "pid (comm) state ppid ...", comm
// being any bytes up to the last ')'. The fields after it are numbered
// from 3 (state) in proc(5): utime 14, stime 15, starttime 22, vsize 23,
// rss 24.
func parseProcStat(data []byte) (procStat, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return procStat{}, errors.New("/proc stat: no ')' after the command name")
	}
	fields := strings.Fields(string(data[end+1:]))
	const first = 3 // the field number of fields[0]
	if len(fields) < 24-first+1 {
		return procStat{}, fmt.Errorf("/proc stat: %d fields after the command name, want at least %d", len(fields), 24-first+1)
	}
	var st procStat
	for _, f := range []struct {
		number int
		into   *uint64
	}{{14, &st.utime}, {15, &st.stime}, {22, &st.starttime}, {23, &st.vsize}, {24, &st.rss}} {
		v, err := strconv.ParseUint(fields[f.number-first], 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("/proc stat: field %d: %w", f.number, err)
		}
		*f.into = v
	}
	return st, nil
}

// parseBootTime reads the btime line of /proc/stat.
func parseBootTime(data []byte) (uint64, error) {
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "btime "); ok {
			v, err := strconv.ParseUint(strings.TrimSpace(rest), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/stat btime: %w", err)
			}
			if v == 0 {
				return 0, errors.New("/proc/stat btime: 0")
			}
			return v, nil
		}
	}
	return 0, errors.New("/proc/stat: no btime line")
}

// limits is what the collector reads of /proc/PID/limits: soft limits,
// unlimited being the largest uint64 (client_golang's reading).
type limits struct {
	openFiles, addressSpace uint64
}

// parseLimits reads the soft limits of "Max open files" and "Max address
// space" from /proc/PID/limits' table (name, soft, hard, units).
func parseLimits(data []byte) (limits, error) {
	var l limits
	var seen int
	for line := range strings.Lines(string(data)) {
		var into *uint64
		var rest string
		if r, ok := strings.CutPrefix(line, "Max open files"); ok {
			into, rest = &l.openFiles, r
		} else if r, ok := strings.CutPrefix(line, "Max address space"); ok {
			into, rest = &l.addressSpace, r
		} else {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return limits{}, fmt.Errorf("/proc limits: no soft limit in %q", line)
		}
		if fields[0] == "unlimited" {
			*into = math.MaxUint64
		} else {
			v, err := strconv.ParseUint(fields[0], 10, 64)
			if err != nil {
				return limits{}, fmt.Errorf("/proc limits: %q: %w", line, err)
			}
			*into = v
		}
		seen++
	}
	if seen != 2 {
		return limits{}, errors.New("/proc limits: no Max open files or Max address space line")
	}
	return l, nil
}

// parseNetstatOctets reads IpExt's InOctets and OutOctets from
// /proc/PID/net/netstat, where each table is a line of names and a line of
// values under the same "Name:" prefix. A counter the kernel does not
// report is 0.
func parseNetstatOctets(data []byte) (in, out float64, err error) {
	var header []string
	for line := range strings.Lines(string(data)) {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "IpExt:" {
			header = nil
			continue
		}
		if header == nil {
			header = fields[1:]
			continue
		}
		values := fields[1:]
		if len(values) != len(header) {
			return 0, 0, fmt.Errorf("/proc netstat: IpExt has %d names and %d values", len(header), len(values))
		}
		for i, name := range header {
			var into *float64
			switch name {
			case "InOctets":
				into = &in
			case "OutOctets":
				into = &out
			default:
				continue
			}
			if *into, err = strconv.ParseFloat(values[i], 64); err != nil {
				return 0, 0, fmt.Errorf("/proc netstat: IpExt %s: %w", name, err)
			}
		}
		return in, out, nil
	}
	return 0, 0, errors.New("/proc netstat: no IpExt table")
}
