package stats

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"strings"
	"time"
)

// Text renders the human-readable /stats, byte for byte in upstream's
// layout (widths, the tab in memory lines, the "*P " paused markers and the
// blank lines). No tool parses it, but operators diff it against upstream.
// version is the daemon's ("1.3.0"); mem is nil when the caller skipped the
// memory section; now is passed in so that uptimes are computed against
// one instant.
func Text(version string, s Snapshot, mem *Memory, health string, startTime, now time.Time) []byte {
	var w bytes.Buffer
	fmt.Fprintf(&w, "nsqd v%s (built w/%s)\n", version, runtime.Version())
	fmt.Fprintf(&w, "start_time %v\n", startTime.Format(time.RFC3339))
	fmt.Fprintf(&w, "uptime %s\n", now.Sub(startTime))
	fmt.Fprintf(&w, "\nHealth: %s\n", health)

	if mem != nil {
		w.WriteString("\nMemory:\n")
		for _, line := range []struct {
			name  string
			value uint64
		}{
			{"heap_objects", mem.HeapObjects},
			{"heap_idle_bytes", mem.HeapIdleBytes},
			{"heap_in_use_bytes", mem.HeapInUseBytes},
			{"heap_released_bytes", mem.HeapReleasedBytes},
			{"gc_pause_usec_100", mem.GCPauseUsec100},
			{"gc_pause_usec_99", mem.GCPauseUsec99},
			{"gc_pause_usec_95", mem.GCPauseUsec95},
			{"next_gc_bytes", mem.NextGCBytes},
			{"gc_total_runs", uint64(mem.GCTotalRuns)},
		} {
			fmt.Fprintf(&w, "   %-25s\t%d\n", line.name, line.value)
		}
	}

	if len(s.Topics) == 0 {
		w.WriteString("\nTopics: None\n")
	} else {
		// No newline here: each topic starts with one, so the first topic
		// follows directly and later ones get a blank line before them.
		w.WriteString("\nTopics:")
	}
	for _, t := range s.Topics {
		prefix := "   "
		if t.Paused {
			prefix = "*P "
		}
		fmt.Fprintf(&w, "\n%s[%-15s] depth: %-5d be-depth: %-5d msgs: %-8d e2e%%: %s\n",
			prefix, t.TopicName, t.Depth, t.BackendDepth, t.MessageCount, t.E2eProcessingLatency)
		for _, c := range t.Channels {
			prefix := "      "
			if c.Paused {
				prefix = "   *P "
			}
			fmt.Fprintf(&w, "%s[%-25s] depth: %-5d be-depth: %-5d inflt: %-4d def: %-4d re-q: %-5d timeout: %-5d msgs: %-8d e2e%%: %s\n",
				prefix, c.ChannelName, c.Depth, c.BackendDepth, c.InFlightCount, c.DeferredCount,
				c.RequeueCount, c.TimeoutCount, c.MessageCount, c.E2eProcessingLatency)
			for _, cl := range c.Clients {
				fmt.Fprintf(&w, "        %s\n", cl.textLine(now))
			}
		}
	}

	if len(s.Producers) == 0 {
		w.WriteString("\nProducers: None\n")
	} else {
		w.WriteString("\nProducers:\n")
		for _, cl := range s.Producers {
			fmt.Fprintf(&w, "   %s\n", cl.textLine(now))
		}
	}
	return w.Bytes()
}

// textLine is a client's line in the text /stats. As upstream, a client
// with pub counts is shown as a producer even in a channel's client list.
func (c Client) textLine(now time.Time) string {
	connected := now.Sub(time.Unix(c.ConnectTime, 0)).Truncate(time.Second)
	_, port, _ := net.SplitHostPort(c.RemoteAddress)
	id := fmt.Sprintf("%s:%s %s", c.Hostname, port, c.UserAgent)

	if len(c.PubCounts) > 0 {
		var total uint64
		topics := make([]string, 0, len(c.PubCounts))
		for _, pc := range c.PubCounts {
			total += pc.Count
			topics = append(topics, fmt.Sprintf("%s=%d", pc.Topic, pc.Count))
		}
		return fmt.Sprintf("[%s %-21s] msgs: %-8d topics: %s connected: %s",
			c.Version, id, total, strings.Join(topics, ","), connected)
	}
	return fmt.Sprintf("[%s %-21s] state: %d inflt: %-4d rdy: %-4d fin: %-8d re-q: %-8d msgs: %-8d connected: %s",
		c.Version, id, c.State, c.InFlightCount, c.ReadyCount, c.FinishCount, c.RequeueCount, c.MessageCount, connected)
}
