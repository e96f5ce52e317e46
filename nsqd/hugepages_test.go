package nsqd

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/hugepage"
)

// requireMadvise skips a test that needs the kernel to hand out huge pages
// on request.
func requireMadvise(t *testing.T) {
	t.Helper()
	if m := hugepage.Mode(); m != hugepage.ModeMadvise {
		t.Skipf("transparent huge pages are %v here, not madvise", m)
	}
}

func requireMarked[T any](t *testing.T, what string, s []T) {
	t.Helper()
	marked, err := hugepage.Marked(s)
	require.NoError(t, err)
	require.True(t, marked, "%s: its mapping is not marked for huge pages", what)
}

// A batch's slabs and a big body are advised before their bytes arrive.
func TestBodyMemoryIsAdvisedBeforeItIsFilled(t *testing.T) {
	requireMadvise(t)
	adv := hugepage.New(hugepage.Config{Enabled: true, MinHeapBytes: 1})

	a := slabAllocator{fresh: adv}
	a.reset()
	body := a.alloc(0, 200, 200*200)
	requireMarked(t, "a slab", a.slab)
	require.Len(t, body, 200)

	big := bytes.Repeat([]byte("b"), 3*bodyChunk)
	got, err := readAppendFresh(adv, bytes.NewReader(big), nil, len(big), len(big))
	require.NoError(t, err)
	require.Equal(t, big, got)
	requireMarked(t, "a big body", got)
	require.NotZero(t, adv.Windows())
}

// The daemon's advisor follows --huge-pages, and a publish into a heap past
// the advisor's threshold advises windows (the publishing connection's
// slabs, the channel's ring blocks).
func TestDaemonAdvisesPublishedMemory(t *testing.T) {
	requireMadvise(t)
	off := startDaemon(t, nil) // off by default (README "Huge pages")
	require.False(t, off.hugePages.Active())

	// The advisor acts once the runtime has mapped DefaultMinHeapBytes.
	ballast := make([]byte, hugepage.DefaultMinHeapBytes)
	defer runtime.KeepAlive(ballast)

	n := startDaemon(t, func(o *Options) { o.HugePages = true })
	require.True(t, n.hugePages.Active())
	c := dialV2(t, n)
	httpDo(t, "POST", httpURL(n, "/channel/create?topic=hp&channel=ch"), nil)
	bodies := make([]string, 200)
	for i := range bodies {
		bodies[i] = strings.Repeat("m", 200)
	}
	for range 20 {
		c.mpub("hp", bodies...)
	}
	c.pub("hp", strings.Repeat("p", 64<<10))
	require.NotZero(t, n.hugePages.Windows())

	for range 20 {
		c2 := dialV2(t, off)
		c2.mpub("hp", bodies...)
		c2.conn.Close()
	}
	require.Zero(t, off.hugePages.Windows())
}
