//go:build !linux

package nsqd

// vectorIO is client_vector_linux.go's writev state; elsewhere a client
// has no raw socket (client.socket is nil) and writes its vectors as net
// does.
type vectorIO struct{}

func (*client) writevNow() (int, error) { panic("nsqd: no raw socket I/O on this platform") }
