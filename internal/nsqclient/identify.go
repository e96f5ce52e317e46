package nsqclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// identifyRequest is the IDENTIFY body go-nsq sends, deprecated short_id
// and long_id included so that pre-1.0 daemons still know the client.
type identifyRequest struct {
	ClientID            string `json:"client_id"`
	Hostname            string `json:"hostname"`
	UserAgent           string `json:"user_agent"`
	ShortID             string `json:"short_id"`
	LongID              string `json:"long_id"`
	FeatureNegotiation  bool   `json:"feature_negotiation"`
	HeartbeatInterval   int64  `json:"heartbeat_interval"`
	OutputBufferSize    int64  `json:"output_buffer_size"`
	OutputBufferTimeout int64  `json:"output_buffer_timeout"`
	TLSv1               bool   `json:"tls_v1"`
	Snappy              bool   `json:"snappy"`
	Deflate             bool   `json:"deflate"`
	DeflateLevel        int    `json:"deflate_level"`
	SampleRate          int32  `json:"sample_rate"`
	MsgTimeout          int64  `json:"msg_timeout"`
}

// identifyBody encodes o as an IDENTIFY body. Durations go out in
// milliseconds; a negative one (disabled) as -1.
func identifyBody(o *Options) ([]byte, error) {
	ms := func(d time.Duration) int64 {
		if d < 0 {
			return -1
		}
		return d.Milliseconds()
	}
	return json.Marshal(identifyRequest{
		ClientID:            o.ClientID,
		Hostname:            o.Hostname,
		UserAgent:           o.UserAgent,
		ShortID:             o.ClientID,
		LongID:              o.Hostname,
		FeatureNegotiation:  true,
		HeartbeatInterval:   ms(o.HeartbeatInterval),
		OutputBufferSize:    o.OutputBufferSize,
		OutputBufferTimeout: ms(o.OutputBufferTimeout),
		TLSv1:               o.TLSv1,
		Snappy:              o.Snappy,
		Deflate:             o.Deflate,
		DeflateLevel:        o.DeflateLevel,
		SampleRate:          o.SampleRate,
		MsgTimeout:          ms(o.MsgTimeout),
	})
}

// identifyResponse holds the keys of nsqd's negotiation answer a client
// acts on (with feature_negotiation); the others are ignored.
type identifyResponse struct {
	MaxRdyCount  int64  `json:"max_rdy_count"`
	Version      string `json:"version"`
	MsgTimeout   int64  `json:"msg_timeout"`
	TLSv1        bool   `json:"tls_v1"`
	Deflate      bool   `json:"deflate"`
	DeflateLevel int    `json:"deflate_level"`
	Snappy       bool   `json:"snappy"`
	AuthRequired bool   `json:"auth_required"`
}

// parseIdentifyResponse reads IDENTIFY's answer. Like go-nsq it is JSON
// only when it starts with '{'; anything else (a plain OK from an nsqd
// without negotiation) means no features and nsqd's default RDY ceiling.
func parseIdentifyResponse(data []byte) (identifyResponse, error) {
	resp := identifyResponse{MaxRdyCount: 2500}
	if !bytes.HasPrefix(data, []byte("{")) {
		return resp, nil
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return resp, fmt.Errorf("decode IDENTIFY response: %w", err)
	}
	if resp.MaxRdyCount <= 0 {
		return resp, fmt.Errorf("IDENTIFY response: invalid max_rdy_count %d", resp.MaxRdyCount)
	}
	if resp.Deflate && resp.Snappy {
		return resp, fmt.Errorf("IDENTIFY response: both deflate and snappy negotiated")
	}
	return resp, nil
}
