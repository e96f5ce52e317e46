package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/julienschmidt/httprouter"
)

// ContentTypeHeader is what go-nsq's HTTP helper requires to read a V1 body.
const (
	ContentTypeHeader = "X-NSQ-Content-Type"
	ContentTypeValue  = "nsq; version=1.0"
	jsonContentType   = "application/json; charset=utf-8"
)

// Error is an API failure: its Message becomes {"message":"..."}.
type Error struct {
	Status  int
	Message string
}

func (e Error) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Message) }

// Errorf builds an Error; a shorthand used by every handler.
func Errorf(status int, message string) error { return Error{Status: status, Message: message} }

// Handler is an API endpoint: it returns a value to render or an error.
// A string is sent raw, nil as an empty body, []byte raw, anything else as JSON.
type Handler func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error)

// V1 adapts a Handler to httprouter with upstream's V1 rendering.
func V1(h Handler) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		data, err := h(w, r, ps)
		if err != nil {
			RespondError(w, err)
			return
		}
		Respond(w, http.StatusOK, data)
	}
}

// Respond renders a successful V1 answer.
func Respond(w http.ResponseWriter, status int, data any) {
	w.Header().Set(ContentTypeHeader, ContentTypeValue)
	var body []byte
	switch v := data.(type) {
	case nil:
		w.Header().Set("Content-Length", "0")
	case string:
		body = []byte(v)
	case []byte:
		body = v
	default:
		encoded, err := json.Marshal(v)
		if err != nil {
			RespondError(w, Errorf(http.StatusInternalServerError, "INTERNAL_ERROR"))
			return
		}
		w.Header().Set("Content-Type", jsonContentType)
		body = encoded
	}
	w.WriteHeader(status)
	w.Write(body)
}

// RespondError renders err as {"message":"..."}; errors that are not an
// Error become 500 INTERNAL_ERROR so internal details never leak.
func RespondError(w http.ResponseWriter, err error) {
	var apiErr Error
	if !errors.As(err, &apiErr) {
		apiErr = Error{Status: http.StatusInternalServerError, Message: "INTERNAL_ERROR"}
	}
	body, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{apiErr.Message})
	w.Header().Set(ContentTypeHeader, ContentTypeValue)
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(apiErr.Status)
	w.Write(body)
}

// Query parses the URL query string (never a form body); an unparsable one
// is upstream's 400 INVALID_REQUEST.
func Query(r *http.Request) (url.Values, error) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "INVALID_REQUEST")
	}
	return values, nil
}

// NewRouter returns a router whose not-found, wrong-method and panic answers
// are V1 errors, and which redirects trailing-slash mismatches as upstream.
func NewRouter(logf func(format string, args ...any)) *httprouter.Router {
	router := httprouter.New()
	router.HandleMethodNotAllowed = true
	router.RedirectTrailingSlash = true
	router.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		RespondError(w, Errorf(http.StatusNotFound, "NOT_FOUND"))
	})
	router.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		RespondError(w, Errorf(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"))
	})
	router.PanicHandler = func(w http.ResponseWriter, r *http.Request, p any) {
		if logf != nil {
			logf("panic in HTTP handler %s %s - %v", r.Method, r.URL.Path, p)
		}
		RespondError(w, Errorf(http.StatusInternalServerError, "INTERNAL_ERROR"))
	}
	return router
}
