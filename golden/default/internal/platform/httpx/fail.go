package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"shop/internal/platform/database"
	"shop/internal/platform/logging"
)

// StatusClientClosedRequest is the status recorded for a request whose
// client went away before the answer (nginx's 499). The client never sees
// it; the request's log line and metrics do.
const StatusClientClosedRequest = logging.StatusClientClosedRequest

// ErrShuttingDown is the cause with which Serve cancels the context of every
// request still running when the shutdown grace period ends.
var ErrShuttingDown = errors.New("httpx: server shutting down")

// Seconds a client is told to wait (Retry-After) before trying again.
const (
	retryAfterShutdown    = 1 // another instance can take the request now
	retryAfterUnavailable = 5 // the database is down or overloaded
)

// ServerError answers a request that failed for a reason the client did not
// cause, so that only a real server fault is a 500 logged as an error:
//
//   - the server is shutting down and cancelled the request: 503
//     shutting_down with Retry-After and Connection: close;
//   - the client went away (its context is done): nothing is sent, the
//     request is recorded as 499 and logged at debug level;
//   - the database is unavailable (database.Unavailable): 503 unavailable
//     with Retry-After, logged as a warning;
//   - anything else: 500 internal, logged as an error with msg. No detail
//     of err reaches the client.
func ServerError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, msg string, err error) {
	ctx := r.Context()
	switch {
	case errors.Is(context.Cause(ctx), ErrShuttingDown):
		logger.WarnContext(ctx, msg+": cancelled by shutdown", slog.Any("error", err))
		w.Header().Set("Connection", "close")
		unavailable(w, r, "shutting_down", "the server is shutting down; try again", retryAfterShutdown)
	case ctx.Err() != nil:
		logger.DebugContext(ctx, msg+": client went away", slog.Any("error", err))
		w.WriteHeader(StatusClientClosedRequest)
	case database.Unavailable(err):
		logger.WarnContext(ctx, msg+": database unavailable", slog.Any("error", err))
		unavailable(w, r, "unavailable", "the service is temporarily unavailable; try again", retryAfterUnavailable)
	default:
		logger.ErrorContext(ctx, msg, slog.Any("error", err))
		Error(w, r, http.StatusInternalServerError, "internal", "internal server error")
	}
}

func unavailable(w http.ResponseWriter, r *http.Request, code, message string, retryAfter int) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	Error(w, r, http.StatusServiceUnavailable, code, message)
}
