package lookupclient

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/testnet"
)

// A lookupd that cannot be reached is retried; the failure is a warning
// (nsqd logs it at WARN), not an info line.
func TestUnreachableLookupdIsReportedThroughWarnf(t *testing.T) {
	addr := testnet.RefusedAddr(t)

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
