// Command nsqd is the message daemon: it parses flags and the config file
// into nsqd.Options and runs the daemon until SIGINT or SIGTERM.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/nsqgo/nsq/nsqd"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	p, err := parseOptions(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s\n", err)
		return 2
	}
	if p.showVersion {
		fmt.Printf("nsqd v%s (built w/%s)\n", nsqd.Version, runtime.Version())
		return 0
	}
	daemon, err := nsqd.New(p.opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%sFATAL: failed to instantiate nsqd - %s\n", p.opts.LogPrefix, err)
		return 1
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- daemon.Main() }()
	select {
	case <-signals:
		daemon.Exit()
		return 0
	case err := <-done:
		if err != nil {
			fmt.Fprintf(os.Stderr, "%sFATAL: %s\n", p.opts.LogPrefix, err)
			return 1
		}
		return 0
	}
}
