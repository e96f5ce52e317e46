package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nsqgo/nsq/internal/chaos"
)

func main() {
	var (
		cfg      chaos.Config
		faults   string
		nsqdArgs string
		keep     bool
	)
	flag.StringVar(&cfg.NSQD, "nsqd", "build/nsqd", "nsqd binary to test")
	flag.StringVar(&nsqdArgs, "nsqd-args", "--mem-queue-size=0 --sync-every=1", "extra nsqd flags, space separated")
	flag.IntVar(&cfg.Cycles, "cycles", 50, "faults to inject")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "random seed (faults, workload mix)")
	flag.StringVar(&faults, "faults", "kill9", "comma-separated fault kinds, or \"all\": "+strings.Join(chaos.AllFaults, ","))
	flag.DurationVar(&cfg.CycleTime, "cycle-time", 4*time.Second, "mean workload time between faults (each is 0.5x to 1.5x of it)")
	flag.IntVar(&cfg.Publishers, "publishers", 4, "concurrent publishers")
	flag.IntVar(&cfg.Consumers, "consumers", 3, "concurrent consumers (at least one per channel)")
	flag.IntVar(&cfg.Channels, "channels", 1, "channels of the topic, each read by its own consumers and checked on its own")
	flag.DurationVar(&cfg.PublishPause, "publish-pause", time.Millisecond, "mean pause between a publisher's commands")
	flag.StringVar(&cfg.Dir, "dir", "", "work directory (data, nsqd.log); a temp dir when empty")
	flag.BoolVar(&keep, "keep", false, "keep the work directory after a passing run")
	flag.Parse()
	if faults == "all" {
		cfg.Faults = chaos.AllFaults
	} else {
		cfg.Faults = strings.Split(faults, ",")
	}
	cfg.NSQDArgs = strings.Fields(nsqdArgs)
	cfg.Log = os.Stderr
	// Ctrl-C ends the cycles; the run still drains, stops nsqd and reports.
	interrupt := make(chan struct{})
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		signal.Stop(signals)
		close(interrupt)
	}()
	cfg.Interrupt = interrupt

	res, err := chaos.Run(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: %s\n", err)
		os.Exit(2)
	}
	title := fmt.Sprintf("chaos: %d cycles of %s, seed %d, nsqd %s", cfg.Cycles, strings.Join(cfg.Faults, ","), cfg.Seed, nsqdArgs)
	if cfg.Channels > 1 {
		title += fmt.Sprintf(", %d channels", cfg.Channels)
	}
	fmt.Print(res.Report.Table(title, res.Elapsed))
	for _, e := range res.Errors {
		fmt.Printf("harness: %s\n", e)
	}
	if !res.OK() {
		if f, err := os.Create(res.Dir + "/history.jsonl"); err == nil {
			res.History.Dump(f)
			f.Close()
		}
		fmt.Printf("work directory kept: %s (history.jsonl, nsqd.log)\n", res.Dir)
		os.Exit(1)
	}
	if !keep && cfg.Dir == "" {
		os.RemoveAll(res.Dir)
	}
}
