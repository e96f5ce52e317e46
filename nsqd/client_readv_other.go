//go:build !linux

package nsqd

import "net"

// newVectorReader returns conn's own vectorReader (tests' fake
// connections); sockets read the size field after a body on its own here.
func newVectorReader(conn net.Conn) vectorReader {
	if v, ok := conn.(vectorReader); ok {
		return v
	}
	return nil
}
