package nsqadmin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/lookupdhttp"
	"github.com/nsqgo/nsq/internal/version"
)

// Version is what /api/settings reports.
const Version = version.Version

// shutdownGrace bounds how long Exit waits for requests in flight.
const shutdownGrace = 5 * time.Second

// NSQAdmin is the server: its listener, its view of the cluster, the
// history it keeps and the notifications it sends.
type NSQAdmin struct {
	opts   atomic.Pointer[Options]
	logger *logging.Logger
	// now is the one clock everything reads (history points, client
	// connection ages, auth answer expiry, notification times).
	now func() time.Time

	cluster       *cluster
	history       *history
	notifications *notifier
	auth          *authChecker
	metrics       *adminMetrics
	graphiteURL   *url.URL
	crossOrigin   *http.CrossOriginProtection

	httpListener net.Listener
	httpServer   *http.Server
	ctx          context.Context // ends when Exit starts
	cancel       context.CancelFunc

	mu       sync.Mutex
	started  bool
	exiting  bool
	exitOnce sync.Once
	exitCh   chan struct{}
	wg       sync.WaitGroup
}

// New validates opts as upstream does, binds the HTTP listener (port 0
// works; see RealHTTPAddr) and prepares everything Main starts.
func New(opts *Options) (*NSQAdmin, error) {
	opts = opts.clone()
	logOut := opts.Logger
	if logOut == nil {
		logOut = os.Stderr
	}
	n := &NSQAdmin{
		logger:      logging.NewWithFormat(logOut, opts.LogPrefix, opts.LogLevel, opts.LogFormat),
		exitCh:      make(chan struct{}),
		crossOrigin: http.NewCrossOriginProtection(),
		now:         time.Now,
		metrics:     newAdminMetrics(),
	}
	if err := validateOptions(opts); err != nil {
		return nil, err
	}
	tlsConfig, err := clientTLSConfig(opts)
	if err != nil {
		return nil, err
	}
	if opts.ProxyGraphite {
		u, err := url.Parse(opts.GraphiteURL)
		if err != nil {
			return nil, fmt.Errorf("failed to parse --graphite-url (%s) - %w", opts.GraphiteURL, err)
		}
		n.graphiteURL = u
	}
	opts.BasePath = normalizeBasePath(opts.BasePath)
	n.opts.Store(opts)

	n.ctx, n.cancel = context.WithCancel(context.Background())
	debugf := func(format string, args ...any) { n.logf(logging.Debug, format, args...) }
	n.cluster = &cluster{
		nodes: newNodeClient(tlsConfig, opts.HTTPClientConnectTimeout, opts.HTTPClientRequestTimeout),
		lookupd: lookupdhttp.New(lookupdhttp.Options{
			ConnectTimeout:  opts.HTTPClientConnectTimeout,
			RequestTimeout:  opts.HTTPClientRequestTimeout,
			MaxResponseSize: maxNodeReply,
			TLSConfig:       tlsConfig,
			Trace:           func(endpoint string) { debugf("CI: querying %s", endpoint) },
		}),
		logf: debugf,
		now:  n.now,
	}
	n.history = newHistory(opts.HistoryInterval, opts.HistoryRetention, opts.HistoryMaxSeries)
	n.notifications = newNotifier(opts, n.logf)
	n.auth = newAuthChecker(opts, tlsConfig, n.now)

	n.logf(logging.Info, "%s", version.String("nsqadmin"))
	if opts.DevStaticDir != "" {
		n.logf(logging.Warn, "--dev-static-dir has no effect: the embedded pages are served")
	}
	n.httpListener, err = net.Listen("tcp", opts.HTTPAddress)
	if err != nil {
		n.cancel()
		return nil, fmt.Errorf("listen (%s) failed - %w", opts.HTTPAddress, err)
	}
	n.httpServer = &http.Server{
		Handler:           n.newHTTPHandler(),
		BaseContext:       func(net.Listener) context.Context { return n.ctx },
		ReadHeaderTimeout: 10 * time.Second,
	}
	return n, nil
}

