package promexpo

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

const (
	// A command name with a space and parentheses: the fields start after
	// the last ')'.
	statLine = "4242 (nsqd (x) y) S 1 4242 4242 0 -1 4194560 3034 0 0 0 150 25 0 0 20 0 9 0 123456 1234567168 2345 " +
		"18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	limitsText = `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max file size             unlimited            unlimited            bytes     
Max open files            1024                 1048576              files     
Max locked memory         8388608              8388608              bytes     
Max address space         unlimited            unlimited            bytes     
`
	netstatText = `TcpExt: SyncookiesSent SyncookiesRecv
TcpExt: 0 0
IpExt: InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts OutBcastPkts InOctets OutOctets InMcastOctets
IpExt: 0 0 0 0 0 0 123456789 987654 0
MPTcpExt: MPCapableSYNRX
MPTcpExt: 0
`
	procStatText = "cpu  1 2 3 4\ncpu0 1 2 3 4\nintr 1 2 3\nctxt 99\nbtime 1764900000\nprocesses 12\n"
)

func TestParseProcStat(t *testing.T) {
	st, err := parseProcStat([]byte(statLine))
	require.NoError(t, err)
	require.Equal(t, procStat{utime: 150, stime: 25, starttime: 123456, vsize: 1234567168, rss: 2345}, st)
	for _, bad := range []string{"", "4242 nsqd S 1", "4242 (nsqd) S 1 2 3", "4242 (nsqd) S 1 4242 4242 0 -1 4194560 3034 0 0 0 x 25 0 0 20 0 9 0 1 2 3"} {
		_, err := parseProcStat([]byte(bad))
		require.Error(t, err, bad)
	}
}

func TestParseLimits(t *testing.T) {
	l, err := parseLimits([]byte(limitsText))
	require.NoError(t, err)
	require.Equal(t, limits{openFiles: 1024, addressSpace: math.MaxUint64}, l)
	_, err = parseLimits([]byte("Limit Soft Hard\nMax open files 12 12 files\n"))
	require.Error(t, err, "no address space line")
	_, err = parseLimits([]byte("Max open files            many\nMax address space 1\n"))
	require.Error(t, err)
}

func TestParseNetstatOctets(t *testing.T) {
	in, out, err := parseNetstatOctets([]byte(netstatText))
	require.NoError(t, err)
	require.Equal(t, float64(123456789), in)
	require.Equal(t, float64(987654), out)
	in, out, err = parseNetstatOctets([]byte("IpExt: InNoRoutes\nIpExt: 3\n"))
	require.NoError(t, err, "counters the kernel does not report are 0")
	require.Zero(t, in)
	require.Zero(t, out)
	for _, bad := range []string{"", "TcpExt: a\nTcpExt: 1\n", "IpExt: InOctets OutOctets\nIpExt: 1\n", "IpExt: InOctets\nIpExt: x\n"} {
		_, _, err := parseNetstatOctets([]byte(bad))
		require.Error(t, err, bad)
	}
}

func TestParseBootTime(t *testing.T) {
	boot, err := parseBootTime([]byte(procStatText))
	require.NoError(t, err)
	require.Equal(t, uint64(1764900000), boot)
	for _, bad := range []string{"", "cpu 1 2\n", "btime x\n", "btime 0\n"} {
		_, err := parseBootTime([]byte(bad))
		require.Error(t, err, bad)
	}
}

// The collector reads a /proc laid out like the kernel's: every family,
// with the values its files say.
func TestProcessCollectorReadsProc(t *testing.T) {
	root := t.TempDir()
	self := filepath.Join(root, "self")
	require.NoError(t, os.MkdirAll(filepath.Join(self, "net"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(self, "fd"), 0o755))
	for name, text := range map[string]string{
		filepath.Join(self, "stat"):            statLine,
		filepath.Join(self, "limits"):          limitsText,
		filepath.Join(self, "net", "netstat"):  netstatText,
		filepath.Join(root, "stat"):            procStatText,
		filepath.Join(self, "fd", "0"):         "",
		filepath.Join(self, "fd", "1"):         "",
		filepath.Join(self, "fd", "2"):         "",
		filepath.Join(self, "fd", "something"): "",
	} {
		require.NoError(t, os.WriteFile(name, []byte(text), 0o644))
	}
	c := &processCollector{proc: self, pageSize: 4096}
	got := map[string]float64{}
	for name, f := range scrapeOurs(t, c) {
		m := f.GetMetric()[0]
		if f.GetType() == dto.MetricType_COUNTER {
			got[name] = m.GetCounter().GetValue()
		} else {
			got[name] = m.GetGauge().GetValue()
		}
	}
	start := got["process_start_time_seconds"]
	delete(got, "process_start_time_seconds")
	require.InDelta(t, 1764900000+1234.56, start, 1e-6)
	require.Equal(t, map[string]float64{
		"process_open_fds":                     4,
		"process_cpu_seconds_total":            1.75,
		"process_virtual_memory_bytes":         1234567168,
		"process_resident_memory_bytes":        2345 * 4096,
		"process_max_fds":                      1024,
		"process_virtual_memory_max_bytes":     math.MaxUint64,
		"process_network_receive_bytes_total":  123456789,
		"process_network_transmit_bytes_total": 987654,
	}, got)
}

// Without /proc (another OS, a sandbox) the process families are left
// out and nothing fails.
func TestProcessCollectorWithoutProc(t *testing.T) {
	c := &processCollector{proc: filepath.Join(t.TempDir(), "missing", "self"), pageSize: 4096}
	require.Empty(t, scrapeOurs(t, c))
}

// On this machine: descriptors opened show, and the process started
// before now.
func TestProcessCollectorReadsThisProcess(t *testing.T) {
	c := NewProcessCollector()
	openFDs := func() float64 {
		return scrapeOurs(t, c)["process_open_fds"].GetMetric()[0].GetGauge().GetValue()
	}
	warm, err := os.Open(os.Args[0]) // the first open may set up the runtime's poller
	require.NoError(t, err)
	warm.Close()
	before := openFDs()
	for range 8 {
		f, err := os.Open(os.Args[0])
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
	}
	require.Equal(t, before+8, openFDs())
	start := scrapeOurs(t, c)["process_start_time_seconds"].GetMetric()[0].GetGauge().GetValue()
	require.Less(t, start, float64(time.Now().Unix()+1))
	require.Greater(t, start, float64(time.Now().Add(-24*time.Hour).Unix()))
}
