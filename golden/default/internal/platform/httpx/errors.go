// Package httpx holds the HTTP plumbing shared by every route: the server
// with its timeouts and graceful shutdown, health endpoints, request ids,
// panic recovery, JSON request bodies and responses, and JSON answers for
// requests no route matches.
package httpx

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
)

// ErrorBody is the JSON body of every error response:
// {"error":{"code":"not_found","message":"...","request_id":"..."}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail describes one error. Code is stable and meant for programs;
// Message is for people. Fields, on invalid input only, explains each
// rejected field by its JSON name.
type ErrorDetail struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	Fields    map[string]string `json:"fields,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

// Error writes a JSON error response carrying the request's id.
func Error(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	ErrorFields(w, r, status, code, message, nil)
}

// ErrorFields is Error with an explanation per invalid field.
func ErrorFields(w http.ResponseWriter, r *http.Request, status int, code, message string, fields map[string]string) {
	JSON(w, status, ErrorBody{Error: ErrorDetail{
		Code:      code,
		Message:   message,
		Fields:    fields,
		RequestID: RequestID(r.Context()),
	}})
}

// JSON writes v as a JSON response with the given status. The body is
// encoded into a pooled buffer first, so that it leaves in one write with
// its Content-Length, and a value that does not encode (a bug) is answered
// 500 rather than cut short after its status was sent.
func JSON(w http.ResponseWriter, status int, v any) {
	buf := buffers.Get().(*bytes.Buffer)
	defer putBuffer(buf)
	buf.Reset()
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal","message":"internal server error"}}` + "\n")
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	// The status is sent; a write error can only be a broken connection.
	_, _ = w.Write(buf.Bytes())
}

// buffers holds the buffers JSON encodes into.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer bounds what the pool keeps: the buffer of a rare large
// response is left to the garbage collector.
const maxPooledBuffer = 256 << 10

func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuffer {
		buffers.Put(b)
	}
}
