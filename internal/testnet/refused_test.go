package testnet

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

func TestRefusedAddrRefusesAndKeepsItsPort(t *testing.T) {
	addr := RefusedAddr(t)
	for i := 0; i < 3; i++ {
		_, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial %s: want connection refused, got %v", addr, err)
		}
	}
	// The port stays taken: nothing else can listen on it while the test runs.
	if l, err := net.Listen("tcp", addr); err == nil {
		l.Close()
		t.Fatalf("listen on %s succeeded: the port was not held", addr)
	}
}
