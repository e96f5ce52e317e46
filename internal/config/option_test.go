package config

import (
	"bytes"
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// levelValue is a custom flag.Value, as logging.Level is.
type levelValue int

func (l *levelValue) String() string { return map[levelValue]string{0: "low", 1: "high"}[*l] }
func (l *levelValue) Set(s string) error {
	switch s {
	case "low":
		*l = 0
	case "high":
		*l = 1
	default:
		return flag.ErrHelp
	}
	return nil
}

type declaredSettings struct {
	name  string
	count int
	size  int64
	on    bool
	wait  time.Duration
	addrs []string
	pcts  []float64
	level levelValue
}

func (s *declaredSettings) declarations() []Option {
	return []Option{
		{Flag: "name", Field: &s.name, Help: "a name"},
		{Flag: "count", Field: &s.count, Help: "a count"},
		{Flag: "max-size", Field: &s.size, Help: "a size"},
		{Flag: "on", Field: &s.on, Help: "a switch"},
		{Flag: "wait", Field: &s.wait, Help: "a wait"},
		{Flag: "addr", Key: "addrs", Field: &s.addrs, Help: "repeatable"},
		{Flag: "pct", Key: "pcts", Field: &s.pcts, Help: "repeatable floats"},
		{Flag: "level", Field: &s.level, Help: "a custom value"},
	}
}

func TestOptionsRegisterEveryFieldKindWithItsDefault(t *testing.T) {
	s := &declaredSettings{name: "n", count: 2, size: 3, on: true, wait: time.Second}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var help bytes.Buffer
	fs.SetOutput(&help)
	for _, option := range s.declarations() {
		option.Register(fs)
	}
	require.Equal(t, "n", fs.Lookup("name").DefValue)
	require.Equal(t, "1s", fs.Lookup("wait").DefValue)
	require.Equal(t, "true", fs.Lookup("on").DefValue)
	require.Equal(t, "a size", fs.Lookup("max-size").Usage)

	require.NoError(t, fs.Parse([]string{"--name=m", "--count=5", "--max-size=6", "--on=false", "--wait=2s",
		"--addr=a,b", "--addr=c", "--pct=0.5,1.0", "--level=high"}))
	require.Equal(t, declaredSettings{name: "m", count: 5, size: 6, on: false, wait: 2 * time.Second,
		addrs: []string{"a", "b", "c"}, pcts: []float64{1.0, 0.5}, level: 1}, *s)
}

func TestOptionsAreLoadedFromTheFileByTheirKeys(t *testing.T) {
	s := &declaredSettings{}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	declared := s.declarations()
	for _, option := range declared {
		option.Register(fs)
	}
	fs.String("config", "", "not an option")
	require.NoError(t, fs.Parse([]string{"--count=9"}))
	path := writeConfig(t, `
name = "from-file"
count = 1
max_size = 7
wait = 1500
addrs = ["x", "y"]
pcts = "0.9"
level = "high"
config = "ignored"
addr = "not the key"
`)
	require.NoError(t, Load(fs, path, Keys(declared)))
	require.Equal(t, declaredSettings{name: "from-file", count: 9, size: 7, wait: 1500 * time.Millisecond,
		addrs: []string{"x", "y"}, pcts: []float64{0.9}, level: 1}, *s)
	require.Equal(t, "", fs.Lookup("config").Value.String(), "an undeclared flag is not read from the file")
}

func TestOptionWithoutAFlagKindIsAProgrammingError(t *testing.T) {
	var unsupported struct{ at []int }
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	require.Panics(t, func() { Option{Flag: "ints", Field: &unsupported.at}.Register(fs) })
}

func TestOptionConfigKeyDefaultsToTheFlagName(t *testing.T) {
	require.Equal(t, "max_msg_size", Option{Flag: "max-msg-size"}.ConfigKey())
	require.Equal(t, "id", Option{Flag: "node-id", Key: "id"}.ConfigKey())
}
