package queue

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDeferredHeapTakeIfKeepsTheRestInOrder(t *testing.T) {
	var h deferredHeap
	for i := range 200 {
		h.Push(Message{DeliverAt: int64(rand.IntN(1000)) + 1, Attempts: uint16(i)})
	}
	taken := h.TakeIf(func(m *Message) bool { return m.Attempts%3 == 0 }, nil)
	require.Len(t, taken, 67)
	for _, m := range taken {
		require.Zero(t, m.Attempts%3)
	}
	require.Equal(t, 133, h.Len())
	rest := h.PopDue(1<<62, nil)
	require.Len(t, rest, 133)
	for i := range rest {
		require.NotZero(t, rest[i].Attempts%3)
		if i > 0 {
			require.LessOrEqual(t, rest[i-1].DeliverAt, rest[i].DeliverAt, "due order")
		}
	}
}
