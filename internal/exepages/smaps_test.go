package exepages

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const exe = "/opt/nsq/bin/nsqd"

// A listing in /proc/PID/smaps' layout (fields trimmed to those read and a
// few others), with the mappings a dynamically linked daemon has.
const sampleSmaps = `00400000-0086e000 r-xp 00000000 fe:00 10076943                           /opt/nsq/bin/nsqd
Size:               4536 kB
Rss:                3960 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me dw sd
0086e000-00d03000 r--p 0046e000 fe:00 10076943                           /opt/nsq/bin/nsqd
Size:               4692 kB
Rss:                3924 kB
Anonymous:             0 kB
00d03000-00d64000 rw-p 00903000 fe:00 10076943                           /opt/nsq/bin/nsqd
Size:                388 kB
Rss:                 272 kB
Anonymous:            76 kB
00d64000-00d70000 r--p 00964000 fe:00 10076943                           /opt/nsq/bin/nsqd
Size:                 48 kB
Rss:                  48 kB
Anonymous:            48 kB
00d70000-00d80000 r--p 00974000 fe:00 10076943                           /opt/nsq/bin/nsqd
Size:                 64 kB
Rss:                  64 kB
c000000000-c004000000 rw-p 00000000 00:00 0 
Size:              65536 kB
Rss:                6500 kB
Anonymous:          6500 kB
7f0000000000-7f0000020000 r-xp 00000000 fe:00 222                        /usr/lib/x86_64-linux-gnu/libc.so.6
Size:                128 kB
Rss:                 128 kB
Anonymous:             0 kB
7f0000100000-7f0000110000 r-xp 00000000 fe:00 333                        /opt/nsq/bin/nsqd.old
Size:                 64 kB
Rss:                  64 kB
Anonymous:             0 kB
`

func TestSelectSpansTakesOnlyTheExecutablesUnmodifiedReadOnlyMappings(t *testing.T) {
	spans, err := selectSpans(strings.NewReader(sampleSmaps), exe)
	require.NoError(t, err)
	// The code and read-only data; not the writable data, not the read-only
	// mapping with copied pages, not the one whose Anonymous line is
	// missing, not the heap, not another file's code.
	require.Equal(t, []span{
		{start: 0x400000, end: 0x86e000, rssBytes: 3960 << 10},
		{start: 0x86e000, end: 0xd03000, rssBytes: 3924 << 10},
	}, spans)
}

func TestSelectSpansKeepsPathsWithSpaces(t *testing.T) {
	listing := "00400000-00500000 r-xp 00000000 fe:00 1 /opt/my apps/nsqd (deleted)\nRss: 8 kB\nAnonymous: 0 kB\n"
	spans, err := selectSpans(strings.NewReader(listing), "/opt/my apps/nsqd (deleted)")
	require.NoError(t, err)
	require.Equal(t, []span{{start: 0x400000, end: 0x500000, rssBytes: 8 << 10}}, spans)
	spans, err = selectSpans(strings.NewReader(listing), "/opt/my apps/nsqd")
	require.NoError(t, err)
	require.Empty(t, spans)
}

func TestSelectSpansRejectsAnUnreadableSize(t *testing.T) {
	for _, bad := range []string{"Rss: 12 MB\n", "Anonymous: x kB\n"} {
		listing := "00400000-00500000 r-xp 00000000 fe:00 1 /opt/nsq/bin/nsqd\n" + bad
		_, err := selectSpans(strings.NewReader(listing), exe)
		require.Error(t, err, bad)
	}
}

// Release runs in the process it means to shrink: reading a listing must
// not leave garbage per line in fresh heap pages.
func TestSelectSpansAllocatesNothingPerLine(t *testing.T) {
	long := strings.Repeat(sampleSmaps, 50) // 400 mappings, 1,400 lines
	allocs := testing.AllocsPerRun(5, func() {
		spans, err := selectSpans(strings.NewReader(long), exe)
		if err != nil || len(spans) != 100 {
			t.Fatalf("spans %d, err %v", len(spans), err)
		}
	})
	// The scanner and its buffer, and the spans slice growing to 100.
	require.LessOrEqual(t, allocs, 12.0)
}

// FuzzSmapsScanner feeds the smaps reader arbitrary listings: it never
// panics, a header has the permissions it is read by, a field's key holds
// no colon, and every span Release would drop is a non-empty range named
// by a header line of the executable. The seeds run as a normal test.
func FuzzSmapsScanner(f *testing.F) {
	f.Add(sampleSmaps)
	f.Add("00400000-00500000 r-xp 00000000 fe:00 1 /opt/my apps/nsqd (deleted)\nRss: 8 kB\nAnonymous: 0 kB\n")
	f.Add("00400000-00500000 r-xp 00000000 fe:00 1 /opt/nsq/bin/nsqd\nRss: 12 MB\n")
	f.Add("c000000000-c000400000 rw-p 00000000 00:00 0 \nTHPeligible:    1\nVmFlags: rd wr mr mw me ac sd hg\n")
	f.Add("00500000-00400000 r-xp 0 0 0 /opt/nsq/bin/nsqd\nRss: 4 kB\nAnonymous: 0 kB\n") // end before start
	f.Add("0-1 r 0 0 0 /opt/nsq/bin/nsqd\n")                                              // one-letter perms
	f.Add("ffffffffffffffff0-1 r-xp 0 0 0 /opt/nsq/bin/nsqd\nAnonymous: 0 kB\n")          // 17 digits
	f.Add("00400000-00500000 r-xp 0 0 0 /opt/nsq/bin/nsqd\nRss: 999999999999999 kB\nAnonymous: 0 kB\n")
	f.Fuzz(func(t *testing.T, listing string) {
		headers := map[[2]uint64]bool{} // of the executable
		sc := NewSmapsScanner(strings.NewReader(listing))
		for sc.Scan() {
			if h, ok := sc.Header(); ok {
				if len(h.Perms) < 2 {
					t.Fatalf("header %q with permissions %q", sc.Line(), h.Perms)
				}
				_ = h.Readable() && h.Writable()
				if string(h.Path) == exe {
					headers[[2]uint64{h.Start, h.End}] = true
				}
				continue
			}
			if key, _, ok := sc.Field(); ok && strings.Contains(string(key), ":") {
				t.Fatalf("key %q holds a colon", key)
			}
		}
		spans, err := selectSpans(strings.NewReader(listing), exe)
		if err != nil {
			return
		}
		for _, s := range spans {
			if s.end <= s.start || s.rssBytes < 0 {
				t.Fatalf("span %+v", s)
			}
			if !headers[[2]uint64{s.start, s.end}] {
				t.Fatalf("span %+v named by no header of %s", s, exe)
			}
		}
	})
}
