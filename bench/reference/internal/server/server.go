// Package server holds the HTTP server and its routes.
package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"reference/internal/database"
)

// Server serves the routes over the database service.
type Server struct {
	port int
	db   database.Service
}

// New returns the HTTP server on PORT.
func New() *http.Server {
	port, _ := strconv.Atoi(os.Getenv("PORT"))
	s := &Server{port: port, db: database.New()}
	return &http.Server{
		Addr:         fmt.Sprintf(":%d", s.port),
		Handler:      s.routes(),
		IdleTimeout:  time.Minute,
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 30 * time.Second,
	}
}

func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Logger)
	r.Get("/", s.hello)
	r.Get("/health", s.health)
	return r
}

func (s *Server) hello(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]string{"message": "Hello World"})
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.db.Health())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
