package browsertest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/tooltest/daemons"
	"github.com/nsqgo/nsq/nsqadmin"
	"github.com/nsqgo/nsq/nsqd"
)

// waitTimeout bounds every single wait for the page or the daemons; the
// pages poll every 3s and the machine may be loaded.
const waitTimeout = 30 * time.Second

// chromiumNames are the executables looked for on PATH, in order, when
// $CHROMIUM does not name one. The Makefile looks for the same ones.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// findChromium returns the browser to drive, or "" when there is none.
func findChromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
		return ""
	}
	for _, name := range chromiumNames {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	return ""
}

// cluster is one nsqlookupd, one nsqd registered with it, and an nsqadmin
// reading the cluster through the lookupd.
type cluster struct {
	lookupd *daemons.Lookupd
	nsqd    *daemons.NSQD
	admin   *nsqadmin.NSQAdmin
	url     string // nsqadmin's root, without a trailing slash
}

func startCluster(t *testing.T, configure func(*nsqadmin.Options)) *cluster {
	t.Helper()
	l := daemons.StartLookupd(t, nil)
	n := daemons.StartNSQD(t, []string{l.TCPAddr()}, func(o *nsqd.Options) {
		// For the e2e latency graph.
		o.E2EProcessingLatencyPercentiles = []float64{0.99}
	})
	opts := nsqadmin.NewOptions()
	opts.HTTPAddress = "127.0.0.1:0"
	opts.NSQLookupdHTTPAddresses = []string{l.HTTPAddr()}
	opts.HistoryInterval = time.Second
	opts.Logger = daemons.LogWriter(t)
	opts.LogLevel = logging.Warn
	if configure != nil {
		configure(opts)
	}
	a, err := nsqadmin.New(opts)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- a.Main() }()
	t.Cleanup(func() {
		a.Exit()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(daemons.StopTimeout):
			t.Error("nsqadmin did not stop in time")
		}
	})
	base := strings.TrimSuffix(opts.BasePath, "/")
	return &cluster{lookupd: l, nsqd: n, admin: a, url: "http://" + a.RealHTTPAddr().String() + base}
}

// nodeName is how nsqadmin names the nsqd: its broadcast address and HTTP port.
func (c *cluster) nodeName() string {
	return fmt.Sprintf("127.0.0.1:%d", c.nsqd.RealHTTPAddr().Port)
}

// nsqdStats is nsqd's /stats?format=json, read as an operator's script would.
type nsqdStats struct {
	Topics []topicStats `json:"topics"`
}

type topicStats struct {
	TopicName    string         `json:"topic_name"`
	Depth        int64          `json:"depth"`
	MessageCount int64          `json:"message_count"`
	Paused       bool           `json:"paused"`
	Channels     []channelStats `json:"channels"`
}

type channelStats struct {
	ChannelName   string        `json:"channel_name"`
	Depth         int64         `json:"depth"`
	InFlightCount int64         `json:"in_flight_count"`
	DeferredCount int64         `json:"deferred_count"`
	RequeueCount  int64         `json:"requeue_count"`
	TimeoutCount  int64         `json:"timeout_count"`
	MessageCount  int64         `json:"message_count"`
	Paused        bool          `json:"paused"`
	Clients       []clientStats `json:"clients"`
}

type clientStats struct {
	ClientID      string `json:"client_id"`
	UserAgent     string `json:"user_agent"`
	ReadyCount    int64  `json:"ready_count"`
	InFlightCount int64  `json:"in_flight_count"`
	FinishCount   int64  `json:"finish_count"`
	RequeueCount  int64  `json:"requeue_count"`
	MessageCount  int64  `json:"message_count"`
	Snappy        bool   `json:"snappy"`
	Deflate       bool   `json:"deflate"`
	TLS           bool   `json:"tls"`
}

func (c *cluster) stats(t *testing.T) nsqdStats {
	t.Helper()
	resp, err := http.Get("http://" + c.nsqd.HTTPAddr() + "/stats?format=json")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var s nsqdStats
	require.NoError(t, decodeJSON(resp.Body, &s))
	return s
}

func decodeJSON(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// browser is one headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
	// pages are the URLs loaded, each screenshotted on failure.
	pages []string
	// phone, when set, is the viewport every page is loaded in (a headless
	// window cannot be made that narrow; the device metrics can).
	phone *[2]int64
}

// chromium is the one browser this package's tests share: starting one
// costs seconds on a loaded machine. Each test gets its own tab in its own
// browser context (its own cookies and storage), closed when it ends.
// TestMain stops the browser.
var chromium struct {
	once    sync.Once
	ctx     context.Context // the browser's first tab; tests' tabs derive from it
	stop    func()
	profile string
	exe     string
	err     error
}

// pageParallelism is how many tests run at once unless -test.parallel says
// otherwise. A test spends its time waiting for the page's next poll
// (every 3 s) and nsqadmin's next history point, not on the CPU, so more
// of them at once than the default (GOMAXPROCS) shortens the package's run
// several times over; each has its own cluster, tab and browser context.
const pageParallelism = 6

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", strconv.Itoa(pageParallelism))
	}
	code := m.Run()
	if chromium.stop != nil {
		chromium.stop()
	}
	if chromium.profile != "" {
		os.RemoveAll(chromium.profile)
	}
	os.Exit(code)
}

