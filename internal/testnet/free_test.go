package testnet

import (
	"net"
	"strconv"
	"testing"
)

// The address is free (a server can listen on it), and where the kernel
// says which ports it hands out by itself, it is not one of those.
func TestFreeAddrIsFreeAndOutsideTheEphemeralRange(t *testing.T) {
	for range 20 {
		addr := FreeAddr(t)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen on %s: %v", addr, err)
		}
		l.Close()
		if low, ok := ephemeralLow(); ok && low > minFreePort+1000 {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				t.Fatal(err)
			}
			p, err := strconv.Atoi(port)
			if err != nil {
				t.Fatal(err)
			}
			if p < minFreePort || p >= low {
				t.Fatalf("port %d: want one in [%d, %d), below the ephemeral range", p, minFreePort, low)
			}
		}
	}
}
