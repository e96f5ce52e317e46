package nsqlookupd

import (
	"github.com/nsqgo/nsq/internal/config"
	"github.com/nsqgo/nsq/internal/logging"
)

// Declarations lists every option a user can set, bound to o's fields:
// apps/nsqlookupd registers the flags from it and the config file is
// loaded by its keys (internal/config). Logger and Clock have no flag.
func (o *Options) Declarations() []config.Option {
	return []config.Option{
		{Flag: "log-level", Field: &o.LogLevel, Help: "set log verbosity: debug, info, warn, error, or fatal"},
		{Flag: "log-prefix", Field: &o.LogPrefix, Help: "log message prefix"},
		{Flag: "log-format", Field: &o.LogFormat, Help: logging.FlagUsage},

		{Flag: "tcp-address", Field: &o.TCPAddress, Help: "<addr>:<port> to listen on for TCP clients"},
		{Flag: "http-address", Field: &o.HTTPAddress, Help: "<addr>:<port> to listen on for HTTP clients"},
		{Flag: "broadcast-address", Field: &o.BroadcastAddress, Help: "address of this lookupd node, (default to the OS hostname)"},

		{Flag: "inactive-producer-timeout", Field: &o.InactiveProducerTimeout, Help: "duration of time a producer will remain in the active list since its last ping"},
		{Flag: "tombstone-lifetime", Field: &o.TombstoneLifetime, Help: "duration of time a producer will remain tombstoned if registration remains"},
	}
}
