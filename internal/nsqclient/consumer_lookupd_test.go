package nsqclient

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

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

	got := newCollector()
	c := newTestConsumer(t, "garbage", "ch", testOptions(t))
	c.AddHandler(got)
	require.NoError(t, c.ConnectToNSQLookupd(srv.URL))
	eventually(t, "a few failed polls", func() bool { return queries.Load() >= 3 })
	require.Zero(t, c.Stats().Connections)
	healthy.Store(true)
	got.waitFor(t, 1)
}
