package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// MaxBodyBytes bounds a JSON request body. Without a bound, one client could
// make the server buffer an arbitrarily large document in memory.
const MaxBodyBytes = 1 << 20

// DecodeJSON reads a request body holding exactly one JSON value into v,
// refusing unknown fields. On failure it writes the error response (413
// body_too_large over MaxBodyBytes, 400 invalid_json otherwise) and
// returns false; the handler then just returns.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
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
		Error(w, r, http.StatusBadRequest, "invalid_json", "invalid JSON body: "+err.Error())
		return false
	}
	return true
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
			Error(w, r, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		Error(w, r, http.StatusNotFound, "not_found", "no route matches "+r.Method+" "+r.URL.Path)
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
