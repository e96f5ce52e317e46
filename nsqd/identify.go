package nsqd

import (
	"bufio"
	"encoding/json"
	"io"
	"time"

	"github.com/nsqgo/nsq/internal/protocol"
)

// identifyRequest is the IDENTIFY body. Unknown keys are ignored; a value of
// the wrong type (a string or 1000.5 for an int) fails decoding, as upstream.
type identifyRequest struct {
	ClientID            string `json:"client_id"`
	Hostname            string `json:"hostname"`
	UserAgent           string `json:"user_agent"`
	FeatureNegotiation  bool   `json:"feature_negotiation"`
	HeartbeatInterval   int    `json:"heartbeat_interval"`
	OutputBufferSize    int    `json:"output_buffer_size"`
	OutputBufferTimeout int    `json:"output_buffer_timeout"`
	TLSv1               bool   `json:"tls_v1"`
	Snappy              bool   `json:"snappy"`
	Deflate             bool   `json:"deflate"`
	DeflateLevel        int    `json:"deflate_level"`
	SampleRate          int32  `json:"sample_rate"`
	MsgTimeout          int    `json:"msg_timeout"`
	TopologyRegion      string `json:"topology_region"`
	TopologyZone        string `json:"topology_zone"`
}

// identifyResponse keeps upstream's key order.
type identifyResponse struct {
	MaxRdyCount         int64  `json:"max_rdy_count"`
	Version             string `json:"version"`
	MaxMsgTimeout       int64  `json:"max_msg_timeout"`
	MsgTimeout          int64  `json:"msg_timeout"`
	TLSv1               bool   `json:"tls_v1"`
	Deflate             bool   `json:"deflate"`
	DeflateLevel        int    `json:"deflate_level"`
	MaxDeflateLevel     int    `json:"max_deflate_level"`
	Snappy              bool   `json:"snappy"`
	SampleRate          int32  `json:"sample_rate"`
	AuthRequired        bool   `json:"auth_required"`
	OutputBufferSize    int    `json:"output_buffer_size"`
	OutputBufferTimeout int64  `json:"output_buffer_timeout"`
	// upstream master; omitted while unset so a 1.3 client sees 1.3's reply
	TopologyRegion string `json:"topology_region,omitempty"`
	TopologyZone   string `json:"topology_zone,omitempty"`
	// ours (options_policy.go): the flags' attempts limit and TTL (ms),
	// omitted while off; a channel may override them after SUB.
	MaxAttempts int   `json:"max_attempts,omitempty"`
	MsgTTL      int64 `json:"msg_ttl,omitempty"`
}

// negotiated is what IDENTIFY settles on, before it is applied.
type negotiated struct {
	heartbeat           time.Duration // <= 0: disabled
	outputBufferSize    int
	outputBufferTimeout time.Duration // 0: disabled
	sampleRate          int32
	msgTimeout          time.Duration
	deflateLevel        int
}

