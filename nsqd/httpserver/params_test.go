package httpserver

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/nsqd/queue"
)

// logOnly is a Daemon that only logs: the mappings below ask it for
// nothing else, and any other call panics on the nil interface.
type logOnly struct {
	Daemon
	mu   sync.Mutex
	logs []string
}

func (d *logOnly) Logf(level logging.Level, format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.logs = append(d.logs, fmt.Sprintf(format, args...))
}

func TestHTTPPublishErrorMapsExitingTo503AndOtherFailuresTo500(t *testing.T) {
	d := &logOnly{}
	s := &Server{daemon: d} // the mapping needs no running daemon
	require.Equal(t, httpapi.Errorf(http.StatusServiceUnavailable, "EXITING"),
		s.publishError("test", fmt.Errorf("topic t: %w", ErrExiting)))
	require.Equal(t, httpapi.Errorf(http.StatusServiceUnavailable, "QUEUE_FULL"),
		s.publishError("test", fmt.Errorf("channel c: %w", queue.ErrFull)))
	require.Empty(t, d.logs, "refusals the publisher is told about are not logged")
	require.Equal(t, httpapi.Errorf(http.StatusInternalServerError, "INTERNAL_ERROR"),
		s.publishError("test", errors.New("write to disk: no space left on device")))
	require.Len(t, d.logs, 1)
	require.True(t, strings.HasSuffix(d.logs[0], "test failed - write to disk: no space left on device"), d.logs[0])
}
