//go:build linux

// Linux only: the test matches a directory's device number against
// /proc/diskstats's, as compare.sh does.

package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// devNumbers splits a st_dev as glibc encodes it (the encoding stat's %d
// prints) into the major and minor numbers /proc/diskstats lists.
func devNumbers(dev uint64) (major, minor uint64) {
	return (dev>>8)&0xfff | (dev>>32)&^uint64(0xfff), dev&0xff | (dev>>12)&0xffffff00
}

// TestDiskstatsDevice checks that disk_device finds the line of the
// device holding a directory by its major:minor (not by its position or
// a name), and prints nothing, successfully, when the counters do not
// list it, when the file is missing or garbled, or the directory is not
// there: compare.sh then runs without disk figures.
func TestDiskstatsDevice(t *testing.T) {
	dir := t.TempDir()
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	major, minor := devNumbers(uint64(st.Dev))
	line := func(maj, mn uint64, name string, rd, wr int) string {
		return fmt.Sprintf("%4d %7d %s 10 0 %d 5 20 0 %d 9 0 %d 14 0 0 0 0 0 0\n", maj, mn, name, rd, wr, rd+wr+1)
	}
	write := func(name, body string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	listed := write("listed", "garbage\n"+line(major+1, minor, "other0", 1, 2)+line(major, minor+1, "other1", 3, 4)+
		line(major, minor, "testdisk", 1000, 4096))
	if got := diskFunc(t, "disk_device", dir, listed); got != "testdisk\n" {
		t.Errorf("disk_device: got %q, want testdisk", got)
	}
	if got := diskFunc(t, "disk_sectors", "testdisk", listed); got != "1000 4096 5097\n" {
		t.Errorf("disk_sectors: got %q, want \"1000 4096 5097\"", got)
	}
	unlisted := write("unlisted", line(major+1, minor, "other0", 1, 2))
	// A line cut short, as a partition's line was before Linux 2.6.25.
	short := write("short", fmt.Sprintf("%d %d testdisk 1 2 3 4\n", major, minor))
	for _, c := range [][]string{
		{"disk_device", dir, unlisted},
		{"disk_device", dir, short},
		{"disk_device", dir, filepath.Join(dir, "nosuchfile")},
		{"disk_device", filepath.Join(dir, "nosuchdir"), listed},
		{"disk_sectors", "nosuchdisk", listed},
		{"disk_sectors", "testdisk", short},
		{"disk_sectors", "", listed},
		{"disk_sectors", "testdisk", filepath.Join(dir, "nosuchfile")},
	} {
		if got := diskFunc(t, c[0], c[1:]...); got != "" {
			t.Errorf("%q: got %q, want nothing", c, got)
		}
	}
}
