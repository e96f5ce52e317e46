package nsqadmin

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/tooltest/daemons"
)

// TestLookupdBehindTLSIsReachedWithTheClientTLSOptions: nsqadmin asks its
// lookupds with the same --http-client-tls-* settings and 403->HTTPS retry
// as its nsqds, as upstream's one HTTP client does. The lookupd here sits
// behind a plain-HTTP front that answers 403 with an https_port, where a
// TLS proxy forwards to a real nsqlookupd.
func TestLookupdBehindTLSIsReachedWithTheClientTLSOptions(t *testing.T) {
	l := daemons.StartLookupd(t, nil)
	resp, err := http.Post("http://"+l.HTTPAddr()+"/topic/create?topic=behind-tls", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	certPath, keyPath := selfSigned(t)
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	require.NoError(t, err)
	secure := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: l.HTTPAddr()}))
	secure.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	secure.StartTLS()
	t.Cleanup(secure.Close)
	_, securePort, err := net.SplitHostPort(secure.Listener.Addr().String())
	require.NoError(t, err)
	port, err := strconv.Atoi(securePort)
	require.NoError(t, err)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"message":"TLS_REQUIRED","https_port":` + strconv.Itoa(port) + `}`))
	}))
	t.Cleanup(front.Close)
	frontAddr := front.Listener.Addr().String()

	admin := startAdmin(t, func(o *Options) {
		o.NSQLookupdHTTPAddresses = []string{frontAddr}
		o.HTTPClientTLSRootCAFile = certPath
	})
	status, m := admin.object(t, "/api/topics")
	require.Equal(t, http.StatusOK, status, m)
	require.Equal(t, []any{"behind-tls"}, m["topics"])

	untrusting := startAdmin(t, func(o *Options) { o.NSQLookupdHTTPAddresses = []string{frontAddr} })
	status, m = untrusting.object(t, "/api/topics")
	require.Equal(t, http.StatusBadGateway, status, "the certificate is not trusted")
	require.Contains(t, m["message"], "https://127.0.0.1:"+securePort)
}
