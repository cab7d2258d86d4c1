// Package database is the PostgreSQL service: database/sql with the pgx
// driver.
package database

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// Service is what the server needs of the database.
type Service interface {
	Health() map[string]string
	Close() error
}

type service struct {
	db *sql.DB
}

// New opens the database of the BLUEPRINT_DB_* variables.
func New() Service {
	dsn := fmt.Sprintf("postgres://%s:%s@%s:%s/%s?sslmode=disable&search_path=%s",
		os.Getenv("BLUEPRINT_DB_USERNAME"), os.Getenv("BLUEPRINT_DB_PASSWORD"), os.Getenv("BLUEPRINT_DB_HOST"),
		os.Getenv("BLUEPRINT_DB_PORT"), os.Getenv("BLUEPRINT_DB_DATABASE"), os.Getenv("BLUEPRINT_DB_SCHEMA"))
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		log.Fatal(err)
	}
	return &service{db: db}
}

// Health reports the connection pool's state.
func (s *service) Health() map[string]string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	stats := map[string]string{}
	if err := s.db.PingContext(ctx); err != nil {
		stats["status"] = "down"
		stats["error"] = err.Error()
		return stats
	}
	st := s.db.Stats()
	stats["status"] = "up"
	stats["open_connections"] = strconv.Itoa(st.OpenConnections)
	stats["in_use"] = strconv.Itoa(st.InUse)
	stats["idle"] = strconv.Itoa(st.Idle)
	return stats
}

// Close closes the pool.
func (s *service) Close() error { return s.db.Close() }
