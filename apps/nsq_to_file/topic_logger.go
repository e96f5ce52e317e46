package main

import (
	"fmt"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/nsqclient"
)

type logLevel = logging.Level

const (
	infoLevel  = logging.Info
	warnLevel  = logging.Warn
	errorLevel = logging.Error
	fatalLevel = logging.Fatal
)

// topicLogger archives one topic: a consumer whose messages a single
// router goroutine writes to the topic's output file. Messages are
// finished only after the file has been synced, as upstream does, so at
// most --max-in-flight of them are unacknowledged and a crash causes
// redelivery, never loss.
type topicLogger struct {
	topic    string
	opts     *Options
	logger   *logging.Logger
	clock    clock.Clock
	consumer *nsqclient.Consumer
	file     *outputFile
	fatal    func(error) // reports a write, sync or move failure

	msgs    chan *nsqclient.Message // handler → router, unbuffered
	hup     chan struct{}           // close and reopen the file
	stopCh  chan struct{}           // closed: stop consuming, flush, close
	abortCh chan struct{}           // closed: stop at once, acknowledge nothing
	done    chan struct{}           // closed when the router has returned
}

// newTopicLogger creates the topic's consumer and connects it; start runs
// the router.
func newTopicLogger(opts *Options, clientOpts *nsqclient.Options, topic string, host hostNames, pid int,
	logger *logging.Logger, clk clock.Clock, fatal func(error)) (*topicLogger, error) {
	namer, err := newFileNamer(opts, topic, host, pid)
	if err != nil {
		return nil, err
	}
	consumer, err := nsqclient.NewConsumer(topic, opts.Channel, clientOpts)
	if err != nil {
		return nil, err
	}
	l := &topicLogger{
		topic:    topic,
		opts:     opts,
		logger:   logger,
		clock:    clk,
		consumer: consumer,
		fatal:    fatal,
		msgs:     make(chan *nsqclient.Message),
		hup:      make(chan struct{}, 1),
		stopCh:   make(chan struct{}),
		abortCh:  make(chan struct{}),
		done:     make(chan struct{}),
	}
	l.file = &outputFile{opts: opts, namer: namer, logf: l.logf}
	consumer.AddHandler(l)
	err = consumer.ConnectToNSQD(opts.NSQDTCPAddrs...)
	if err == nil {
		err = consumer.ConnectToNSQLookupd(opts.LookupdHTTPAddrs...)
	}
	if err != nil {
		consumer.Close()
		<-consumer.Done()
		return nil, err
	}
	return l, nil
}

func (l *topicLogger) logf(level logLevel, format string, args ...any) {
	l.logger.Logf(level, "[%s/%s] "+format, append([]any{l.topic, l.opts.Channel}, args...)...)
}

// HandleMessage passes the message to the router, which finishes it once
// it is on disk.
func (l *topicLogger) HandleMessage(m *nsqclient.Message) error {
	m.DisableAutoResponse()
	select {
	case l.msgs <- m:
	case <-l.done:
		// The router failed; the message stays unacknowledged.
	}
	return nil
}

func (l *topicLogger) start() { go l.router() }

// rotateFile asks for the file to be closed (SIGHUP); requests merge.
func (l *topicLogger) rotateFile() {
	select {
	case l.hup <- struct{}{}:
	default:
	}
}

// stop begins the graceful stop; wait for done.
func (l *topicLogger) stop() { close(l.stopCh) }

// abort stops without acknowledging anything (another topic failed).
func (l *topicLogger) abort() { close(l.abortCh) }

// wait waits for the router and the consumer to finish.
func (l *topicLogger) wait() {
	<-l.done
	<-l.consumer.Done()
}

// router owns the file: it writes messages, syncs and finishes them in
// batches, rotates and closes the file, until the consumer is done. Two
// timers drive it besides the messages: the sync interval, and the file's
// rotation deadline (--rotate-interval after it was opened, or the next
// change of name), so that a file is rotated when it is due rather than
// at the next sync.
func (l *topicLogger) router() {
	defer close(l.done)
	pending := make([]*nsqclient.Message, 0, l.opts.MaxInFlight)
	syncTimer := l.clock.NewTimer(l.opts.SyncInterval)
	defer syncTimer.Stop()
	rotateTimer := l.clock.NewTimer(0)
	rotateTimer.Stop()
	defer rotateTimer.Stop()
	var armedFor time.Time // the deadline rotateTimer is set to; zero: stopped
	stopCh := l.stopCh
	stopping := false
	for {
		sync, closeFile, exit := false, false, false
		select {
		case <-l.consumer.Done():
			sync, closeFile, exit = true, true, true
		case <-stopCh:
			stopCh = nil
			stopping, sync = true, true
			l.consumer.Stop()
		case <-l.abortCh:
			l.consumer.Close()
			l.file.abandon()
			return
		case <-l.hup:
			sync, closeFile = true, true
		case <-syncTimer.C():
			syncTimer.Reset(l.opts.SyncInterval)
			sync = true
		case <-rotateTimer.C():
			armedFor = time.Time{}
			if now := l.clock.Now(); l.file.needsRotation(now) {
				// Without --skip-empty-files the next file is opened at
				// once, as upstream, even if nothing will be written to it.
				if l.opts.SkipEmptyFiles {
					closeFile = true
				} else if err := l.file.rotate(now); err != nil {
					l.fail("unable to rotate file", err)
					return
				}
			}
			sync = true
		case m := <-l.msgs:
			if now := l.clock.Now(); l.file.needsRotation(now) {
				if err := l.file.rotate(now); err != nil {
					l.fail("unable to rotate file", err)
					return
				}
				sync = true
			}
			if err := l.file.write(m.Body); err != nil {
				l.fail("writing message to disk", err)
				return
			}
			pending = append(pending, m)
			// While stopping, nsqd closes the connection only once
			// nothing is in flight, so acknowledge as we go.
			sync = sync || stopping || len(pending) == cap(pending)
		}
		if len(pending) > 0 && (sync || l.consumer.IsStarved()) {
			l.logf(infoLevel, "syncing %d records to disk", len(pending))
			if err := l.file.sync(); err != nil {
				l.fail("failed syncing messages", err)
				return
			}
			for i, m := range pending {
				m.Finish()
				pending[i] = nil
			}
			pending = pending[:0]
		}
		if closeFile {
			if err := l.file.close(); err != nil {
				l.fail("failed to close file", err)
				return
			}
		}
		if exit {
			return
		}
		armedFor = l.armRotation(rotateTimer, armedFor)
	}
}

// armRotation sets the rotation timer to the open file's deadline, or
// stops it when there is none, unless it is already set so (a timer that
// fired is not: its deadline was cleared by the case that took it). It
// returns the deadline now armed.
func (l *topicLogger) armRotation(t clock.Timer, armedFor time.Time) time.Time {
	due, ok := l.file.rotationDue()
	switch {
	case !ok:
		if !armedFor.IsZero() {
			t.Stop()
		}
		return time.Time{}
	case due.Equal(armedFor):
		return armedFor
	}
	t.Reset(due.Sub(l.clock.Now()))
	return due
}

// fail handles a write, sync or move failure like upstream's fatal exit:
// nothing pending is acknowledged, the consumer is closed at once and the
// file is left as it is.
func (l *topicLogger) fail(what string, err error) {
	err = fmt.Errorf("[%s/%s] %s: %w", l.topic, l.opts.Channel, what, err)
	l.logger.Logf(fatalLevel, "%s", err)
	l.consumer.Close()
	l.file.abandon()
	l.fatal(err)
}
