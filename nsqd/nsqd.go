package nsqd

import (
	"errors"
	"github.com/nsqgo/nsq/internal/clock"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nsqgo/nsq/internal/authclient"
	"github.com/nsqgo/nsq/internal/hugepage"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/lookupclient"
	"github.com/nsqgo/nsq/internal/protocol"
	"github.com/nsqgo/nsq/internal/version"
	"github.com/nsqgo/nsq/nsqd/auth"
	"github.com/nsqgo/nsq/nsqd/httpserver"
	"github.com/nsqgo/nsq/nsqd/metrics/e2e"
	"github.com/nsqgo/nsq/nsqd/metrics/statsd"
)

// Version is what nsqd reports: tools and nsqadmin parse it as semver.
const Version = version.Version

const (
	debugLevel = logging.Debug
	infoLevel  = logging.Info
	warnLevel  = logging.Warn
	errorLevel = logging.Error
)

var (
	errTopicNotFound   = errors.New("topic not found")
	errChannelNotFound = errors.New("channel not found")
)

// NSQD is the daemon: it owns the topics, the listeners and the clients.
type NSQD struct {
	opts      *Options
	logger    *logging.Logger
	clock     clock.Clock // opts.Clock, or the wall clock
	startTime time.Time

	mu     sync.RWMutex
	topics map[string]*Topic
	// opening: topics whose files their first GetTopic opens with mu
	// released; later callers for the same name wait for it.
	opening map[string]*topicOpening
	openers sync.WaitGroup // GetTopic calls opening files; closeTopics waits for them
	// diskOpenHook, when set (tests only), runs before a topic's disk
	// queue is opened, as a slow disk would.
	diskOpenHook func(name string)

	clientsMu    sync.Mutex
	clients      map[int64]*client
	nextClientID atomic.Int64
	pumpHooks    atomic.Pointer[pumpHooks] // nil but in tests (pump.go)
	batchFrames  sync.Pool                 // *[]byte: a delivery batch encoded for one write (client_vector.go)
	mpubBatches  sync.Pool                 // *[]Message: an MPUB's messages from its read to its publish (protocol_v2.go)

	tcpListener   net.Listener
	httpListener  net.Listener
	httpServer    *httpserver.Server // http_daemon.go
	httpsListener net.Listener       // nil without a TLS certificate
	httpsServer   *httpserver.Server
	tls           tlsSetup // the TLS options as resolved at New (tls_options.go)

	lookup   *lookupclient.Client
	dataLock *dataDirLock
	health   health

	// e2e is the validated latency-percentile setting (nsqd/metrics/e2e);
	// statsdPrefix is --statsd-prefix expanded at New (nsqd/metrics/statsd).
	e2e          *e2e.Config
	statsdPrefix string

	auth     *authclient.Client // nil when no --auth-http-address (client_auth.go)
	httpAuth *auth.HTTPGuard    // nil unless --http-auth (http_auth.go)

	metrics       *metrics          // the /metrics handler and fsync histogram (metrics_hooks.go)
	hugePages     *hugepage.Advisor // fresh message memory's huge pages (hugepages.go)
	publishErrors publishErrors     // refused publishes by code (metrics_hooks.go)

	// bodiesReused counts the bytes of published bodies read into memory
	// of an earlier batch that no queue kept (body_alloc.go); read by tests.
	bodiesReused atomic.Uint64

	// metadataMu serialises nsqd.dat writes; loading suppresses them while
	// nsqd.dat itself is being replayed.
	metadataMu sync.Mutex
	loading    atomic.Bool

	lifecycleMu sync.Mutex // orders Main's wg.Add before Exit's wg.Wait
	exitOnce    sync.Once
	exitCh      chan struct{}
	wg          sync.WaitGroup
	exiting     atomic.Bool
	serving     atomic.Bool // Main has started every listener's server (/readyz)
}

