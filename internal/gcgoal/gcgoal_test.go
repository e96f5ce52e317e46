package gcgoal

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPolicyPercentSplitsAtSmallBelow(t *testing.T) {
	p := Policy{SmallBelow: 4 << 20, Small: 50, Normal: 100}
	for _, c := range []struct {
		live uint64
		want int
	}{{0, 50}, {1 << 20, 50}, {4<<20 - 1, 50}, {4 << 20, 100}, {1 << 30, 100}} {
		if got := p.Percent(c.live); got != c.want {
			t.Errorf("Percent(%d) = %d, want %d", c.live, got, c.want)
		}
	}
}

// gcPercent reads the GC percent in effect, as the runtime reports it.
func gcPercent(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatalf("/gc/gogc:percent is not reported")
	}
	return int(s[0].Value.Uint64())
}

type observation struct {
	live    uint64
	percent int
}

// collectUntil runs collections until the tuner reports one whose percent
// is want, and returns it. The tuner runs on the finalizer goroutine after a
// cycle, so a report can lag the collection that caused it.
func collectUntil(t *testing.T, seen <-chan observation, want int) observation {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		runtime.GC()
		select {
		case o := <-seen:
			if o.percent == want {
				return o
			}
		case <-deadline:
			t.Fatalf("no collection reported percent %d within 10s", want)
		}
	}
}

// keep holds the big allocation of the test below where the compiler cannot
// drop it.
var keep []byte

func TestTunerSetsThePercentForTheLiveHeapAfterEveryCollection(t *testing.T) {
	if !Enabled() {
		t.Skip("GOGC or GOMEMLIMIT is set: the tuner leaves pacing alone")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	seen := make(chan observation, 64)
	p := Policy{SmallBelow: 32 << 20, Small: 50, Normal: 100}
	tuner := start(p, func(live uint64, percent int) {
		select {
		case seen <- observation{live, percent}:
		default:
		}
	})

	// A test binary's live heap is well under 32 MB: the small percent.
	o := collectUntil(t, seen, 50)
	if o.live >= p.SmallBelow {
		t.Fatalf("live heap %d reported with percent 50, want under %d", o.live, p.SmallBelow)
	}
	if got := gcPercent(t); got != 50 {
		t.Fatalf("GC percent %d with %d bytes live, want 50", got, o.live)
	}

	// 64 MB kept live: the default percent again.
	keep = make([]byte, 64<<20)
	o = collectUntil(t, seen, 100)
	if o.live < p.SmallBelow {
		t.Fatalf("live heap %d reported with percent 100, want at least %d", o.live, p.SmallBelow)
	}
	if got := gcPercent(t); got != 100 {
		t.Fatalf("GC percent %d with %d bytes live, want 100", got, o.live)
	}

	// Dropped: small again.
	keep = nil
	collectUntil(t, seen, 50)
	if got := gcPercent(t); got != 50 {
		t.Fatalf("GC percent %d after the big heap went, want 50", got)
	}

	// Stop restores the default and reports nothing more.
	tuner.Stop()
	if got := gcPercent(t); got != 100 {
		t.Fatalf("GC percent %d after Stop, want 100", got)
	}
	for len(seen) > 0 {
		<-seen
	}
	runtime.GC()
	runtime.GC()
	select {
	case o := <-seen:
		t.Fatalf("the tuner reported %+v after Stop", o)
	default:
	}
	if got := gcPercent(t); got != 100 {
		t.Fatalf("GC percent %d after Stop and two collections, want 100", got)
	}
}

func TestStartLeavesAChosenPacingAlone(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			value := "100"
			if env == "GOMEMLIMIT" {
				value = "1GiB"
			}
			t.Setenv(env, value)
			if Enabled() {
				t.Fatalf("Enabled() with %s set", env)
			}
			if tuner := Start(Default); tuner != nil {
				tuner.Stop()
				t.Fatalf("Start returned a tuner with %s set", env)
			}
			tuner := (*Tuner)(nil)
			tuner.Stop() // a nil tuner stops without effect
		})
	}
}
