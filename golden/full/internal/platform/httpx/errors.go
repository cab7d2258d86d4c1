// Package httpx holds the HTTP plumbing shared by every route: the server
// with its timeouts and graceful shutdown, health endpoints, request ids,
// panic recovery, JSON request bodies and responses, and JSON answers for
// requests no route matches.
package httpx

import (
	"encoding/json"
	"net/http"
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

// JSON writes v as a JSON response with the given status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// The status is sent; an encoding error can only be a broken connection.
	_ = json.NewEncoder(w).Encode(v)
}
