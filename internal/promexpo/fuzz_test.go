package promexpo

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// The parsers of bytes from outside: a scraper's Accept-Encoding header,
// and /proc's files (the kernel's, but a sandbox may serve anything). Each
// must answer or refuse, never panic; the seeds run as a normal test.

func FuzzAcceptsGzip(f *testing.F) {
	for _, seed := range []string{"gzip", "deflate, gzip;q=1.0, *;q=0.5", "gzip;q=0", "*;q=0, gzip", "identity", ";;,,=;q=",
		"gzip;q=1e-400", "gzip;q=NaN", "x-gzip;Q=0.5", "\xff\xfe", "br, *"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := acceptsGzip(header)
		lower := strings.ToLower(header)
		if got && !strings.Contains(lower, "gzip") && !strings.Contains(lower, "*") {
			t.Fatalf("gzip accepted from %q, which names neither gzip nor *", header)
		}
		if got != acceptsGzip(header) {
			t.Fatalf("two answers for %q", header)
		}
	})
}

func addProcSeed(f *testing.F, path string) {
	if data, err := os.ReadFile(path); err == nil {
		f.Add(data)
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte(statLine))
	f.Add([]byte("1 () S"))
	f.Add([]byte(")" + strings.Repeat(" 1", 30)))
	addProcSeed(f, "/proc/self/stat")
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := parseProcStat(data); err == nil && !bytes.Contains(data, []byte(")")) {
			t.Fatalf("parsed %q, which has no ')'", data)
		}
	})
}

func FuzzParseLimits(f *testing.F) {
	f.Add([]byte(limitsText))
	f.Add([]byte("Max open files\nMax address space unlimited"))
	addProcSeed(f, "/proc/self/limits")
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := parseLimits(data); err == nil &&
			(!bytes.Contains(data, []byte("Max open files")) || !bytes.Contains(data, []byte("Max address space"))) {
			t.Fatalf("parsed %q, which lacks a limit", data)
		}
	})
}

func FuzzParseNetstatOctets(f *testing.F) {
	f.Add([]byte(netstatText))
	f.Add([]byte("IpExt: InOctets\nIpExt:\n"))
	f.Add([]byte("IpExt: OutOctets InOctets\nIpExt: 1e400 -0\n"))
	addProcSeed(f, "/proc/self/net/netstat")
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, _, err := parseNetstatOctets(data); err == nil && !bytes.Contains(data, []byte("IpExt:")) {
			t.Fatalf("parsed %q, which has no IpExt table", data)
		}
	})
}

func FuzzParseBootTime(f *testing.F) {
	f.Add([]byte(procStatText))
	f.Add([]byte("btime \n"))
	addProcSeed(f, "/proc/stat")
	f.Fuzz(func(t *testing.T, data []byte) {
		if v, err := parseBootTime(data); err == nil && (v == 0 || !bytes.Contains(data, []byte("btime "))) {
			t.Fatalf("parsed %q as %d", data, v)
		}
	})
}