// validateOptions checks what upstream checks, with its messages.
func validateOptions(opts *Options) error {
	switch {
	case len(opts.NSQDHTTPAddresses) == 0 && len(opts.NSQLookupdHTTPAddresses) == 0:
		return errors.New("--nsqd-http-address or --lookupd-http-address required")
	case len(opts.NSQDHTTPAddresses) != 0 && len(opts.NSQLookupdHTTPAddresses) != 0:
		return errors.New("use --nsqd-http-address or --lookupd-http-address not both")
	case opts.HTTPClientTLSCert != "" && opts.HTTPClientTLSKey == "":
		return errors.New("--http-client-tls-key must be specified with --http-client-tls-cert")
	case opts.HTTPClientTLSKey != "" && opts.HTTPClientTLSCert == "":
		return errors.New("--http-client-tls-cert must be specified with --http-client-tls-key")
	}
	for _, addr := range opts.NSQLookupdHTTPAddresses {
		if _, err := net.ResolveTCPAddr("tcp", addr); err != nil {
			return fmt.Errorf("failed to resolve --lookupd-http-address (%s) - %w", addr, err)
		}
	}
	for _, addr := range opts.NSQDHTTPAddresses {
		if _, err := net.ResolveTCPAddr("tcp", addr); err != nil {
			return fmt.Errorf("failed to resolve --nsqd-http-address (%s) - %w", addr, err)
		}
	}
	if opts.AllowConfigFromCIDR != "" {
		if _, _, err := net.ParseCIDR(opts.AllowConfigFromCIDR); err != nil {
			return fmt.Errorf("failed to parse --allow-config-from-cidr (%s) - %w", opts.AllowConfigFromCIDR, err)
		}
	}
	if opts.NotificationHTTPEndpoint != "" {
		if u, err := url.Parse(opts.NotificationHTTPEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("failed to parse --notification-http-endpoint (%s) - want an http:// or https:// URL", opts.NotificationHTTPEndpoint)
		}
	}
	switch opts.AuthHTTPRequestMethod {
	case "get", "post":
	default:
		return errors.New("--auth-http-request-method must be post or get")
	}
	if opts.HistoryInterval <= 0 {
		return errors.New("--history-interval must be positive")
	}
	if opts.HistoryRetention < opts.HistoryInterval {
		return errors.New("--history-retention must be at least --history-interval")
	}
	if opts.HistoryMaxSeries < 1 {
		return errors.New("--history-max-series must be at least 1")
	}
	return nil
}

func clientTLSConfig(opts *Options) (*tls.Config, error) {
	config := &tls.Config{InsecureSkipVerify: opts.HTTPClientTLSInsecureSkipVerify}
	if opts.HTTPClientTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(opts.HTTPClientTLSCert, opts.HTTPClientTLSKey)
		if err != nil {
			return nil, fmt.Errorf("failed to LoadX509KeyPair %s, %s - %w", opts.HTTPClientTLSCert, opts.HTTPClientTLSKey, err)
		}
		config.Certificates = []tls.Certificate{cert}
	}
	if opts.HTTPClientTLSRootCAFile != "" {
		pem, err := os.ReadFile(opts.HTTPClientTLSRootCAFile)
		if err != nil {
			return nil, fmt.Errorf("failed to read TLS root CA file %s - %w", opts.HTTPClientTLSRootCAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("failed to AppendCertsFromPEM %s", opts.HTTPClientTLSRootCAFile)
		}
		config.RootCAs = pool
	}
	return config, nil
}

// normalizeBasePath is "/" or a clean path with a leading slash and no
// trailing one, as upstream.
func normalizeBasePath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	return path.Clean(p)
}

func (n *NSQAdmin) getOpts() *Options { return n.opts.Load() }

// RealHTTPAddr is the bound HTTP address.
func (n *NSQAdmin) RealHTTPAddr() *net.TCPAddr { return n.httpListener.Addr().(*net.TCPAddr) }

// Main serves until Exit and returns nil then; if the listener fails first
// it returns that error (the caller should still call Exit).
func (n *NSQAdmin) Main() error {
	n.mu.Lock()
	if n.exiting {
		n.mu.Unlock()
		return nil
	}
	if n.started {
		n.mu.Unlock()
		return errors.New("nsqadmin: Main called twice")
	}
	n.started = true
	n.wg.Add(3)
	n.mu.Unlock()

	errs := make(chan error, 1)
	go func() {
		defer n.wg.Done()
		err := n.httpServer.Serve(n.httpListener)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		} else if err != nil {
			err = fmt.Errorf("http.Serve() error - %w", err)
		}
		errs <- err
	}()
	go func() {
		defer n.wg.Done()
		n.notifications.run(n.ctx)
	}()
	go func() {
		defer n.wg.Done()
		n.runHistory(n.ctx)
	}()
	n.logf(logging.Info, "HTTP: listening on %s", n.RealHTTPAddr())

	select {
	case err := <-errs:
		if err != nil && !n.isExiting() {
			n.logf(logging.Fatal, "%s", err)
			return err
		}
		<-n.exitCh
	case <-n.exitCh:
	}
	return nil
}

func (n *NSQAdmin) isExiting() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.exiting
}

// Exit stops serving, stops the history poller and the notification
// sender, and waits for them. Safe to call more than once.
func (n *NSQAdmin) Exit() {
	n.exitOnce.Do(func() {
		n.mu.Lock()
		n.exiting = true
		n.mu.Unlock()
		close(n.exitCh)
		n.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		if err := n.httpServer.Shutdown(ctx); err != nil {
			n.httpServer.Close()
		}
		cancel()
		n.httpListener.Close()
		n.wg.Wait()
		n.cluster.nodes.close()
		n.cluster.lookupd.Close()
		n.auth.close()
		n.logf(logging.Info, "exited")
	})
}

func (n *NSQAdmin) logf(level logging.Level, format string, args ...any) {
	n.logger.Logf(level, format, args...)
}
