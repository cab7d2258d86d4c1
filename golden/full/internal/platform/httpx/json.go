package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"
)

// MaxBodyBytes bounds a JSON request body. Without a bound, one client could
// make the server buffer an arbitrarily large document in memory.
const MaxBodyBytes = 1 << 20

// DecodeJSON reads a request body holding exactly one JSON value into v,
// refusing unknown fields. On failure it writes the error response (415
// unsupported_media_type when the Content-Type is not JSON, 413
// body_too_large over MaxBodyBytes, 400 invalid_json otherwise) and
// returns false; the handler then just returns.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if !isJSON(r.Header.Get("Content-Type")) {
		Error(w, r, http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be JSON: send Content-Type: application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("body must hold a single JSON value")
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		Error(w, r, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("body is larger than %d bytes", MaxBodyBytes))
		return false
	}
	if err != nil {
		Error(w, r, http.StatusBadRequest, "invalid_json", "invalid JSON body: "+clip(jsonProblem(err)))
		return false
	}
	return true
}

// jsonProblem describes a decoding error in the terms of the JSON document:
// a type mismatch names the field and the JSON types, not the Go types
// behind them.
func jsonProblem(err error) string {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
		return fmt.Sprintf("%s must be %s", te.Field, jsonType(te.Type))
	}
	return err.Error()
}

// jsonType names the JSON type that decodes into t.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// isJSON reports whether a Content-Type names JSON: application/json or an
// application/*+json type, with no charset or UTF-8.
func isJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return false
	}
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// maxEcho bounds the client input an error message repeats (a path, a JSON
// field name), so that the size of an error response does not grow with
// what the client sent.
const maxEcho = 200

// clip shortens s to at most maxEcho bytes, on a character boundary.
func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	cut := maxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// JSONFallback serves mux, answering the requests it has no route for with
// the API's JSON errors (404 not_found, or 405 method_not_allowed with the
// Allow header) instead of ServeMux's plain text. Matched requests reach mux
// unchanged, so r.Pattern is set for wrappers that read it afterwards.
func JSONFallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ServeMux reports no pattern exactly when it would answer 404 or
		// 405 itself; redirects to a cleaned path keep theirs.
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// Let mux decide between 404 and 405 (and compute Allow), then
		// replace its plain-text body.
		probe := &statusProbe{header: http.Header{}}
		mux.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", probe.header.Get("Allow"))
			Error(w, r, http.StatusMethodNotAllowed, "method_not_allowed", clip(r.Method+" is not allowed on "+r.URL.Path))
			return
		}
		Error(w, r, http.StatusNotFound, "not_found", clip("no route matches "+r.Method+" "+r.URL.Path))
	})
}

// statusProbe records the status and headers a handler writes and discards
// the body.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }

func (p *statusProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}

func (p *statusProbe) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return len(b), nil
}
