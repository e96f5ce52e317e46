//go:build linux

// Command bench_touch makes --mb MB of fresh anonymous memory resident (one
// write per page), frees it again and prints how long the writes took:
//
//	touched 1024 MB in 0.083 s (0.081 us per KB)
//
// bench/compare.sh runs it before every run when TOUCH_MB is set (off by
// default). This machine's VM hands freed memory back to its host, and a
// page the host must back again costs 10-20 times more to fault in than one
// another process freed shortly before (README, "Side by side with
// upstream"): the touch was meant to give every daemon the same amount of
// memory the host already backs, whichever run came before. It did not
// narrow the spread of A/A rounds, but its timing line shows the state each
// run started from: a slow touch means the host had taken the memory back.
// Linux only (MADV_HUGEPAGE, and the host it measures runs Linux): on other
// systems the package builds nothing.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"syscall"
	"time"
)

func main() {
	mb := flag.Int("mb", 1024, "MB of memory to make resident and free again")
	repeat := flag.Int("repeat", 1, "touch and free it this many times (each timed)")
	gap := flag.Duration("gap", 0, "sleep this long between repeats (to watch the host reclaim freed memory)")
	huge := flag.Bool("huge", true, "advise 2 MB pages (MADV_HUGEPAGE), as nsqd's body memory is: the host reclaims freed 2 MB blocks")
	flag.Parse()
	log.SetPrefix("[bench_touch] ")
	log.SetFlags(0)
	if *mb <= 0 || *repeat <= 0 {
		log.Fatal("--mb and --repeat must be positive")
	}
	for i := 0; i < *repeat; i++ {
		if i > 0 {
			time.Sleep(*gap)
		}
		d, err := touch(*mb<<20, *huge)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("touched %d MB in %.3f s (%.3f us per KB)\n", *mb, d.Seconds(), d.Seconds()*1e6/float64(*mb<<10))
	}
}

// touch maps n bytes of anonymous memory (advised 2 MB pages if huge),
// writes one byte of each 4 KB page so the kernel (and the host) must back
// it, and unmaps it; it returns how long the writes took.
func touch(n int, huge bool) (time.Duration, error) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return 0, fmt.Errorf("mmap %d bytes: %w", n, err)
	}
	if huge {
		if err := syscall.Madvise(b, syscall.MADV_HUGEPAGE); err != nil {
			return 0, fmt.Errorf("madvise MADV_HUGEPAGE: %w", err)
		}
	}
	page := os.Getpagesize()
	start := time.Now()
	for i := 0; i < n; i += page {
		b[i] = 1
	}
	d := time.Since(start)
	if err := syscall.Munmap(b); err != nil {
		return 0, fmt.Errorf("munmap: %w", err)
	}
	return d, nil
}
