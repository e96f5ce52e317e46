package nsqd

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
)

// ping is the load balancers' health check: "OK", or a 500 with
// "NOK - <error>" while the last disk write failed. Plain text, without
// the V1 header, as upstream.
func (s *httpServer) ping(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	// One read, so the status and the text always agree.
	health := s.nsqd.healthString()
	status := http.StatusOK
	if health != "OK" {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(health))
}

// infoResponse keeps upstream's key order.
type infoResponse struct {
	Version              string        `json:"version"`
	BroadcastAddress     string        `json:"broadcast_address"`
	Hostname             string        `json:"hostname"`
	HTTPPort             int           `json:"http_port"`
	TCPPort              int           `json:"tcp_port"`
	StartTime            int64         `json:"start_time"`
	MaxHeartbeatInterval time.Duration `json:"max_heartbeat_interval"`
	MaxOutputBufferSize  int64         `json:"max_output_buffer_size"`
	MaxOutputBufferTime  time.Duration `json:"max_output_buffer_timeout"`
	MaxDeflateLevel      int           `json:"max_deflate_level"`
	TopologyZone         string        `json:"topology_zone,omitempty"` // upstream master
	TopologyRegion       string        `json:"topology_region,omitempty"`
}

func (s *httpServer) info(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	hostname, err := os.Hostname()
	if err != nil {
		s.nsqd.logf(errorLevel, "HTTP /info: %s", fmt.Errorf("reading hostname: %w", err))
		return nil, httpapi.Errorf(http.StatusInternalServerError, err.Error())
	}
	n := s.nsqd
	return infoResponse{
		Version:              Version,
		BroadcastAddress:     n.opts.BroadcastAddress,
		Hostname:             hostname,
		HTTPPort:             listenerPort(n.httpListener),
		TCPPort:              listenerPort(n.tcpListener),
		StartTime:            n.startTime.Unix(),
		MaxHeartbeatInterval: n.opts.MaxHeartbeatInterval,
		MaxOutputBufferSize:  n.opts.MaxOutputBufferSize,
		MaxOutputBufferTime:  n.opts.MaxOutputBufferTimeout,
		MaxDeflateLevel:      n.opts.MaxDeflateLevel,
		TopologyZone:         n.opts.TopologyZone,
		TopologyRegion:       n.opts.TopologyRegion,
	}, nil
}

// listenerPort is the bound port, or -1 as upstream reports for a unix
// socket (or a listener that is not open).
func listenerPort(l net.Listener) int {
	if l == nil {
		return -1
	}
	if addr, ok := l.Addr().(*net.TCPAddr); ok {
		return addr.Port
	}
	return -1
}
