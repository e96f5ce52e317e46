package lookupclient

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A lookupd that cannot be reached is retried; the failure is a warning
// (nsqd logs it at WARN), not an info line.
func TestUnreachableLookupdIsReportedThroughWarnf(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	warnings := make(chan string, 16)
	newTestClient(t, Options{Addresses: []string{addr},
		Warnf: func(format string, args ...any) {
			select {
			case warnings <- fmt.Sprintf(format, args...):
			default:
			}
		}})
	select {
	case w := <-warnings:
		require.True(t, strings.HasPrefix(w, "LOOKUPD("+addr+"): "), w)
		require.Contains(t, w, "connection refused")
		require.Contains(t, w, "reconnecting in")
	case <-time.After(testTimeout):
		t.Fatal("no warning for an unreachable lookupd")
	}
}
