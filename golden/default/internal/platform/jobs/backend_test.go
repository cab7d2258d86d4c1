package jobs_test

import (
	"testing"

	"github.com/google/uuid"
)

// assertNoBackendJob checks that River holds no job for id: the insert was
// part of the transaction that rolled back.
func assertNoBackendJob(t *testing.T, f *fixture, id uuid.UUID) {
	t.Helper()
	var n int
	if err := f.db.OwnerPool.QueryRow(t.Context(), `SELECT count(*) FROM river_job WHERE args->>'id' = $1`, id.String()).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d River jobs for the rolled-back write (%v), want 0", n, err)
	}
}
