//go:build !linux

package nsqd

import "net"

// socketIO is client_rawio_linux.go's raw socket I/O; elsewhere a client
// reads and writes its connection as net does.
type socketIO struct{ wouldBlock func() error }

func newSocketIO(net.Conn) *socketIO { return nil }

func (*socketIO) Read([]byte) (int, error)  { panic("nsqd: no raw socket I/O on this platform") }
func (*socketIO) Write([]byte) (int, error) { panic("nsqd: no raw socket I/O on this platform") }
func (*socketIO) WriteNow([]byte) (int, error) {
	panic("nsqd: no raw socket I/O on this platform")
}
