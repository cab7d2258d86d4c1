package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
)

// Status is the JSON body of the health endpoints. It says how the process
// is and which dependency failed, never why: the reason of a failed check
// is in the log only, since the endpoints answer anyone and an error can
// name hosts, users and databases.
type Status struct {
	Status string `json:"status"`
	// Failed names the dependencies whose check failed, in check order.
	Failed []string `json:"failed,omitempty"`
}

// Check is one dependency /readyz checks.
type Check struct {
	// Name identifies the dependency in the answer: "database", "redis"...
	Name string
	// Check returns nil when the dependency answers; it bounds its own time.
	Check func(context.Context) error
}

// Livez answers 200 while the process can serve HTTP at all. It checks no
// dependency, so an unreachable database never gets the process restarted.
func Livez(w http.ResponseWriter, _ *http.Request) {
	JSON(w, http.StatusOK, Status{Status: "ok"})
}

// Readyz answers 200 when every check succeeds, so that a load balancer
// sends traffic only to instances that can serve it, and 503 otherwise:
// status "unavailable" with the names of the failed checks (their errors
// are logged), or "draining" as soon as drain has started, without running
// the checks. The checks run concurrently.
func Readyz(checks []Check, drain *Drain, logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if drain.Started() {
			JSON(w, http.StatusServiceUnavailable, Status{Status: "draining"})
			return
		}
		errs := runChecks(r.Context(), checks)
		var failed []string
		for i, err := range errs {
			if err != nil {
				failed = append(failed, checks[i].Name)
			}
		}
		if len(failed) == 0 {
			JSON(w, http.StatusOK, Status{Status: "ok"})
			return
		}
		if r.Context().Err() != nil {
			w.WriteHeader(StatusClientClosedRequest) // the prober gave up: nothing to report
			return
		}
		logger.WarnContext(r.Context(), "not ready", slog.Any("failed", failed), slog.Any("error", errors.Join(errs...)))
		JSON(w, http.StatusServiceUnavailable, Status{Status: "unavailable", Failed: failed})
	}
}

// runChecks runs every check concurrently and returns their errors, in
// the order of checks.
func runChecks(ctx context.Context, checks []Check) []error {
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func(ctx context.Context) {
			defer wg.Done()
			errs[i] = c.Check(ctx)
		}(ctx)
	}
	wg.Wait()
	return errs
}