// New validates opts and binds the listeners, so that the real addresses are
// known (port 0 works) before Main serves them.
func New(opts *Options) (*NSQD, error) {
	if opts.ID < 0 || opts.ID >= 1024 {
		return nil, errors.New("--node-id must be [0,1024)")
	}
	if opts.ClientTimeout <= 0 {
		return nil, errors.New("--client-timeout must be positive")
	}
	if opts.MaxDeflateLevel < 1 || opts.MaxDeflateLevel > 9 {
		return nil, errors.New("--max-deflate-level must be [1,9]")
	}
	if err := e2e.Validate(opts.E2EProcessingLatencyPercentiles, opts.E2EProcessingLatencyWindowTime); err != nil {
		return nil, err
	}
	if err := statsd.Validate(opts.StatsdAddress, opts.StatsdInterval, opts.StatsdUDPPacketSize); err != nil {
		return nil, err
	}
	tlsSetup, tlsErr := resolveTLS(opts)
	if tlsErr != nil {
		return nil, tlsErr
	}
	if err := validateAuthOptions(opts); err != nil {
		return nil, err
	}
	if err := validateHTTPAuthOptions(opts); err != nil {
		return nil, err
	}
	if err := validatePolicyOptions(opts); err != nil {
		return nil, err
	}
	logOut := opts.Logger
	if logOut == nil {
		logOut = os.Stderr
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real()
	}
	n := &NSQD{
		opts:      opts,
		logger:    logging.NewWithFormat(logOut, opts.LogPrefix, opts.LogLevel, opts.LogFormat),
		clock:     clk,
		startTime: clk.Now(),
		topics:    map[string]*Topic{},
		opening:   map[string]*topicOpening{},
		clients:   map[int64]*client{},
		exitCh:    make(chan struct{}),
		e2e:       e2e.NewConfig(opts.E2EProcessingLatencyPercentiles, opts.E2EProcessingLatencyWindowTime),
		tls:       tlsSetup,
		hugePages: newHugePageAdvisor(opts),
		// https:// auth servers are verified like every outgoing call.
		auth: authclient.New(authClientConfig(opts, tlsSetup.client)),
	}
	// Upstream's start-up lines: who is running, and the node ID that is
	// part of every message ID.
	n.logf(infoLevel, "%s", version.String("nsqd"))
	n.logf(infoLevel, "ID: %d", opts.ID)
	n.metrics = newMetrics(n)
	n.httpAuth = newHTTPAuthorizer(n)
	var err error
	if n.dataLock, err = lockDataDir(n.dataPath()); err != nil {
		return nil, err
	}
	if err := n.listen(); err != nil {
		n.dataLock.release()
		return nil, err
	}
	n.statsdPrefix = statsd.ExpandPrefix(opts.StatsdPrefix, opts.BroadcastAddress, n.statsdHTTPPort())
	n.lookup = n.newLookupClient()
	n.loading.Store(true)
	err = n.loadMetadata()
	n.loading.Store(false)
	if err == nil {
		err = n.saveMetadata()
	}
	if err != nil {
		n.lookup.Close()
		n.closeListeners()
		n.closeTopics()
		n.dataLock.release()
		return nil, err
	}
	return n, nil
}

// Main serves until Exit is called; it returns the first fatal error.
func (n *NSQD) Main() error {
	errs := make(chan error, 3)
	// Exit may run before Main: the goroutines are only added while the
	// daemon is not exiting, under the lock Exit takes before it waits.
	n.lifecycleMu.Lock()
	if n.exiting.Load() {
		n.lifecycleMu.Unlock()
		return nil
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		errs <- n.serveTCP(n.tcpListener)
	}()
	if n.httpListener != nil {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			errs <- n.httpServer.Serve(n.httpListener)
		}()
	}
	if n.httpsListener != nil {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			errs <- n.httpsServer.Serve(n.httpsListener)
		}()
	}
	if n.opts.StatsdAddress != "" {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.statsdLoop()
		}()
	}
	n.serving.Store(true)
	n.lifecycleMu.Unlock()
	n.logf(infoLevel, "TCP: listening on %s", n.tcpListener.Addr())
	if n.httpListener != nil {
		n.logf(infoLevel, "HTTP: listening on %s", n.httpListener.Addr())
	}
	if n.httpsListener != nil {
		n.logf(infoLevel, "HTTPS: listening on %s", n.httpsListener.Addr())
	}
	select {
	case err := <-errs:
		if err != nil && !n.exiting.Load() {
			n.Exit()
			return err
		}
	case <-n.exitCh:
	}
	return nil
}

