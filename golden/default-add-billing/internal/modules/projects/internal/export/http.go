package export

import (
	"log/slog"
	"net/http"

	"shop/internal/platform/auth"
	"shop/internal/platform/httpx"
	"shop/internal/platform/jobs"
	"shop/internal/platform/tenancy"
)

// Path is the collection of the module's exports.
const Path = "/api/v1/projects/exports"

// Register adds POST Path to mux: admins (and owners) start exports.
func (e *Exporter) Register(mux *http.ServeMux, logger *slog.Logger) {
	mux.Handle("POST "+Path, auth.Require("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, ok := tenancy.Require(w, r)
		if !ok {
			return
		}
		id, err := e.Start(r.Context(), t.ID)
		if err != nil {
			logger.ErrorContext(r.Context(), "start export", "error", err)
			httpx.Error(w, r, http.StatusInternalServerError, "internal", "internal server error")
			return
		}
		jobs.Accepted(w, id, Kind)
	})))
}
