// Package httpx holds the HTTP plumbing shared by every route: the server
// with its timeouts and graceful shutdown, health endpoints, request ids,
// panic recovery, JSON responses and the Router modules register on.
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
// Message is for people.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// Error writes a JSON error response carrying the request's id.
func Error(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	JSON(w, status, ErrorBody{Error: ErrorDetail{
		Code:      code,
		Message:   message,
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
