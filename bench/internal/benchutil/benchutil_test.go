package benchutil

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// Hello must stay the bytes the tools sent before it was shared.
func TestHelloIsIdentify(t *testing.T) {
	for role, ident := range map[string]string{
		"reader": `{"client_id":"reader","hostname":"reader","user_agent":"bench_reader/nsqgo"}`,
		"writer": `{"client_id":"writer","hostname":"writer","user_agent":"bench_writer/nsqgo"}`,
	} {
		want := binary.BigEndian.AppendUint32([]byte("  V2IDENTIFY\n"), uint32(len(ident)))
		want = append(want, ident...)
		if got := Hello(role); !bytes.Equal(got, want) {
			t.Fatalf("Hello(%q) = %q, want %q", role, got, want)
		}
	}
}

func TestFrameReaderRejectsBadSize(t *testing.T) {
	fr := NewFrameReader(bufio.NewReader(bytes.NewReader([]byte{0, 0, 0, 3, 0, 0, 0})), 16)
	if _, _, err := fr.Next(); err == nil || !strings.Contains(err.Error(), "bad frame size 3") {
		t.Fatalf("got %v, want a bad frame size error", err)
	}
}

// Workers spread over --topics round robin; one topic keeps the bare name.
func TestTopicName(t *testing.T) {
	for _, tc := range []struct {
		topics, index int
		want          string
	}{
		{1, 7, "t"}, {0, 3, "t"}, {100, 0, "t_0"}, {100, 99, "t_99"}, {100, 101, "t_1"}, {3, 5, "t_2"},
	} {
		if got := TopicName("t", tc.topics, tc.index); got != tc.want {
			t.Errorf("TopicName(t, %d, %d) = %q, want %q", tc.topics, tc.index, got, tc.want)
		}
	}
}
