package tenancy

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// setTenantSQL is the only statement in the code base that writes
// app.tenant_id. The third argument, true, makes the setting local to the
// current transaction (explicit or implicit).
const setTenantSQL = "SELECT set_config('app.tenant_id', $1, true)"

// Batcher sends a batch of statements in one round trip. *pgxpool.Pool,
// *pgx.Conn and pgx.Tx satisfy it; give InTx, Query and Exec a pool or a connection,
// never a transaction.
type Batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// InTx runs fn in a transaction in which every statement sees only the rows
// of tenantID. BEGIN and set_config travel together in one round trip; then
// come fn's statements, then COMMIT (or ROLLBACK when fn returns an error or
// panics). A statement of fn that fails aborts the transaction: fn should
// return the error rather than carry on.
func InTx(ctx context.Context, db Batcher, tenantID uuid.UUID, fn func(tx pgx.Tx) error) error {
	if tenantID == uuid.Nil {
		return ErrNoTenant
	}
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	b.Queue(setTenantSQL, tenantID.String())
	br := db.SendBatch(ctx, b)
	tx := br.Tx()
	if tx == nil {
		// Only possible with a Batcher that ignores Batch.BeginTx.
		_ = br.Close()
		return errors.New("tenancy: batcher did not begin a transaction")
	}
	// Commit and Rollback both end the transaction and give a pooled
	// connection back to its pool, whether or not they succeed.
	finished := false
	defer func() {
		if !finished {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := br.Close(); err != nil {
		return fmt.Errorf("tenancy: begin tenant transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	finished = true
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("tenancy: commit: %w", err)
	}
	return nil
}

// Query runs one statement for tenantID in a single round trip and hands its
// rows to scan, which must read them completely (pgx.CollectRows and friends
// do). The statement may read or write (INSERT … RETURNING, UPDATE …
// RETURNING): a single statement needs no explicit transaction.
//
// set_config and the statement are sent as one batch without BEGIN. pgx sends
// such a batch either as one extended-protocol pipeline closed by a single
// Sync, or (simple protocol) as one multi-statement query string; PostgreSQL
// runs both forms as one implicit transaction, which ends at the Sync, so the
// setting dies with it, and a failing statement undoes the whole batch. Use
// InTx for anything that needs more than one statement.
func Query(ctx context.Context, db Batcher, tenantID uuid.UUID, scan func(pgx.Rows) error, sql string, args ...any) error {
	br, err := sendScoped(ctx, db, tenantID, sql, args)
	if err != nil {
		return err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return err
	}
	scanErr := scan(rows)
	rows.Close()
	if scanErr == nil {
		scanErr = rows.Err()
	}
	if err := br.Close(); scanErr == nil && err != nil {
		scanErr = err
	}
	return scanErr
}

// Exec runs one statement that returns no rows (UPDATE, DELETE) for tenantID
// in a single round trip, like Query, and returns its command tag.
func Exec(ctx context.Context, db Batcher, tenantID uuid.UUID, sql string, args ...any) (pgconn.CommandTag, error) {
	br, err := sendScoped(ctx, db, tenantID, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// sendScoped sends set_config and sql as one batch and consumes the
// set_config result; the caller reads sql's result and closes the batch.
func sendScoped(ctx context.Context, db Batcher, tenantID uuid.UUID, sql string, args []any) (pgx.BatchResults, error) {
	if tenantID == uuid.Nil {
		return nil, ErrNoTenant
	}
	b := &pgx.Batch{}
	b.Queue(setTenantSQL, tenantID.String())
	b.Queue(sql, args...)
	br := db.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return nil, fmt.Errorf("tenancy: set tenant: %w", err)
	}
	return br, nil
}
