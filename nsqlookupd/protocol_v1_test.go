package nsqlookupd

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nsqgo/nsq/internal/clock"
	"github.com/nsqgo/nsq/internal/logging"
)

func newTestProtocol() *v1Protocol {
	return &v1Protocol{
		reg:           newRegistry(time.Minute, time.Minute),
		clock:         clock.Real(),
		identifyReply: []byte(`{"broadcast_address":"test","hostname":"test","http_port":4161,"tcp_port":4160,"version":"1.3.0"}`),
		logf:          func(logging.Level, string, ...any) {},
	}
}

// splitReplies parses the V1 replies in out, failing on a torn one.
func splitReplies(t testing.TB, out []byte) []string {
	var replies []string
	for len(out) > 0 {
		if len(out) < 4 {
			t.Fatalf("torn reply size: % x", out)
		}
		n := int(binary.BigEndian.Uint32(out))
		if len(out) < 4+n {
			t.Fatalf("torn reply body: % x", out)
		}
		replies = append(replies, string(out[4:4+n]))
		out = out[4+n:]
	}
	return replies
}

func TestServeOverPlainReaderAndWriter(t *testing.T) {
	p := newTestProtocol()
	in := identifyCommand(nsqdIdentity("127.0.0.1", 4150, 4151)) +
		"REGISTER t c\nPING\nUNREGISTER t c\nREGISTER t\nBOGUS\nPING\n"
	var out bytes.Buffer
	err := p.serve(strings.NewReader(in), &out, "1.2.3.4:5")
	require.EqualError(t, err, "E_INVALID invalid command BOGUS")
	replies := splitReplies(t, out.Bytes())
	require.Equal(t, []string{string(p.identifyReply), "OK", "OK", "OK", "OK", "E_INVALID invalid command BOGUS"}, replies,
		"nothing after a fatal error is read")
	require.Equal(t, `{}`, mustJSON(t, p.reg.debug()), "the end of the connection removes its registrations")
	require.Equal(t, []string{"t"}, p.reg.topicNames(), "keys stay")
}

func TestServeCleanEOFIsNotAnError(t *testing.T) {
	p := newTestProtocol()
	var out bytes.Buffer
	require.NoError(t, p.serve(strings.NewReader("PING\nPING"), &out, "1.2.3.4:5"))
	require.Equal(t, []string{"OK"}, splitReplies(t, out.Bytes()), "a partial last line is not executed")
}

// A newer connection from the same address (the old one's cleanup still
// pending) keeps its registrations when the old connection is cleaned up.
func TestStaleConnectionCleanupKeepsNewerRegistration(t *testing.T) {
	r := newRegistry(time.Minute, time.Minute)
	old := &peer{id: "1.2.3.4:5", info: PeerInfo{BroadcastAddress: "a", HTTPPort: 1}}
	old.touch(time.Now())
	r.identify(old)
	r.register(old, "t", "c")
	fresh := &peer{id: "1.2.3.4:5", info: PeerInfo{BroadcastAddress: "b", HTTPPort: 2}}
	fresh.touch(time.Now())
	r.identify(fresh)
	_, topicAdded := r.register(fresh, "t", "c")
	require.True(t, topicAdded, "the stale entry is replaced")
	r.removePeer(old)
	_, producers, _ := r.lookup("t", time.Now())
	require.Len(t, producers, 1)
	require.Equal(t, "b", producers[0].BroadcastAddress)
	require.Len(t, r.nodes(time.Now()), 1)
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// FuzzV1Command feeds arbitrary bytes (what follows the magic) to the
// protocol handler: it must not panic or hang, every reply must be a whole
// V1 response, and the end of input must leave no registration behind.
func FuzzV1Command(f *testing.F) {
	ident := identifyCommand(nsqdIdentity("127.0.0.1", 4150, 4151))
	seeds := []string{
		"",
		"PING\n",
		"\n",
		" \r\n",
		"ping\n",
		"IDENTIFY\n",
		"IDENTIFY\n\x00\x00",
		"IDENTIFY\n\xff\xff\xff\xff",
		"IDENTIFY\n\x7f\xff\xff\xff",
		"IDENTIFY\n\x00\x00\x00\x02{}",
		"IDENTIFY\n\x00\x00\x00\x04null",
		identifyCommand(`{"broadcast_address":"a","tcp_port":1,"http_port":2}`),
		identifyCommand(`{"tcp_port":"1"}`),
		ident,
		ident + ident,
		ident + "REGISTER t\nREGISTER t c\nUNREGISTER t c\nUNREGISTER t\nPING\n",
		ident + "REGISTER e#ephemeral x#ephemeral\nUNREGISTER e#ephemeral x#ephemeral\nUNREGISTER e#ephemeral\n",
		ident + "REGISTER\n",
		ident + "REGISTER  c\n",
		ident + "REGISTER a*b\n",
		ident + "REGISTER t c!\n",
		ident + "UNREGISTER t  c\n",
		ident + "REGISTER " + strings.Repeat("a", 65) + "\n",
		"REGISTER t\n",
		"UNREGISTER t c\n",
		"PING\x00\n",
		strings.Repeat("PING ", 1000) + "\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := newTestProtocol()
		var out bytes.Buffer
		done := make(chan struct{})
		go func() {
			defer close(done)
			p.serve(bytes.NewReader(data), &out, "127.0.0.1:9")
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("serve did not return at end of input")
		}
		for _, reply := range splitReplies(t, out.Bytes()) {
			if reply != "OK" && !strings.HasPrefix(reply, "E_") && reply != string(p.identifyReply) {
				t.Fatalf("unexpected reply %q", reply)
			}
		}
		if dump := p.reg.debug(); len(dump) != 0 {
			t.Fatalf("registrations left after the connection ended: %v", dump)
		}
	})
}
