package hugepage

import (
	"strings"
	"testing"

	"github.com/nsqgo/nsq/internal/exepages"
)

// markedIn reads the VmFlags and THPeligible of the one mapping holding
// the address, whatever the mappings around it say.
func TestMarkedInReadsTheMappingHoldingTheAddress(t *testing.T) {
	const listing = `c000000000-c000400000 rw-p 00000000 00:00 0 
Size:               4096 kB
THPeligible:           1
VmFlags: rd wr mr mw me ac sd hg
c000400000-c000800000 rw-p 00000000 00:00 0 
Size:               4096 kB
THPeligible:           1
VmFlags: rd wr mr mw me ac sd
c000800000-c000c00000 rw-p 00000000 00:00 0 
THPeligible:           0
VmFlags: rd wr mr mw me ac sd hg
7f0000000000-7f0000020000 r-xp 00000000 fe:00 222                        /usr/lib/my hg lib.so
THPeligible:    1
VmFlags: rd ex mr mw me sd nohg
`
	for _, c := range []struct {
		addr uint64
		want bool
		err  bool
	}{
		{0xc000000000, true, false},
		{0xc0003fffff, true, false},
		{0xc000400000, false, false}, // not advised
		{0xc000800000, false, false}, // advised, not eligible
		{0x7f0000000010, false, false},
		{0xc000c00000, false, true}, // no mapping
	} {
		got, err := markedIn(exepages.NewSmapsScanner(strings.NewReader(listing)), c.addr)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%#x: %v, %v; want %v (error %v)", c.addr, got, err, c.want, c.err)
		}
	}
}
