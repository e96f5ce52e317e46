package nsqlookupd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/version"
)

// shutdownGrace bounds how long Exit waits for in-flight HTTP requests
// before cutting their connections.
const shutdownGrace = 5 * time.Second

// NSQLookupd is the daemon: its listeners, connections and registry.
type NSQLookupd struct {
	opts   *Options
	logger *logging.Logger
	clock  clock.Clock // opts.Clock, or the wall clock
	reg    *registry
	proto  *v1Protocol

	tcpListener  net.Listener
	httpListener net.Listener
	httpServer   *http.Server
	// ctx is every HTTP request's base context; Exit cancels it so
	// long-running handlers (pprof profiles) stop with the daemon.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	started bool
	exiting bool

	exitOnce sync.Once
	exitCh   chan struct{}
	wg       sync.WaitGroup
}

// New binds both listeners, so the real addresses are known (port 0 works)
// before Main serves them.
func New(opts *Options) (*NSQLookupd, error) {
	logOut := opts.Logger
	if logOut == nil {
		logOut = os.Stderr
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real()
	}
	hostname, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("unable to get hostname - %w", err)
	}
	l := &NSQLookupd{
		opts:   opts,
		clock:  clk,
		logger: logging.NewWithFormat(logOut, opts.LogPrefix, opts.LogLevel, opts.LogFormat),
		reg:    newRegistry(opts.InactiveProducerTimeout, opts.TombstoneLifetime),
		conns:  map[net.Conn]struct{}{},
		exitCh: make(chan struct{}),
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.tcpListener, err = net.Listen("tcp", opts.TCPAddress)
	if err != nil {
		return nil, fmt.Errorf("listen (%s) failed - %w", opts.TCPAddress, err)
	}
	l.httpListener, err = net.Listen("tcp", opts.HTTPAddress)
	if err != nil {
		l.tcpListener.Close()
		return nil, fmt.Errorf("listen (%s) failed - %w", opts.HTTPAddress, err)
	}
	reply, err := json.Marshal(identifyReply{
		BroadcastAddress: opts.BroadcastAddress,
		Hostname:         hostname,
		HTTPPort:         l.RealHTTPAddr().Port,
		TCPPort:          l.RealTCPAddr().Port,
		Version:          Version,
	})
	if err != nil {
		l.tcpListener.Close()
		l.httpListener.Close()
		return nil, fmt.Errorf("encoding IDENTIFY reply - %w", err)
	}
	l.proto = &v1Protocol{reg: l.reg, clock: clk, identifyReply: reply, logf: l.logf}
	l.httpServer = &http.Server{
		Handler:           l.newHTTPHandler(),
		BaseContext:       func(net.Listener) context.Context { return l.ctx },
		ReadHeaderTimeout: 10 * time.Second,
	}
	l.logf(logging.Info, "%s", version.String("nsqlookupd"))
	return l, nil
}

// identifyReply is the IDENTIFY answer. Upstream encodes a map, so its keys
// come out sorted; the fields are declared in that order.
type identifyReply struct {
	BroadcastAddress string `json:"broadcast_address"`
	Hostname         string `json:"hostname"`
	HTTPPort         int    `json:"http_port"`
	TCPPort          int    `json:"tcp_port"`
	Version          string `json:"version"`
}

// RealTCPAddr is the bound TCP address.
func (l *NSQLookupd) RealTCPAddr() *net.TCPAddr { return l.tcpListener.Addr().(*net.TCPAddr) }

// RealHTTPAddr is the bound HTTP address.
func (l *NSQLookupd) RealHTTPAddr() *net.TCPAddr { return l.httpListener.Addr().(*net.TCPAddr) }

// Main serves until Exit is called and returns nil then; if a listener
// fails first it returns that error (the caller should still call Exit).
func (l *NSQLookupd) Main() error {
	l.mu.Lock()
	if l.exiting {
		l.mu.Unlock()
		return nil
	}
	if l.started {
		l.mu.Unlock()
		return errors.New("nsqlookupd: Main called twice")
	}
	l.started = true
	// Added under mu so that Exit's Wait cannot begin before these count.
	l.wg.Add(2)
	l.mu.Unlock()

	errs := make(chan error, 2)
	go func() {
		defer l.wg.Done()
		errs <- l.serveTCP()
	}()
	go func() {
		defer l.wg.Done()
		err := l.httpServer.Serve(l.httpListener)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		} else if err != nil {
			err = fmt.Errorf("http.Serve() error - %w", err)
		}
		errs <- err
	}()
	l.logf(logging.Info, "TCP: listening on %s", l.RealTCPAddr())
	l.logf(logging.Info, "HTTP: listening on %s", l.RealHTTPAddr())

	select {
	case err := <-errs:
		if err != nil && !l.isExiting() {
			l.logf(logging.Fatal, "%s", err)
			return err
		}
		// A server only stops cleanly because Exit closed it.
		<-l.exitCh
	case <-l.exitCh:
	}
	return nil
}

func (l *NSQLookupd) isExiting() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.exiting
}

// Exit closes the listeners and every connection, and waits for every
// goroutine the daemon started. It is safe to call more than once.
func (l *NSQLookupd) Exit() {
	l.exitOnce.Do(func() {
		l.mu.Lock()
		l.exiting = true
		conns := make([]net.Conn, 0, len(l.conns))
		for c := range l.conns {
			conns = append(conns, c)
		}
		l.mu.Unlock()
		close(l.exitCh)

		l.tcpListener.Close()
		for _, c := range conns {
			c.Close()
		}
		l.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		if err := l.httpServer.Shutdown(ctx); err != nil {
			l.httpServer.Close()
		}
		cancel()
		// Shutdown closes the listener only if Serve ever ran.
		l.httpListener.Close()
		l.wg.Wait()
		l.logf(logging.Info, "exited")
	})
}

func (l *NSQLookupd) logf(level logging.Level, format string, args ...any) {
	l.logger.Logf(level, format, args...)
}
