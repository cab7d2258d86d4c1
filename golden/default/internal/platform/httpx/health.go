package httpx

import (
	"context"
	"log/slog"
	"net/http"
)

// Status is the JSON body of the health endpoints. It says how the process
// is, never why: the reason of a failed check is in the log only, since the
// endpoints answer anyone and an error can name hosts, users and databases.
type Status struct {
	Status string `json:"status"`
}

// Livez answers 200 while the process can serve HTTP at all. It checks no
// dependency, so an unreachable database never gets the process restarted.
func Livez(w http.ResponseWriter, _ *http.Request) {
	JSON(w, http.StatusOK, Status{Status: "ok"})
}

// Readyz answers 200 when check succeeds, so that a load balancer sends
// traffic only to instances that can serve it, and 503 otherwise: status
// "unavailable" when check fails (the error is logged), "draining" as soon
// as drain has started, without running check.
func Readyz(check func(context.Context) error, drain *Drain, logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if drain.Started() {
			JSON(w, http.StatusServiceUnavailable, Status{Status: "draining"})
			return
		}
		if err := check(r.Context()); err != nil {
			if r.Context().Err() != nil {
				w.WriteHeader(StatusClientClosedRequest) // the prober gave up: nothing to report
				return
			}
			logger.WarnContext(r.Context(), "not ready", slog.Any("error", err))
			JSON(w, http.StatusServiceUnavailable, Status{Status: "unavailable"})
			return
		}
		JSON(w, http.StatusOK, Status{Status: "ok"})
	}
}
