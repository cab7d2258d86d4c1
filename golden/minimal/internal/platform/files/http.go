package files

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"

	"github.com/google/uuid"

	"example.com/minimal/internal/platform/auth"
	"example.com/minimal/internal/platform/httpx"
	"example.com/minimal/internal/platform/tenancy"
)

// sniffLen is how many first bytes decide whether contents agree with their
// declared type (what http.DetectContentType reads).
const sniffLen = 512

// Register adds the routes of the package comment to mux.
func (s *Service) Register(mux *http.ServeMux) {
	mux.Handle("POST "+pathPrefix, auth.Require("member")(http.HandlerFunc(s.upload)))
	mux.Handle("GET "+pathPrefix+"/{id}", auth.Require("member")(http.HandlerFunc(s.get)))
	mux.Handle("DELETE "+pathPrefix+"/{id}", auth.Require("admin")(http.HandlerFunc(s.delete)))
}

func (s *Service) upload(w http.ResponseWriter, r *http.Request) {
	t, ok := tenancy.Require(w, r)
	if !ok {
		return
	}
	ct, ok := mediaType(r.Header.Get("Content-Type"))
	if !ok || !slices.Contains(s.allowed, ct) {
		httpx.Error(w, r, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the file as the request body with its Content-Type, one of the accepted types")
		return
	}
	if r.ContentLength > s.cfg.MaxBytes {
		s.tooLarge(w, r)
		return
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBytes)
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(body, head)
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
	case isTooLarge(err):
		s.tooLarge(w, r)
		return
	case err != nil:
		httpx.Error(w, r, http.StatusBadRequest, "invalid_body", "the request body could not be read")
		return
	}
	head = head[:n]
	if !agrees(ct, head) {
		httpx.Error(w, r, http.StatusUnsupportedMediaType, "content_type_mismatch", "the file's contents do not match its Content-Type "+ct)
		return
	}
	f, err := s.Put(r.Context(), t.ID, Object{Name: r.URL.Query().Get("name"), ContentType: ct}, s.cfg.MaxBytes, func(w io.Writer) error {
		_, err := io.Copy(w, io.MultiReader(bytes.NewReader(head), body))
		if isTooLarge(err) {
			return ErrTooLarge
		}
		return err
	})
	switch {
	case errors.Is(err, ErrTooLarge):
		s.tooLarge(w, r)
		return
	case err != nil:
		s.logger.ErrorContext(r.Context(), "upload failed", "error", err)
		httpx.Error(w, r, http.StatusInternalServerError, "internal", "internal server error")
		return
	}
	if link, expires, err := s.store.SignedURL(r.Context(), f.key); err != nil {
		s.logger.ErrorContext(r.Context(), "sign download link", "error", err)
	} else {
		f.DownloadURL, f.DownloadExpiresAt = link, &expires
	}
	w.Header().Set("Location", Path(f.ID))
	httpx.JSON(w, http.StatusCreated, f)
}

func (s *Service) tooLarge(w http.ResponseWriter, r *http.Request) {
	httpx.Error(w, r, http.StatusRequestEntityTooLarge, "file_too_large", "the file exceeds the upload limit (UPLOAD_MAX_BYTES)")
}

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe) || errors.Is(err, ErrTooLarge)
}

func (s *Service) get(w http.ResponseWriter, r *http.Request) {
	t, id, ok := tenantAndID(w, r)
	if !ok {
		return
	}
	f, err := s.Get(r.Context(), t, id)
	s.respond(w, r, f, err, http.StatusOK)
}

func (s *Service) delete(w http.ResponseWriter, r *http.Request) {
	t, id, ok := tenantAndID(w, r)
	if !ok {
		return
	}
	if err := s.Delete(r.Context(), t, id); err != nil {
		s.respond(w, r, File{}, err, 0)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) respond(w http.ResponseWriter, r *http.Request, f File, err error, status int) {
	switch {
	case errors.Is(err, ErrNotFound):
		httpx.Error(w, r, http.StatusNotFound, "not_found", err.Error())
	case err != nil:
		s.logger.ErrorContext(r.Context(), "files request failed", "error", err)
		httpx.Error(w, r, http.StatusInternalServerError, "internal", "internal server error")
	default:
		httpx.JSON(w, status, f)
	}
}

func tenantAndID(w http.ResponseWriter, r *http.Request) (tenantID, id uuid.UUID, ok bool) {
	t, ok := tenancy.Require(w, r)
	if !ok {
		return uuid.Nil, uuid.Nil, false
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		httpx.Error(w, r, http.StatusNotFound, "not_found", ErrNotFound.Error())
		return uuid.Nil, uuid.Nil, false
	}
	return t.ID, id, true
}
