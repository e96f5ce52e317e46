package config

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Load applies the TOML file at path to every flag of fs that was not given
// on the command line. keyOf maps a flag name to its config key; flags it
// maps to "" are not configurable from the file. Unknown keys are ignored.
func Load(fs *flag.FlagSet, path string, keyOf func(flagName string) string) error {
	values := map[string]any{}
	if _, err := toml.DecodeFile(path, &values); err != nil {
		return fmt.Errorf("failed to load config file %s - %w", path, err)
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })

	var firstErr error
	fs.VisitAll(func(f *flag.Flag) {
		if firstErr != nil || explicit[f.Name] {
			return
		}
		key := keyOf(f.Name)
		value, ok := values[key]
		if key == "" || !ok {
			return
		}
		if err := apply(fs, f, value); err != nil {
			firstErr = &ValueError{Key: key, Value: value, Err: err}
		}
	})
	return firstErr
}

// ValueError is a config-file value its flag rejects. Its text is upstream's
// fatal message, "failed parsing <key> <value>"; the flag's own complaint is
// kept in Err.
type ValueError struct {
	Key   string
	Value any
	Err   error
}

func (e *ValueError) Error() string { return fmt.Sprintf("failed parsing %s %+v", e.Key, e.Value) }
func (e *ValueError) Unwrap() error { return e.Err }

// DefaultKey is the usual mapping: the flag name with '-' turned into '_'.
func DefaultKey(flagName string) string { return strings.ReplaceAll(flagName, "-", "_") }

func apply(fs *flag.FlagSet, f *flag.Flag, value any) error {
	if items, ok := value.([]any); ok {
		for _, item := range items {
			if err := fs.Set(f.Name, scalar(f, item)); err != nil {
				return err
			}
		}
		return nil
	}
	return fs.Set(f.Name, scalar(f, value))
}

// scalar renders one TOML value as the string the flag's Set expects.
func scalar(f *flag.Flag, value any) string {
	getter, _ := f.Value.(flag.Getter)
	_, isDuration := func() (any, bool) {
		if getter == nil {
			return nil, false
		}
		d, ok := getter.Get().(time.Duration)
		return d, ok
	}()
	switch v := value.(type) {
	case int64:
		if isDuration {
			return strconv.FormatInt(v, 10) + "ms"
		}
		return strconv.FormatInt(v, 10)
	case float64:
		if isDuration {
			return strconv.FormatInt(int64(v), 10) + "ms"
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case string:
		if isDuration {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return strconv.FormatInt(n, 10) + "ms"
			}
		}
		return v
	default:
		return fmt.Sprint(v)
	}
}
