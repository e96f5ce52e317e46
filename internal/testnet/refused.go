package testnet

import (
	"fmt"
	"net"
	"syscall"
	"testing"
)

// RefusedAddr returns a loopback host:port that refuses connections for the
// rest of the test. The port is held by a TCP socket that is bound but never
// listens: a connect gets a reset at once, and no other socket can take the
// port meanwhile. (Listening and closing again, the usual trick, frees the
// port for any other test or process to bind, after which a "refused"
// address may answer.)
func RefusedAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("testnet: socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("testnet: bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("testnet: getsockname: %v", err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		t.Fatalf("testnet: unexpected socket address %T", sa)
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(in4.Port))
}
