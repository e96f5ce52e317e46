package main

import (
	"context"
	"os"
	"regexp"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/lookupdhttp"
	"github.com/nsqgo/nsq/internal/nsqclient"
)

// discoverer owns the topic loggers: one per --topic,
// or, without --topic, one per topic the lookupds list that matches
// --topic-pattern, looked for every --topic-refresh. Topics are never
// dropped once started. It fans SIGHUP out to every logger and stops them
// all at the end.
type discoverer struct {
	opts       *Options
	clientOpts *nsqclient.Options
	lookupd    *lookupdhttp.Client
	pattern    *regexp.Regexp // nil: every topic
	host       hostNames
	pid        int
	logger     *logging.Logger
	clock      clock.Clock // --topic-refresh and the topic loggers' timing

	loggers map[string]*topicLogger
	fatalCh chan error
}

func newDiscoverer(opts *Options, clientOpts *nsqclient.Options, host hostNames, logger *logging.Logger, clk clock.Clock) *discoverer {
	d := &discoverer{
		opts:       opts,
		clientOpts: clientOpts,
		lookupd:    lookupdhttp.New(lookupdhttp.Options{ConnectTimeout: opts.HTTPClientConnectTimeout, RequestTimeout: opts.HTTPClientRequestTimeout}),
		host:       host,
		pid:        os.Getpid(),
		logger:     logger,
		clock:      clk,
		loggers:    map[string]*topicLogger{},
		fatalCh:    make(chan error, 1),
	}
	if opts.TopicPattern != "" {
		d.pattern = regexp.MustCompile(opts.TopicPattern) // validate compiled it
	}
	return d
}

// run archives until ctx ends (SIGINT, SIGTERM), then stops every logger
// gracefully and returns 0; after a fatal file error it stops them at once
// and returns 1.
func (d *discoverer) run(ctx context.Context, hup <-chan os.Signal) int {
	defer d.lookupd.Close()
	d.updateTopics(d.opts.Topics)
	var refresh <-chan time.Time
	if len(d.opts.Topics) == 0 {
		ticker := d.clock.NewTicker(d.opts.TopicRefresh)
		defer ticker.Stop()
		refresh = ticker.C()
	}
	for {
		select {
		case <-ctx.Done():
			d.stopAll()
			select {
			case <-d.fatalCh:
				return 1
			default:
				return 0
			}
		case <-d.fatalCh:
			d.abortAll()
			return 1
		case <-hup:
			for _, l := range d.loggers {
				l.rotateFile()
			}
		case <-refresh:
			if topics, ok := d.fetchTopics(ctx); ok {
				d.updateTopics(topics)
			}
		}
	}
}

// updateTopics starts a logger for each new topic that matches.
func (d *discoverer) updateTopics(topics []string) {
	for _, topic := range topics {
		if _, ok := d.loggers[topic]; ok {
			continue
		}
		if d.pattern != nil && !d.pattern.MatchString(topic) {
			d.logger.Logf(warnLevel, "skipping topic %s (doesn't match pattern %s)", topic, d.opts.TopicPattern)
			continue
		}
		l, err := newTopicLogger(d.opts, d.clientOpts, topic, d.host, d.pid, d.logger, d.clock, d.reportFatal)
		if err != nil {
			d.logger.Logf(errorLevel, "couldn't create logger for new topic %s: %s", topic, err)
			continue
		}
		d.loggers[topic] = l
		l.start()
	}
}

func (d *discoverer) reportFatal(err error) {
	select {
	case d.fatalCh <- err:
	default:
	}
}

// fetchTopics is the union of every lookupd's /topics; false when none
// answered (logged, retried at the next refresh).
func (d *discoverer) fetchTopics(ctx context.Context) ([]string, bool) {
	answers := lookupdhttp.AskEach(ctx, d.opts.LookupdHTTPAddrs, d.lookupd.Topics)
	errs := lookupdhttp.Errors(answers)
	for _, err := range errs {
		d.logger.Logf(warnLevel, "could not retrieve topic list: %s", err)
	}
	return lookupdhttp.UnionNames(answers), len(errs) < len(answers)
}

func (d *discoverer) stopAll() {
	for _, l := range d.loggers {
		l.stop()
	}
	for _, l := range d.loggers {
		l.wait()
	}
}

func (d *discoverer) abortAll() {
	for _, l := range d.loggers {
		l.abort()
	}
	for _, l := range d.loggers {
		l.wait()
	}
}