// Exit stops accepting, closes every connection and topic, and waits for
// every goroutine the daemon started.
func (n *NSQD) Exit() {
	n.exitOnce.Do(func() {
		n.lifecycleMu.Lock()
		n.exiting.Store(true)
		n.lifecycleMu.Unlock()
		close(n.exitCh)
		n.auth.Close() // a client stuck in AUTH must not hold up the wait below
		n.closeListeners()
		n.clientsMu.Lock()
		for _, c := range n.clients {
			c.closeConn()
		}
		n.clientsMu.Unlock()
		n.wg.Wait()

		if err := n.saveMetadata(); err != nil {
			n.logf(errorLevel, "%s", err)
		}
		n.closeTopics()
		// Upstream sends no UNREGISTER at exit: lookupd drops the producer
		// when the connection closes.
		n.lookup.Close()
		n.dataLock.release()
		n.logf(infoLevel, "exited")
	})
}

// closeTopics closes every topic, keeping what their backends hold.
func (n *NSQD) closeTopics() {
	// Topics being opened are added (or closed) first. exiting is set
	// already, and GetTopic reads it under mu before it starts an
	// opening: after this barrier none starts, and openers.Add of those
	// under way happened before it.
	n.mu.Lock()
	n.mu.Unlock()
	n.openers.Wait()
	for _, t := range n.Topics() {
		if err := t.close(false); err != nil {
			n.logf(errorLevel, "closing topic %s: %s", t.name, err)
		}
	}
}

func (n *NSQD) logf(level logging.Level, format string, args ...any) {
	n.logger.Logf(level, format, args...)
}

// GetTopic returns the named topic, creating it if needed. A new topic's
// disk queue is opened (recovery included) with n.mu released, so that
// lookups and creations of other topics do not wait for the files; the
// first caller for a name opens it, and concurrent callers for the same
// name wait for that one (topicOpening) instead of opening the files
// twice.
func (n *NSQD) GetTopic(name string) (*Topic, error) {
	n.mu.RLock()
	t, ok := n.topics[name]
	n.mu.RUnlock()
	if ok {
		return t, nil
	}
	if n.exiting.Load() {
		return nil, errExiting
	}
	n.mu.Lock()
	if t, ok := n.topics[name]; ok {
		n.mu.Unlock()
		return t, nil
	}
	if o, ok := n.opening[name]; ok {
		o.waiters++
		n.mu.Unlock()
		<-o.done
		return o.topic, o.err
	}
	// Under mu, so that closeTopics' barrier orders this against Exit.
	if n.exiting.Load() {
		n.mu.Unlock()
		return nil, errExiting
	}
	o := &topicOpening{done: make(chan struct{})}
	n.opening[name] = o
	n.openers.Add(1)
	n.mu.Unlock()

	t, err := n.openTopic(name, o)
	// Exit waits for the files only: once the topic is in the map,
	// closeTopics closes it, and what follows finds it closing.
	n.openers.Done()
	if err != nil {
		return nil, err
	}
	n.logf(infoLevel, "TOPIC(%s): created", name)
	n.topicCreated(t)
	// A topic loaded from nsqd.dat already knows its channels.
	if !n.loading.Load() {
		n.precreateChannels(t)
	}
	t.startDistributing()
	return t, nil
}

// topicOpening is a topic being created by its first GetTopic; done is
// closed once topic or err is set (both under NSQD.mu).
type topicOpening struct {
	done    chan struct{}
	topic   *Topic
	err     error
	waiters int // callers waiting on done (read by tests)
}

