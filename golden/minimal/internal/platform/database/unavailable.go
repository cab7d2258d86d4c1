package database

import (
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
)

// Unavailable reports whether err means that the database could not serve a
// statement for reasons of its own rather than because of the statement or
// its arguments: it is unreachable or restarting, out of connections or
// other resources, the pool is closed, or the statement ran past its
// timeout (DATABASE_STATEMENT_TIMEOUT). Such a failure may succeed later;
// HTTP handlers answer it with 503 and Retry-After (see httpx.ServerError).
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch class := pgErr.Code[:min(2, len(pgErr.Code))]; {
		case class == "08", // connection exception
			class == "53",                        // insufficient resources: too many connections, out of memory, disk full
			strings.HasPrefix(pgErr.Code, "57P"), // admin or crash shutdown, cannot connect now
			pgErr.Code == "57014",                // query_canceled: statement_timeout (or a cancel request)
			pgErr.Code == "55P03":                // lock_not_available: lock_timeout
			return true
		}
		return false
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		pgconn.Timeout(err) ||
		pgconn.SafeToRetry(err) || // failed before anything was sent
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, puddle.ErrClosedPool) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
