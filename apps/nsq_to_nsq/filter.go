package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nsqgo/nsq/internal/toolflags"
)

// errBackoff fails a message that lacks the field --require-json-value
// tests: it is requeued with backoff, as upstream, since it may be a
// producer bug worth slowing down for.
var errBackoff = errors.New("backoff")

// jsonFilter is --require-json-field, --require-json-value and
// --whitelist-json-field. Numbers are kept as their JSON text throughout
// (as upstream's simplejson does), so a forwarded 12345678901234567890 or
// 1.50 is not rounded or reformatted.
type jsonFilter struct {
	requireField string
	requireValue string
	valueNumber  float64 // requireValue as a number...
	valueIsNum   bool    // ...if it parses as one
	whitelist    []string
	logger       *toolflags.Logs
}

func newJSONFilter(opts *options, logger *toolflags.Logs) *jsonFilter {
	f := &jsonFilter{
		requireField: opts.requireField,
		requireValue: opts.requireValue,
		whitelist:    opts.whitelist,
		logger:       logger,
	}
	if n, err := strconv.ParseFloat(f.requireValue, 64); err == nil {
		f.valueNumber, f.valueIsNum = n, true
	}
	return f
}

// active reports whether messages need parsing at all.
func (f *jsonFilter) active() bool { return f.requireField != "" || len(f.whitelist) > 0 }

// apply decides a message's fate: forward out (pass), drop it (finish
// without forwarding: not JSON, or the required field does not match),
// or fail it (err: requeue with backoff).
func (f *jsonFilter) apply(body []byte) (out []byte, pass bool, err error) {
	if !f.active() {
		return body, true, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		f.logger.Errorf("Unable to decode json: %s", body)
		return nil, false, nil
	}
	obj, _ := doc.(map[string]any)
	if pass, err := f.matches(obj); !pass || err != nil {
		return nil, false, err
	}
	if len(f.whitelist) == 0 {
		return body, true, nil
	}
	out, err = f.keepWhitelisted(obj)
	if err != nil {
		f.logger.Errorf("filterMessage() failed: %s", err)
		return nil, false, err
	}
	return out, true, nil
}

// matches applies --require-json-field / --require-json-value to obj (nil
// when the message is JSON but not an object).
func (f *jsonFilter) matches(obj map[string]any) (bool, error) {
	if f.requireField == "" {
		return true, nil
	}
	value, ok := obj[f.requireField]
	if !ok {
		if f.requireValue != "" {
			f.logger.Errorf("missing field to check required value")
			return false, errBackoff
		}
		return false, nil
	}
	if f.requireValue == "" {
		return true, nil
	}
	switch v := value.(type) {
	case string:
		return v == f.requireValue, nil
	case json.Number:
		// Integers up to 2^53 compare exactly as float64.
		n, err := v.Float64()
		return f.valueIsNum && err == nil && n == f.valueNumber, nil
	}
	// Objects, arrays, booleans and null never match.
	return false, nil
}

// keepWhitelisted re-encodes obj with only the whitelisted keys.
func (f *jsonFilter) keepWhitelisted(obj map[string]any) ([]byte, error) {
	if obj == nil {
		return nil, errors.New("json is not an object")
	}
	kept := make(map[string]any, len(f.whitelist))
	for _, key := range f.whitelist {
		if v, ok := obj[key]; ok {
			kept[key] = v
		}
	}
	out, err := json.Marshal(kept)
	if err != nil {
		return nil, fmt.Errorf("unable to marshal filtered message %v: %w", kept, err)
	}
	return out, nil
}
