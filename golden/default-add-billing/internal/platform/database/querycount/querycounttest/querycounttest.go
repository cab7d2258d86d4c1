// Package querycounttest helps tests assert how many database round trips
// code makes.
package querycounttest

import (
	"context"
	"testing"

	"shop/internal/platform/database/querycount"
)

// AssertMax runs fn with a context that counts round trips and fails t when
// fn made more than max. It returns the count, so a test can also compare
// two runs (constant cost whatever the row count).
func AssertMax(t testing.TB, max int, fn func(ctx context.Context)) int {
	t.Helper()
	c := new(querycount.Counter)
	fn(querycount.WithCounter(t.Context(), c))
	if n := c.Count(); n > max {
		t.Errorf("made %d database round trips, want at most %d", n, max)
	}
	return c.Count()
}
