package httpserver

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/logging"
	"github.com/nsqgo/nsq/internal/protocol"
)

// readBody reads a request body of at most limit bytes, returning up to
// limit+1 so the caller can tell an oversized chunked upload (which has no
// Content-Length to refuse up front) without buffering all of it. Room
// grows as the bytes arrive (readDeclared), never by what Content-Length
// claims, and a body that keeps its promise ends in a buffer of exactly its
// size. Callers have already refused a declared length above limit.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength >= 0 && r.ContentLength <= limit {
		body, err := readDeclared(r.Body, int(r.ContentLength))
		if err != nil {
			return nil, fmt.Errorf("reading %d-byte body: %w", r.ContentLength, err)
		}
		return body, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	return body, nil
}

// readDeclared reads the n bytes a request declared, adding room as they
// arrive, never beyond n (protocol.ReadDeclared: a request that declares
// 5 MB and sends one byte costs one chunk; README, "Memory a client
// controls").
func readDeclared(r io.Reader, n int) ([]byte, error) {
	return protocol.ReadDeclared(nil, r, nil, n, n)
}

// bodyDeadline bounds how long a publish request's body may take to
// arrive: --client-timeout, the bound on its headers, so a peer that sends
// half a body does not hold the connection and its handler for good.
func (s *Server) bodyDeadline(w http.ResponseWriter) {
	// Only a writer that cannot set deadlines refuses (never net/http's).
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.ClientTimeout))
}

// pub publishes the body as one message, optionally deferred by
// ?defer=<ms>. The checks run in upstream's order: size, body, then query
// (so an empty body without a topic is MSG_EMPTY), then defer.
func (s *Server) pub(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	maxSize := s.cfg.MaxMsgSize
	if r.ContentLength > maxSize {
		return nil, httpapi.Errorf(http.StatusRequestEntityTooLarge, "MSG_TOO_BIG")
	}
	s.bodyDeadline(w)
	body, err := readBody(r, maxSize)
	if err != nil {
		return nil, s.internalError("HTTP /pub: %s", err)
	}
	if int64(len(body)) > maxSize {
		return nil, httpapi.Errorf(http.StatusRequestEntityTooLarge, "MSG_TOO_BIG")
	}
	if len(body) == 0 {
		return nil, httpapi.Errorf(http.StatusBadRequest, "MSG_EMPTY")
	}

	q, topic, err := s.topicFromQuery(r)
	if err != nil {
		return nil, err
	}
	var delay time.Duration
	if value, ok := queryParam(q, "defer"); ok {
		// Compared in milliseconds rather than as a Duration, so that a
		// huge value cannot overflow into range.
		ms, err := strconv.ParseInt(value, 10, 64)
		if err != nil || ms < 0 || ms > s.cfg.MaxReqTimeout.Milliseconds() {
			return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_DEFER")
		}
		delay = time.Duration(ms) * time.Millisecond
	}

	if err := s.daemon.Publish(topic, body, delay); err != nil {
		return nil, s.publishError("/pub to "+topic, err)
	}
	return "OK", nil
}

// mpub publishes several messages at once, newline-separated (default) or
// in the binary MPUB layout (?binary=true). Either all are accepted or
// none is.
func (s *Server) mpub(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	cfg := s.cfg
	if r.ContentLength > cfg.MaxBodySize {
		return nil, httpapi.Errorf(http.StatusRequestEntityTooLarge, "BODY_TOO_BIG")
	}
	// Upstream creates the topic before reading the body, so a request
	// with a bad body still leaves the topic behind.
	q, topic, err := s.topicFromQuery(r)
	if err != nil {
		return nil, err
	}
	binaryMode := false
	if value, ok := queryParam(q, "binary"); ok {
		switch value {
		case "true", "1":
			binaryMode = true
		case "false", "0":
		default:
			binaryMode = true
			s.daemon.Logf(logging.Warn, "deprecated value '%s' used for /mpub binary param", value)
		}
	}

	s.bodyDeadline(w)
	body, err := readBody(r, cfg.MaxBodySize)
	if err != nil {
		return nil, s.internalError("HTTP /mpub: %s", err)
	}
	var bodies [][]byte
	if binaryMode {
		// Upstream streams a chunked binary body with no total bound;
		// buffering it whole needs one, and max-body-size is the one the
		// TCP MPUB enforces.
		if int64(len(body)) > cfg.MaxBodySize {
			return nil, httpapi.Errorf(http.StatusRequestEntityTooLarge, "BODY_TOO_BIG")
		}
		bodies, err = parseMPUBBinary(body, cfg.MaxMsgSize, cfg.MaxBodySize)
	} else {
		bodies, err = parseMPUBText(body, cfg.MaxBodySize+1, cfg.MaxMsgSize)
	}
	if err != nil {
		var bad *mpubError
		if errors.As(err, &bad) {
			s.daemon.Logf(logging.Debug, "HTTP /mpub to %s refused: %s", topic, bad)
			return nil, httpapi.Errorf(bad.status, bad.token)
		}
		return nil, err
	}
	if len(bodies) == 0 {
		return "OK", nil
	}
	// The bodies alias the request buffer; the daemon copies them out so
	// that they keep alive only their own bytes.
	if err := s.daemon.PublishBatch(topic, bodies); err != nil {
		return nil, s.publishError("/mpub to "+topic, err)
	}
	return "OK", nil
}
