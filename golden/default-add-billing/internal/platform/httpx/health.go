package httpx

import (
	"context"
	"log/slog"
	"net/http"
)

// Status is the JSON body of the health endpoints.
type Status struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Livez answers 200 while the process can serve HTTP at all. It checks no
// dependency, so an unreachable database never gets the process restarted.
func Livez(w http.ResponseWriter, _ *http.Request) {
	JSON(w, http.StatusOK, Status{Status: "ok"})
}

// Readyz answers 200 when check succeeds and 503 with the reason otherwise,
// so a load balancer sends traffic only to instances that can serve it.
func Readyz(check func(context.Context) error, logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := check(r.Context()); err != nil {
			logger.WarnContext(r.Context(), "not ready", slog.Any("error", err))
			JSON(w, http.StatusServiceUnavailable, Status{Status: "unavailable", Error: err.Error()})
			return
		}
		JSON(w, http.StatusOK, Status{Status: "ok"})
	}
}
