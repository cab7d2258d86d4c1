// Package httpapi serves the projects API as JSON under
// /api/v1/projects. The tenant comes from the request context, where the
// platform's auth middleware put it after checking that the request's
// principal belongs to it. Members of the tenant read; admins and owners
// write.
package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"shop/internal/modules/projects/internal/domain"
	"shop/internal/platform/auth"
	"shop/internal/platform/httpx"
	"shop/internal/platform/tenancy"
)

// Prefix is the path of the collection.
const Prefix = "/api/v1/projects"

// Handler serves the API over a domain.Service.
type Handler struct {
	svc    domain.Service
	logger *slog.Logger
}

// New returns a Handler.
func New(svc domain.Service, logger *slog.Logger) *Handler {
	return &Handler{svc: svc, logger: logger}
}

// Register adds the routes to mux: reads need the member role in the
// tenant, writes the admin role (owners have both).
func (h *Handler) Register(mux *http.ServeMux) {
	read, write := auth.Require(auth.RoleMember), auth.Require(auth.RoleAdmin)
	mux.Handle("POST "+Prefix, write(http.HandlerFunc(h.create)))
	mux.Handle("GET "+Prefix, read(http.HandlerFunc(h.list)))
	mux.Handle("GET "+Prefix+"/{id}", read(http.HandlerFunc(h.get)))
	mux.Handle("PATCH "+Prefix+"/{id}", write(http.HandlerFunc(h.update)))
	mux.Handle("DELETE "+Prefix+"/{id}", write(http.HandlerFunc(h.delete)))
	mux.Handle("POST "+Prefix+"/{id}/notes", write(http.HandlerFunc(h.addNote)))
	mux.Handle("GET "+Prefix+"/{id}/notes", read(http.HandlerFunc(h.listNotes)))
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenant(w, r)
	if !ok {
		return
	}
	var in domain.ProjectInput
	if !httpx.DecodeJSON(w, r, &in) {
		return
	}
	it, err := h.svc.Create(r.Context(), t, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", Prefix+"/"+it.ID.String())
	httpx.JSON(w, http.StatusCreated, withLinks(it))
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
	httpx.JSON(w, http.StatusOK, withLinks(it))
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenant(w, r)
	if !ok {
		return
	}
	p, ok := h.listParams(w, r)
	if !ok {
		return
	}
	page, err := h.svc.List(r.Context(), t, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for i := range page.Items {
		page.Items[i] = withLinks(page.Items[i])
	}
	httpx.JSON(w, http.StatusOK, page)
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	t, id, ok := h.tenantAndID(w, r)
	if !ok {
		return
	}
	var p domain.ProjectPatch
	if !httpx.DecodeJSON(w, r, &p) {
		return
	}
	it, err := h.svc.Update(r.Context(), t, id, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, withLinks(it))
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
	var in domain.ProjectNoteInput
	if !httpx.DecodeJSON(w, r, &in) {
		return
	}
	n, err := h.svc.AddNote(r.Context(), t, id, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, n)
}

func (h *Handler) listNotes(w http.ResponseWriter, r *http.Request) {
	t, id, ok := h.tenantAndID(w, r)
	if !ok {
		return
	}
	p, ok := h.listParams(w, r)
	if !ok {
		return
	}
	page, err := h.svc.ListNotes(r.Context(), t, id, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, page)
}

// listParams reads the page parameters limit and after of a list request.
func (h *Handler) listParams(w http.ResponseWriter, r *http.Request) (domain.ListParams, bool) {
	q := r.URL.Query()
	p := domain.ListParams{After: q.Get("after")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			h.fail(w, r, &domain.ValidationError{Fields: map[string]string{"limit": "must be an integer"}})
			return p, false
		}
		p.Limit = n
	}
	return p, true
}

// withLinks sets the links of it.
func withLinks(it domain.Project) domain.Project {
	it.NotesURL = Prefix + "/" + it.ID.String() + "/notes"
	return it
}

func (h *Handler) tenant(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	t, ok := tenancy.Require(w, r)
	return t.ID, ok
}

func (h *Handler) tenantAndID(w http.ResponseWriter, r *http.Request) (tenantID, id uuid.UUID, ok bool) {
	tenantID, ok = h.tenant(w, r)
	if !ok {
		return uuid.Nil, uuid.Nil, false
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		// Not a UUID: no such project, whoever asks.
		httpx.Error(w, r, http.StatusNotFound, "not_found", domain.ErrNotFound.Error())
		return uuid.Nil, uuid.Nil, false
	}
	return tenantID, id, true
}

// fail maps err to its response. Errors the client cannot fix go to
// httpx.ServerError: 503 when the database is unavailable or the server is
// shutting down, nothing when the client went away, otherwise a bare 500
// (logged), so no internal detail leaks.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if ve, ok := errors.AsType[*domain.ValidationError](err); ok {
		httpx.ErrorFields(w, r, http.StatusBadRequest, "invalid_input", ve.Error(), ve.Fields)
		return
	}
	if errors.Is(err, domain.ErrNotFound) {
		httpx.Error(w, r, http.StatusNotFound, "not_found", err.Error())
		return
	}
	httpx.ServerError(w, r, h.logger, "projects request failed", err)
}
