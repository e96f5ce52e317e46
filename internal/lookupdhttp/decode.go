package lookupdhttp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// maxStatusMessage bounds the body text a StatusError repeats.
const maxStatusMessage = 200

func statusError(code int, body []byte) *StatusError {
	var msg struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.Message == "" {
		msg.Message = strings.TrimSpace(string(body))
	}
	if len(msg.Message) > maxStatusMessage {
		msg.Message = msg.Message[:maxStatusMessage]
	}
	return &StatusError{Code: code, Message: msg.Message}
}

// decodeV1 decodes a V1 answer. With the X-NSQ-Content-Type header the
// body is the data itself; without it (pre-1.0 lookupds) the data is
// wrapped as {"status_code":200,"status_txt":"OK","data":{...}}, which is
// what go-nsq expects then. An unwrapped body without the header is
// accepted too.
func decodeV1(body []byte, v1 bool, into any) error {
	if !v1 {
		var wrapped struct {
			StatusCode *int            `json:"status_code"`
			Data       json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &wrapped); err != nil {
			return fmt.Errorf("decode response: %w", err)
		}
		if wrapped.StatusCode != nil {
			if *wrapped.StatusCode != http.StatusOK {
				return fmt.Errorf("decode response: status_code %d", *wrapped.StatusCode)
			}
			body = wrapped.Data
		}
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}
