package config

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type settings struct {
	msgTimeout time.Duration
	reqTimeout time.Duration
	memQueue   int64
	id         int64
	snappy     bool
	lookupds   StringList
	pcts       FloatList
	name       string
}

func newFlags(s *settings) *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.DurationVar(&s.msgTimeout, "msg-timeout", time.Minute, "")
	fs.DurationVar(&s.reqTimeout, "max-req-timeout", time.Hour, "")
	fs.Int64Var(&s.memQueue, "mem-queue-size", 10000, "")
	fs.Int64Var(&s.id, "node-id", 0, "")
	fs.BoolVar(&s.snappy, "snappy", true, "")
	fs.Var(&s.lookupds, "lookupd-tcp-address", "")
	fs.Var(&s.pcts, "e2e-processing-latency-percentile", "")
	fs.StringVar(&s.name, "broadcast-address", "", "")
	return fs
}

func keyOf(name string) string {
	switch name {
	case "node-id":
		return "id"
	case "lookupd-tcp-address":
		return "nsqlookupd_tcp_addresses"
	case "e2e-processing-latency-percentile":
		return "e2e_processing_latency_percentiles"
	}
	return DefaultKey(name)
}

func writeConfig(t *testing.T, text string) string {
	path := filepath.Join(t.TempDir(), "c.toml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

func TestConfigFileFillsFlagsNotGivenOnCommandLine(t *testing.T) {
	var s settings
	fs := newFlags(&s)
	require.NoError(t, fs.Parse([]string{"--mem-queue-size=700"}))
	path := writeConfig(t, `
id = 42
msg_timeout = 30000
max_req_timeout = "2h"
mem_queue_size = 500
snappy = "false"
nsqlookupd_tcp_addresses = ["a:4160", "b:4160"]
e2e_processing_latency_percentiles = "0.5,1.0"
broadcast_address = "host1"
unknown_key = 3
`)
	require.NoError(t, Load(fs, path, keyOf))
	require.Equal(t, int64(42), s.id)
	require.Equal(t, 30*time.Second, s.msgTimeout)
	require.Equal(t, 2*time.Hour, s.reqTimeout)
	require.Equal(t, int64(700), s.memQueue, "the command line wins over the file")
	require.False(t, s.snappy)
	require.Equal(t, StringList{"a:4160", "b:4160"}, s.lookupds)
	require.Equal(t, FloatList{1.0, 0.5}, s.pcts)
	require.Equal(t, "host1", s.name)
}

func TestConfigSyntaxErrorIsReported(t *testing.T) {
	var s settings
	fs := newFlags(&s)
	require.NoError(t, fs.Parse(nil))
	err := Load(fs, writeConfig(t, "id = = 1"), keyOf)
	require.ErrorContains(t, err, "failed to load config file")
}

func TestConfigBadValueIsReported(t *testing.T) {
	var s settings
	fs := newFlags(&s)
	require.NoError(t, fs.Parse(nil))
	err := Load(fs, writeConfig(t, `mem_queue_size = "lots"`), keyOf)
	require.ErrorContains(t, err, "failed parsing mem_queue_size")
}

func TestConfigBadValueMessageIsUpstreams(t *testing.T) {
	var s settings
	fs := newFlags(&s)
	require.NoError(t, fs.Parse(nil))
	err := Load(fs, writeConfig(t, `msg_timeout = "soon"`), keyOf)
	require.EqualError(t, err, "failed parsing msg_timeout soon")
	var ve *ValueError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "msg_timeout", ve.Key)
	require.Error(t, ve.Err, "the flag's own complaint is kept")
}
