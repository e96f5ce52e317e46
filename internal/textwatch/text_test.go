package textwatch

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAwaitSeesTextWrittenByAnotherGoroutine(t *testing.T) {
	w := New()
	_, ok := w.Await(time.Millisecond, func(s string) bool { return strings.Contains(s, "ready") })
	require.False(t, ok, "nothing written yet")
	go func() {
		for i := range 3 {
			fmt.Fprintf(w, "line %d\n", i)
		}
		fmt.Fprintln(w, "ready")
	}()
	text, ok := w.Await(10*time.Second, func(s string) bool { return strings.Contains(s, "ready") })
	require.True(t, ok)
	require.Equal(t, "line 0\nline 1\nline 2\nready\n", text)
	require.Equal(t, text, w.String())
}

func TestEchoPassesEachWriteToTheTestLog(t *testing.T) {
	w := Echo(t)
	n, err := w.Write([]byte("logged\n"))
	require.NoError(t, err)
	require.Equal(t, 7, n)
	require.Equal(t, "logged\n", w.String())
}