func startChromium() {
	chromium.exe = findChromium()
	if chromium.exe == "" {
		return
	}
	chromium.profile, chromium.err = os.MkdirTemp("", "nsqadmin-browsertest-profile-")
	if chromium.err != nil {
		return
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium.exe),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(chromium.profile),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	chromium.ctx = ctx
	chromium.stop = func() {
		cancelCtx()
		cancelAlloc()
	}
	// The first run starts the browser, and must use the first tab's own
	// context: cancelling a context derived from it would close the browser.
	if err := chromedp.Do(ctx); err != nil {
		chromium.err = fmt.Errorf("starting %s: %w", chromium.exe, err)
	}
}

// newBrowser opens a fresh tab (1280x900) in its own browser context, or
// skips the test when there is no Chromium.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	chromium.once.Do(startChromium)
	if chromium.exe == "" {
		t.Skip("browser tests skipped: no Chromium found (looked for $CHROMIUM, " + strings.Join(chromiumNames, ", ") + "); install one, e.g. apt-get install chromium")
	}
	require.NoError(t, chromium.err)
	ctx, cancel := chromedp.NewContext(chromium.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	b := &browser{t: t, ctx: ctx}
	// Open the tab now, with the tab's own context, for the same reason.
	require.NoError(t, chromedp.Do(ctx), "opening a tab")
	return b
}

// run runs actions with the standard bound.
func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, actions...))
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(b.t, err, "evaluating %s", expr)
	return v
}

// open loads url and waits until the app has rendered its first figures.
func (b *browser) open(url string) {
	b.t.Helper()
	if b.pages == nil {
		// Registered at the first page, after the cluster started: cleanups
		// run last-registered first, so the screenshots are taken while
		// the cluster still answers, before the browser goes.
		b.t.Cleanup(func() {
			if b.t.Failed() || os.Getenv("NSQADMIN_SCREENSHOTS") != "" {
				b.screenshotAll()
			}
		})
	}
	b.pages = append(b.pages, url)
	if b.phone != nil {
		b.run(chromedp.EmulateViewport(b.phone[0], b.phone[1], chromedp.EmulateMobile))
	}
	b.run(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("body[data-loaded]")))
}

// waitJS waits until the JavaScript expression is true in the page.
func (b *browser) waitJS(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	// An exception (an element not rendered yet) counts as false, not as
	// the end of the wait.
	guarded := "(function(){try{return !!(" + expr + ");}catch(e){return false;}})()"
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](guarded, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(0))); err != nil {
		b.t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

// waitText waits until the element's text (spaces collapsed) is want.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf("%q to read %q", sel, want),
		fmt.Sprintf(`(function(){var e=document.querySelector(%s);return !!e&&e.textContent.replace(/\s+/g,' ').trim()===%s;})()`, jsString(sel), jsString(want)))
}

// text is the element's text now, spaces collapsed.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(function(){var e=document.querySelector(%s);return e?e.textContent.replace(/\s+/g,' ').trim():'<missing>';})()`, jsString(sel)))
}

// click clicks the element matched by sel, once it is visible. The click
// is dispatched on the element itself, in the page, rather than as mouse
// events at where the element was: the page moves under a pointer (a flash
// message above the content is removed 6 s after it appeared), and on a
// loaded machine a mouse click aimed at a button's old place landed on the
// figures beside it and was lost.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.run(chromedp.WaitVisible(chromedp.CSS(sel)))
	require.True(b.t, eval[bool](b, fmt.Sprintf(`(function(){var e=document.querySelector(%s);if(!e)return false;e.click();return true;})()`, jsString(sel))),
		"%s vanished before it could be clicked", sel)
}

// confirm clicks sel, checks the confirmation dialog appears and names
// what it will do, and answers it.
func (b *browser) confirm(sel, mentions string, yes bool) {
	b.t.Helper()
	b.click(sel)
	b.run(chromedp.WaitVisible(chromedp.CSS("#confirm-ok")))
	require.Contains(b.t, b.text("#confirm-text"), mentions)
	if yes {
		b.click("#confirm-ok")
	} else {
		b.click("#confirm-cancel")
	}
	b.run(chromedp.WaitNotVisible(chromedp.CSS("#confirm")))
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// screenshotAll saves a full-page PNG of each page the test loaded, and of
// the page as it is now, and logs where.
// They go to NSQADMIN_SCREENSHOTS when it names a directory, else to a temp
// dir of their own (not t.TempDir, which is removed with the test).
func (b *browser) screenshotAll() {
	dir := os.Getenv("NSQADMIN_SCREENSHOTS")
	if dir == "" || dir == "1" {
		var err error
		dir, err = os.MkdirTemp("", "nsqadmin-browsertest-"+unsafeName.ReplaceAllString(b.t.Name(), "_")+"-")
		if err != nil {
			b.t.Logf("no screenshot: %v", err)
			return
		}
	}
	save := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
		defer cancel()
		err := chromedp.Do(ctx, actions...)
		var png []byte
		if err == nil {
			png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
		}
		if err != nil {
			b.t.Logf("screenshot %s: %v", name, err)
			return
		}
		path := filepath.Join(dir, unsafeName.ReplaceAllString(b.t.Name(), "_")+"-"+name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			b.t.Logf("screenshot %s: %v", name, err)
			return
		}
		b.t.Logf("screenshot: %s", path)
	}
	save("final")
	for i, url := range b.pages {
		var steps []chromedp.Action[chromedp.Void]
		if b.phone != nil {
			steps = append(steps, chromedp.EmulateViewport(b.phone[0], b.phone[1], chromedp.EmulateMobile))
		}
		steps = append(steps, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("body[data-loaded]")))
		save(fmt.Sprintf("page%d", i+1), steps...)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// setValue sets a form field's value.
func setValue(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.SetValue(chromedp.CSS(sel), value)
}
