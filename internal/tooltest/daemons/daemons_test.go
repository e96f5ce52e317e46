package daemons

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStartRegistersAndStopsOnce(t *testing.T) {
	l := StartLookupd(t, nil)
	n := StartNSQD(t, []string{l.TCPAddr()}, nil)
	require.Equal(t, []string{l.TCPAddr()}, n.LookupdAddresses())

	resp, err := http.Get("http://" + n.HTTPAddr() + "/ping")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	n.Stop()
	n.Stop() // and again when the test ends
	_, err = http.Get("http://" + n.HTTPAddr() + "/ping")
	require.Error(t, err, "a stopped nsqd no longer serves")
}
