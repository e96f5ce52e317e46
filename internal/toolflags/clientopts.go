package toolflags

import "github.com/nsqgo/nsq/internal/nsqclient"

// ClientOptions is the --consumer-opt / --producer-opt flag: each
// occurrence ("name,value", or "name" for true) sets one option of Opts,
// as go-nsq's ConfigFlag does. A bad option is a flag error, so the tool
// prints usage and exits 2, like upstream.
type ClientOptions struct{ Opts *nsqclient.Options }

// Set applies one occurrence.
func (f ClientOptions) Set(opt string) error { return f.Opts.SetFlag(opt) }

// String is empty: the options have no single textual default.
func (f ClientOptions) String() string { return "" }