// openTopic opens the topic's files with no lock held, then adds it,
// unless the daemon began to exit meanwhile: then the files are closed
// again (closeTopics waits for this, so none is left open past Exit).
func (n *NSQD) openTopic(name string, o *topicOpening) (*Topic, error) {
	t, err := newTopic(name, n)
	n.mu.Lock()
	delete(n.opening, name)
	exiting := err == nil && n.exiting.Load()
	if exiting {
		err = errExiting
	} else if err == nil {
		n.topics[name] = t
	}
	o.err = err
	if err == nil {
		o.topic = t
	}
	close(o.done)
	n.mu.Unlock()
	if exiting {
		t.close(false)
		return nil, errExiting
	}
	return t, err
}

// GetExistingTopic returns the topic or errTopicNotFound.
func (n *NSQD) GetExistingTopic(name string) (*Topic, error) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	t, ok := n.topics[name]
	if !ok {
		return nil, errTopicNotFound
	}
	return t, nil
}

// Topics returns every topic sorted by name.
func (n *NSQD) Topics() []*Topic {
	n.mu.RLock()
	list := make([]*Topic, 0, len(n.topics))
	for _, t := range n.topics {
		list = append(list, t)
	}
	n.mu.RUnlock()
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	return list
}

// DeleteExistingTopic removes a topic with its channels and their data.
func (n *NSQD) DeleteExistingTopic(name string) error {
	n.mu.Lock()
	t, ok := n.topics[name]
	if !ok {
		n.mu.Unlock()
		return errTopicNotFound
	}
	delete(n.topics, name)
	n.mu.Unlock()
	n.logf(infoLevel, "TOPIC(%s): deleting", name)
	err := t.close(true)
	n.topicDeleted(t)
	return err
}

// ValidName reports whether a topic or channel name is acceptable.
func ValidName(name string) bool { return protocol.ValidName(name) }

// The hooks below are where lookupd registration and metadata persistence
// attach; each runs outside every topic and channel lock.

// Ephemeral topics and channels are not in nsqd.dat, so they cost no
// metadata write.

func (n *NSQD) topicCreated(t *Topic) {
	n.lookup.Register(t.name, "")
	if !t.ephemeral {
		n.metadataChanged()
	}
}

func (n *NSQD) topicDeleted(t *Topic) {
	n.lookup.Unregister(t.name, "")
	if !t.ephemeral {
		n.metadataChanged()
	}
}

func (n *NSQD) channelCreated(t *Topic, c *Channel) {
	c.resolvePolicy(t) // with the topic's TTL (channel_policy.go)
	n.lookup.Register(t.name, c.name)
	if !t.ephemeral && !c.ephemeral {
		n.metadataChanged()
	}
}

func (n *NSQD) channelDeleted(t *Topic, c *Channel) {
	n.lookup.Unregister(t.name, c.name)
	if !t.ephemeral && !c.ephemeral {
		n.metadataChanged()
	}
}

// metadataChanged persists nsqd.dat; while nsqd.dat is being replayed at
// start-up, or once the daemon is exiting (Exit writes it), it does nothing.
func (n *NSQD) metadataChanged() {
	if n.loading.Load() || n.exiting.Load() {
		return
	}
	if err := n.saveMetadata(); err != nil {
		n.logf(errorLevel, "%s", err)
	}
}

func (n *NSQD) addClient(c *client) bool {
	n.clientsMu.Lock()
	defer n.clientsMu.Unlock()
	if n.exiting.Load() {
		return false
	}
	n.clients[c.id] = c
	return true
}

func (n *NSQD) removeClient(c *client) {
	n.clientsMu.Lock()
	delete(n.clients, c.id)
	n.clientsMu.Unlock()
}

// clientList snapshots the connected clients (for stats).
func (n *NSQD) clientList() []*client {
	n.clientsMu.Lock()
	defer n.clientsMu.Unlock()
	list := make([]*client, 0, len(n.clients))
	for _, c := range n.clients {
		list = append(list, c)
	}
	return list
}