func (s *v2Session) identify() ([]byte, error) {
	if s.c.state.Load() != stateInit {
		return nil, fatalErr("E_INVALID", "cannot IDENTIFY in current state")
	}
	size, err := s.readSize()
	if err != nil {
		return nil, fatalErr("E_BAD_BODY", "IDENTIFY failed to read body size")
	}
	if int64(size) > s.n.opts.MaxBodySize {
		return nil, fatalErr("E_BAD_BODY", "IDENTIFY body too big %d > %d", size, s.n.opts.MaxBodySize)
	}
	if size <= 0 {
		return nil, fatalErr("E_BAD_BODY", "IDENTIFY invalid body size %d", size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(s.c.reader, body); err != nil {
		return nil, fatalErr("E_BAD_BODY", "IDENTIFY failed to read body")
	}
	var req identifyRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fatalErr("E_BAD_BODY", "IDENTIFY failed to decode JSON body")
	}

	s.c.settingsMu.Lock()
	s.c.clientID = req.ClientID
	s.c.hostname = req.Hostname
	s.c.userAgent = req.UserAgent
	s.c.topologyZone = req.TopologyZone
	s.c.topologyRegion = req.TopologyRegion
	s.c.settingsMu.Unlock()

	settings, perr := s.negotiate(&req)
	if perr != nil {
		return nil, perr
	}
	s.apply(settings)

	if !req.FeatureNegotiation {
		return protocol.OK, nil
	}
	up, uerr := s.negotiateUpgrades(&req, settings.deflateLevel)
	if uerr != nil {
		return nil, uerr
	}
	response, err := json.Marshal(identifyResponse{
		MaxRdyCount:         s.n.opts.MaxRdyCount,
		Version:             Version,
		MaxMsgTimeout:       s.n.opts.MaxMsgTimeout.Milliseconds(),
		MsgTimeout:          settings.msgTimeout.Milliseconds(),
		TLSv1:               up.tls,
		Deflate:             up.deflate,
		DeflateLevel:        settings.deflateLevel,
		MaxDeflateLevel:     s.n.opts.MaxDeflateLevel,
		Snappy:              up.snappy,
		SampleRate:          settings.sampleRate,
		AuthRequired:        s.n.auth != nil, // AUTH must come before PUB/SUB
		OutputBufferSize:    settings.outputBufferSize,
		OutputBufferTimeout: settings.outputBufferTimeout.Milliseconds(),
		TopologyRegion:      s.n.opts.TopologyRegion,
		TopologyZone:        s.n.opts.TopologyZone,
		MaxAttempts:         s.n.opts.MaxAttempts,
		MsgTTL:              s.n.opts.MsgTTL.Milliseconds(),
	})
	if err != nil {
		return nil, fatalErr("E_IDENTIFY_FAILED", "IDENTIFY failed %s", err)
	}
	if up.any() {
		// The reply goes out before the switch, and the OKs after it.
		return nil, s.upgrade(response, up)
	}
	return response, nil
}

// negotiate validates the request within the daemon's limits, in
// upstream's order, reporting the first value out of range.
func (s *v2Session) negotiate(req *identifyRequest) (negotiated, error) {
	opts := s.n.opts
	out := negotiated{
		heartbeat:           opts.ClientTimeout / 2,
		outputBufferSize:    defaultBufferSize,
		outputBufferTimeout: opts.OutputBufferTimeout,
		msgTimeout:          opts.MsgTimeout,
		deflateLevel:        6,
	}
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }

	switch hb := req.HeartbeatInterval; {
	case hb == -1:
		out.heartbeat = -1
	case hb == 0:
	case hb >= 1000 && ms(hb) <= opts.MaxHeartbeatInterval:
		out.heartbeat = ms(hb)
	default:
		return out, fatalErr("E_BAD_BODY", "IDENTIFY heartbeat interval (%d) is invalid", hb)
	}

	switch timeout := req.OutputBufferTimeout; {
	case timeout == -1:
		out.outputBufferTimeout = 0
	case timeout == 0:
	case ms(timeout) >= opts.MinOutputBufferTimeout && ms(timeout) <= opts.MaxOutputBufferTimeout:
		out.outputBufferTimeout = ms(timeout)
	default:
		return out, fatalErr("E_BAD_BODY", "IDENTIFY output buffer timeout (%d) is invalid", timeout)
	}

	switch size := req.OutputBufferSize; {
	case size == -1:
		out.outputBufferSize = 1
		out.outputBufferTimeout = 0
	case size == 0:
	case size >= 64 && int64(size) <= opts.MaxOutputBufferSize:
		out.outputBufferSize = size
	default:
		return out, fatalErr("E_BAD_BODY", "IDENTIFY output buffer size (%d) is invalid", size)
	}

	if req.SampleRate < 0 || req.SampleRate > 99 {
		return out, fatalErr("E_BAD_BODY", "IDENTIFY sample rate (%d) is invalid", req.SampleRate)
	}
	out.sampleRate = req.SampleRate

	switch timeout := req.MsgTimeout; {
	case timeout == 0:
	case timeout >= 1000 && ms(timeout) <= opts.MaxMsgTimeout:
		out.msgTimeout = ms(timeout)
	default:
		return out, fatalErr("E_BAD_BODY", "IDENTIFY msg timeout (%d) is invalid", timeout)
	}

	// Upstream takes a requested level only along with deflate itself.
	if opts.DeflateEnabled && req.Deflate && req.DeflateLevel > 0 {
		out.deflateLevel = req.DeflateLevel
	}
	if out.deflateLevel > opts.MaxDeflateLevel {
		out.deflateLevel = opts.MaxDeflateLevel
	}
	return out, nil
}

// apply installs negotiated settings; the pump re-reads them when woken.
func (s *v2Session) apply(settings negotiated) {
	c := s.c
	c.heartbeatInterval.Store(int64(settings.heartbeat))
	c.msgTimeout.Store(int64(settings.msgTimeout))
	c.sampleRate.Store(settings.sampleRate)
	c.writeMu.Lock()
	c.flushLocked()
	// A one-byte buffer means "no buffering": every frame is written as soon
	// as it is complete, which bufio does for writes larger than its size.
	c.writer = bufio.NewWriterSize(c.writeTopLocked(), settings.outputBufferSize)
	c.writeMu.Unlock()
	c.signal()
}
