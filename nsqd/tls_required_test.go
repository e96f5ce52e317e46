package nsqd

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// --tls-required (as upstream, over TCP and HTTP): TCP clients may only
// IDENTIFY until they are on TLS; with "true" plain HTTP is refused too.

func TestTLSRequiredRejectsEveryCommandButIdentifyBeforeTheUpgrade(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, func(o *Options) { o.TLSRequired = TLSRequired })
	for _, tc := range []struct{ name, line string }{
		{"NOP", "NOP"}, {"PUB", "PUB t"}, {"MPUB", "MPUB t"}, {"DPUB", "DPUB t 10"},
		{"SUB", "SUB t c"}, {"RDY", "RDY 1"}, {"FIN", "FIN 0123456789abcdef"},
		{"CLS", "CLS"}, {"AUTH", "AUTH"}, {"WHAT", "WHAT"},
	} {
		c := dialV2(t, n)
		c.send(tc.line)
		c.expectFatal(fmt.Sprintf("E_INVALID cannot %s in current state (TLS required)", tc.name))
	}
}

func TestTLSRequiredStillRejectsCommandsAfterAPlainIdentify(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, func(o *Options) { o.TLSRequired = TLSRequired })
	c := dialV2(t, n)
	reply := c.identify(map[string]any{"feature_negotiation": true})
	require.Equal(t, false, reply["tls_v1"])
	c.send("NOP")
	c.expectFatal("E_INVALID cannot NOP in current state (TLS required)")
}

func TestTLSRequiredAllowsCommandsAfterTheUpgrade(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, func(o *Options) { o.TLSRequired = TLSRequired })
	c := dialV2(t, n)
	c.identifyTLS(p.clientConfig(), map[string]any{})
	c.send("NOP")
	c.pub("t", "allowed")
	c.subscribe("t", "c")
}

func TestTLSRequiredAnswersPlainHTTPWithForbiddenAndTheHTTPSPort(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, func(o *Options) { o.TLSRequired = TLSRequired })
	want := fmt.Sprintf(`{"message": "TLS_REQUIRED", "https_port": %d}`, n.RealHTTPSAddr().Port)
	for _, path := range []string{"/ping", "/stats", "/pub?topic=t", "/nope"} {
		status, body, header := httpDo(t, http.MethodGet, httpURL(n, path), nil)
		require.Equal(t, http.StatusForbidden, status, path)
		require.Equal(t, want, string(body), path)
		require.Equal(t, "application/json; charset=utf-8", header.Get("Content-Type"), path)
		requireV1Header(t, header)
	}
	_, err := n.GetExistingTopic("t")
	require.Error(t, err, "a refused /pub creates nothing")
}

func TestHTTPSServesTheAPIWhenTLSIsRequired(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, func(o *Options) { o.TLSRequired = TLSRequired })
	client := p.httpsClient()
	resp, err := client.Get("https://" + n.RealHTTPSAddr().String() + "/ping")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	requireOK(t, "OK", resp.StatusCode, body)
}

func TestHTTPSServesTheSameRoutesAsHTTP(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, nil)
	client := p.httpsClient()
	base := "https://" + n.RealHTTPSAddr().String()
	resp, err := client.Post(base+"/pub?topic=secure", "application/octet-stream", strings.NewReader("over https"))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	requireOK(t, "OK", resp.StatusCode, body)
	require.EqualValues(t, 1, n.GetStats("secure", "", false).Topics[0].MessageCount)

	// Plain HTTP is open while TLS is not required.
	status, body := httpGet(t, n, "/ping")
	requireOK(t, "OK", status, body)
}

func TestHTTPSIsNotOpenedWithoutACertificate(t *testing.T) {
	n := startDaemon(t, nil)
	require.Nil(t, n.RealHTTPSAddr())
}

func TestTLSRequiredTCPHTTPSLeavesPlainHTTPOpen(t *testing.T) {
	p := newTestPKI(t)
	n := startTLSDaemon(t, p, func(o *Options) { o.TLSRequired = TLSRequiredExceptHTTP })
	status, body := httpGet(t, n, "/ping")
	requireOK(t, "OK", status, body)
	c := dialV2(t, n)
	c.send("NOP")
	c.expectFatal("E_INVALID cannot NOP in current state (TLS required)")
}
