package e2e

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// sampleCount is how many samples the recorder's window holds at now.
func sampleCount(l *Recorder, now int64) uint64 {
	h := new(histogram)
	l.addTo(h, now)
	return h.total
}

// A sample stays visible until the half after its own ends: at least half
// the window, at most all of it, as upstream's two rotating streams.
func TestWindowKeepsSampleBetweenHalfAndFullWindow(t *testing.T) {
	const half = 1000
	const start = 50 * half // the first instant of a half

	early := NewRecorder(half)
	early.Record(start, start-10)
	require.EqualValues(t, 1, sampleCount(early, start+2*half-1), "visible for the whole window")
	require.EqualValues(t, 0, sampleCount(early, start+2*half), "gone once the window has passed")

	late := NewRecorder(half)
	late.Record(start+half-1, start-10) // the last instant of the same half
	require.EqualValues(t, 1, sampleCount(late, start+2*half-1), "visible for half the window")
	require.EqualValues(t, 0, sampleCount(late, start+2*half))
}

// A half is reused two halves later; what it held then is dropped, and
// the maximum with it.
func TestWindowReuseDropsTheOldHalf(t *testing.T) {
	const half = 1000
	l := NewRecorder(half)
	l.Record(10*half, 10*half-900)
	l.Record(12*half, 12*half-5)

	h := new(histogram)
	l.addTo(h, 12*half)
	require.EqualValues(t, 1, h.total)
	require.EqualValues(t, 5, h.max)
}

func TestWindowMergesBothHalves(t *testing.T) {
	const half = 1000
	l := NewRecorder(half)
	l.Record(10*half, 10*half-7)
	l.Record(11*half, 11*half-3)

	h := new(histogram)
	l.addTo(h, 11*half+1)
	require.EqualValues(t, 2, h.total)
	require.EqualValues(t, 7, h.max)
}

// A FIN whose clock reading is older than a half already reused is
// outside the window and must not land in the newer half.
func TestRecordWithAnExpiredClockReadingIsDropped(t *testing.T) {
	const half = 1000
	l := NewRecorder(half)
	l.Record(12*half, 12*half-5)
	l.Record(10*half, 10*half-5) // same half slot, two halves earlier
	require.EqualValues(t, 1, sampleCount(l, 12*half))
}

func TestNegativeLatencyCountsAsZero(t *testing.T) {
	l := NewRecorder(1000)
	l.Record(5000, 9000)
	h := new(histogram)
	l.addTo(h, 5000)
	require.EqualValues(t, 1, h.total)
	require.EqualValues(t, 1, h.counts[0])
	require.Zero(t, h.quantile(1))
}

// Consumers of one channel FIN from their own goroutines; no sample may
// be lost, including across the rotation to a new half.
func TestConcurrentRecordsAreAllCounted(t *testing.T) {
	const half = 1_000_000
	l := NewRecorder(half)
	l.Record(9*half, 9*half-1) // leaves the slot of half 11 to be rotated
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				now := int64(11*half + i)
				l.Record(now, now-int64(w*1000+i))
			}
		}()
	}
	wg.Wait()
	h := new(histogram)
	l.addTo(h, 11*half)
	require.EqualValues(t, workers*each, h.total)
	require.EqualValues(t, (workers-1)*1000+each-1, h.max)
}

func TestNilRecorderAddsNothing(t *testing.T) {
	var l *Recorder
	h := new(histogram)
	l.addTo(h, 1)
	require.Zero(t, h.total)
}
