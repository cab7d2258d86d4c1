// Package httpapi serves the billing API as JSON under
// /api/v1/billing. The tenant comes from the request context, where the
// platform's tenancy middleware put it.
package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"shop/internal/modules/billing/internal/domain"
	"shop/internal/platform/tenancy"
)

// Prefix is the path of the collection.
const Prefix = "/api/v1/billing"

// maxBodyBytes bounds a request body.
const maxBodyBytes = 1 << 20

// Handler serves the API over a domain.Service.
type Handler struct {
	svc    domain.Service
	logger *slog.Logger
}

// New returns a Handler.
func New(svc domain.Service, logger *slog.Logger) *Handler {
	return &Handler{svc: svc, logger: logger}
}

// Register adds the routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+Prefix, h.create)
	mux.HandleFunc("GET "+Prefix, h.list)
	mux.HandleFunc("GET "+Prefix+"/{id}", h.get)
	mux.HandleFunc("PATCH "+Prefix+"/{id}", h.update)
	mux.HandleFunc("DELETE "+Prefix+"/{id}", h.delete)
	mux.HandleFunc("POST "+Prefix+"/{id}/notes", h.addNote)
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenant(w, r)
	if !ok {
		return
	}
	var in domain.BillingInput
	if !h.decode(w, r, &in) {
		return
	}
	it, err := h.svc.Create(r.Context(), t, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", Prefix+"/"+it.ID.String())
	writeJSON(w, http.StatusCreated, it)
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	t, id, ok := h.tenantAndID(w, r)
	if !ok {
		return
	}
	it, err := h.svc.Get(r.Context(), t, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, it)
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenant(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	p := domain.ListParams{After: q.Get("after")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			h.fail(w, r, &domain.ValidationError{Fields: map[string]string{"limit": "must be an integer"}})
			return
		}
		p.Limit = n
	}
	page, err := h.svc.List(r.Context(), t, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	t, id, ok := h.tenantAndID(w, r)
	if !ok {
		return
	}
	var p domain.BillingPatch
	if !h.decode(w, r, &p) {
		return
	}
	it, err := h.svc.Update(r.Context(), t, id, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, it)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	t, id, ok := h.tenantAndID(w, r)
	if !ok {
		return
	}
	if err := h.svc.Delete(r.Context(), t, id); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) addNote(w http.ResponseWriter, r *http.Request) {
	t, id, ok := h.tenantAndID(w, r)
	if !ok {
		return
	}
	var in domain.BillingNoteInput
	if !h.decode(w, r, &in) {
		return
	}
	n, err := h.svc.AddNote(r.Context(), t, id, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, n)
}

func (h *Handler) tenant(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	t, ok := tenancy.FromContext(r.Context())
	if !ok {
		writeError(w, http.StatusBadRequest, "tenant_required", "this request needs a tenant", nil)
		return uuid.Nil, false
	}
	return t.ID, true
}

func (h *Handler) tenantAndID(w http.ResponseWriter, r *http.Request) (tenantID, id uuid.UUID, ok bool) {
	tenantID, ok = h.tenant(w, r)
	if !ok {
		return uuid.Nil, uuid.Nil, false
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		// Not a UUID: no such billing, whoever asks.
		writeError(w, http.StatusNotFound, "not_found", domain.ErrNotFound.Error(), nil)
		return uuid.Nil, uuid.Nil, false
	}
	return tenantID, id, true
}

// decode reads a JSON object into v, refusing unknown fields, trailing data
// and bodies over maxBodyBytes with 400.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("body must hold a single JSON object")
	}
	if err != nil {
		msg := "invalid JSON body: " + err.Error()
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			msg = fmt.Sprintf("body is larger than %d bytes", maxBodyBytes)
		}
		writeError(w, http.StatusBadRequest, "invalid_json", msg, nil)
		return false
	}
	return true
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if ve, ok := errors.AsType[*domain.ValidationError](err); ok {
		writeError(w, http.StatusBadRequest, "invalid_input", ve.Error(), ve.Fields)
		return
	}
	if errors.Is(err, domain.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", err.Error(), nil)
		return
	}
	h.logger.ErrorContext(r.Context(), "billing request failed", "error", err)
	writeError(w, http.StatusInternalServerError, "internal", "internal error", nil)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message string, fields map[string]string) {
	body := map[string]any{"code": code, "message": message}
	if fields != nil {
		body["fields"] = fields
	}
	writeJSON(w, status, map[string]any{"error": body})
}
