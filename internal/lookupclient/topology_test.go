package lookupclient

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// With a topology set, IDENTIFY carries it in upstream master's keys, in
// their sorted place; without one the bytes are 1.3's (TestCommandEncoding).
func TestIdentifyCarriesTopologyWhenSet(t *testing.T) {
	hello, err := appendHello(nil, Identity{BroadcastAddress: "b", Hostname: "h", Version: "1.3.0", TCPPort: 1, HTTPPort: 2,
		TopologyZone: "z1", TopologyRegion: "r1"})
	require.NoError(t, err)
	require.Contains(t, string(hello),
		`{"broadcast_address":"b","hostname":"h","http_port":2,"tcp_port":1,"topology_region":"r1","topology_zone":"z1","version":"1.3.0"}`)
}
