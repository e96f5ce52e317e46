package config

import (
	"flag"
	"fmt"
	"time"
)

// Option declares one setting a user can give: the flag that sets it, its
// config-file key, its help text and the options-struct field it fills.
// The field's value when the declaration is made (the daemon's NewOptions)
// is the default. A binary registers its flags from these (Register), Load
// finds the file's keys through them (Keys), and nsqd's GET /config/:opt
// answers from them, so a new setting is one declaration.
type Option struct {
	Flag string
	// Key is the config-file key and the /config name; empty means the
	// flag name with '-' as '_' (DefaultKey).
	Key  string
	Help string
	// Field points into the options struct the declaration was made for.
	Field any
	// Unlisted options are read from flags and the file but not answered by
	// nsqd's GET /config (upstream has no such option).
	Unlisted bool
}

// ConfigKey is the option's config-file key and /config name.
func (d Option) ConfigKey() string {
	if d.Key != "" {
		return d.Key
	}
	return DefaultKey(d.Flag)
}

// Register adds the option's flag to fs, bound to its field, with the
// field's current value as the default.
func (d Option) Register(fs *flag.FlagSet) {
	switch p := d.Field.(type) {
	case *string:
		fs.StringVar(p, d.Flag, *p, d.Help)
	case *int:
		fs.IntVar(p, d.Flag, *p, d.Help)
	case *int64:
		fs.Int64Var(p, d.Flag, *p, d.Help)
	case *bool:
		fs.BoolVar(p, d.Flag, *p, d.Help)
	case *time.Duration:
		fs.DurationVar(p, d.Flag, *p, d.Help)
	case *[]string:
		fs.Var((*StringList)(p), d.Flag, d.Help)
	case *[]float64:
		fs.Var((*FloatList)(p), d.Flag, d.Help)
	case flag.Value:
		fs.Var(p, d.Flag, d.Help)
	default:
		// A programming error in a declaration list, caught by every test
		// that parses the binary's command line.
		panic(fmt.Sprintf("option %s: no flag for a field of type %T", d.Flag, d.Field))
	}
}

// Keys maps each declared flag to its config key, for Load; flags not
// declared (--config, --version, deprecated ones) map to "".
func Keys(options []Option) func(flagName string) string {
	keys := make(map[string]string, len(options))
	for _, option := range options {
		keys[option.Flag] = option.ConfigKey()
	}
	return func(flagName string) string { return keys[flagName] }
}
