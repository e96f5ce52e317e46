package nsqclient

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/httpapi"
)

func TestConsumerRetriesALookupdThatAnswersGarbage(t *testing.T) {
	n := startNSQD(t, "127.0.0.1:0", nil, nil)
	publishTo(t, n, "garbage", bodies("g", 1))
	var healthy atomic.Bool
	var queries atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries.Add(1)
		w.Header().Set(httpapi.ContentTypeHeader, httpapi.ContentTypeValue)
		if !healthy.Load() {
			w.Write([]byte("not json"))
			return
		}
		w.Write([]byte(`{"channels":[],"producers":[{"broadcast_address":"127.0.0.1","tcp_port":` +
			strconv.Itoa(n.RealTCPAddr().Port) + `,"http_port":1,"version":"1.3.0"}]}`))
	}))
	t.Cleanup(srv.Close)

	opts := testOptions(t)
	fake := useFakeClock(opts)
	opts.LookupdPollJitter = 0 // polls at start + k × interval
	got := newCollector()
	c := newTestConsumer(t, "garbage", "ch", opts)
	c.AddHandler(got)
	start := fake.Now()
	require.NoError(t, c.ConnectToNSQLookupd(srv.URL))
	// The first query goes out at once; each later one when the clock
	// reaches the next poll (the earliest timer: redistribution ticks
	// every 5s).
	poll := func(k int) {
		t.Helper()
		due := start.Add(time.Duration(k) * opts.LookupdPollInterval)
		awaitDeadline(t, fake, due)
		fake.AdvanceTo(due)
	}
	eventually(t, "the first query", func() bool { return queries.Load() == 1 })
	for k := 1; k <= 2; k++ {
		poll(k)
		eventually(t, "the next query", func() bool { return queries.Load() == int32(k+1) })
	}
	require.Zero(t, c.Stats().Connections, "garbage lists no producer")
	healthy.Store(true)
	poll(3)
	got.waitFor(t, 1)
	require.EqualValues(t, 4, queries.Load(), "one query per poll")
}
