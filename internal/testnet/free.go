package testnet

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// FreeAddr returns a loopback host:port that nothing listens on at the time
// of the call, for a server the test starts on it later (a child process,
// or a daemon that must come up after its clients). The port is taken below
// the kernel's ephemeral range when there is room there (Linux): the other
// tests running meanwhile, in this process and in others, bind port 0 and
// connect by the thousand, and any of those sockets may be handed a port of
// that range, after which listening on it fails (EADDRINUSE, even for a
// connecting socket's local port). Elsewhere, or when no port tried below
// the range is free, it is one the kernel picks, which another socket may
// take before the server binds it.
func FreeAddr(t testing.TB) string {
	t.Helper()
	if low, ok := ephemeralLow(); ok && low > minFreePort+1000 {
		for range 100 {
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(minFreePort+rand.IntN(low-minFreePort)))
			if l, err := net.Listen("tcp", addr); err == nil {
				if err := l.Close(); err != nil {
					t.Fatalf("testnet: close %s: %v", addr, err)
				}
				return addr
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testnet: listen: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("testnet: close %s: %v", addr, err)
	}
	return addr
}

// minFreePort keeps FreeAddr clear of the well-known ports and of the
// daemons' defaults (4150-4171).
const minFreePort = 10000

// ephemeralLow is the first port of the kernel's ephemeral range, where
// the system says (Linux).
func ephemeralLow() (int, bool) {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, false
	}
	fields := strings.Fields(string(data))
	if len(fields) != 2 {
		return 0, false
	}
	low, err := strconv.Atoi(fields[0])
	return low, err == nil
}
