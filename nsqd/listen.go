package nsqd

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/nsqgo/nsq/nsqd/httpserver"
)

// listenAddr binds addr the way upstream decides: host:port is TCP and
// anything else (a filesystem path such as /var/run/nsqd.sock) is a unix
// socket. Closing a unix listener removes its socket file.
func listenAddr(addr string) (net.Listener, error) {
	network := "tcp"
	if _, _, err := net.SplitHostPort(addr); err != nil {
		network = "unix"
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("listen (%s) failed - %w", addr, err)
	}
	return l, nil
}

// listen binds the TCP, HTTP and HTTPS listeners. HTTPS exists only with a
// certificate and key; with --tls-required=true the plain HTTP listener
// answers every request with 403 TLS_REQUIRED.
func (n *NSQD) listen() error {
	var err error
	if n.tcpListener, err = listenAddr(n.opts.TCPAddress); err != nil {
		return err
	}
	if n.opts.HTTPAddress != "" {
		if n.httpListener, err = listenAddr(n.opts.HTTPAddress); err != nil {
			n.closeListeners()
			return err
		}
		n.httpServer = newHTTPServer(n, n.tls.required == TLSRequired)
	}
	if n.tls.server != nil && n.opts.HTTPSAddress != "" {
		l, err := listenAddr(n.opts.HTTPSAddress)
		if err != nil {
			n.closeListeners()
			return err
		}
		n.httpsListener = tls.NewListener(l, n.tls.server)
		n.httpsServer = newHTTPServer(n, false)
	}
	return nil
}

// closeListeners stops the HTTP servers (letting requests under way
// finish) and closes every listener, also those never served, so that no
// unix socket file outlives the daemon.
func (n *NSQD) closeListeners() {
	if n.tcpListener != nil {
		n.tcpListener.Close()
	}
	for _, s := range []struct {
		server   *httpserver.Server
		listener net.Listener
	}{{n.httpServer, n.httpListener}, {n.httpsServer, n.httpsListener}} {
		if s.server != nil {
			s.server.Close()
		}
		if s.listener != nil {
			s.listener.Close()
		}
	}
}

// RealTCPAddr is the bound TCP address, or nil on a unix socket.
func (n *NSQD) RealTCPAddr() *net.TCPAddr { return tcpAddrOf(n.tcpListener) }

// RealHTTPAddr is the bound HTTP address, or nil when HTTP is disabled or
// on a unix socket.
func (n *NSQD) RealHTTPAddr() *net.TCPAddr { return tcpAddrOf(n.httpListener) }

// RealHTTPSAddr is the bound HTTPS address, or nil without HTTPS or on a
// unix socket.
func (n *NSQD) RealHTTPSAddr() *net.TCPAddr { return tcpAddrOf(n.httpsListener) }

func tcpAddrOf(l net.Listener) *net.TCPAddr {
	if l == nil {
		return nil
	}
	addr, _ := l.Addr().(*net.TCPAddr)
	return addr
}
