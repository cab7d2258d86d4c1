package auth_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/acme/acme/internal/platform/auth/authtest"
)

// TestMain fails the run when a credential made by the tests (API key,
// session token, authorization code) appears in what they logged.
func TestMain(m *testing.M) { os.Exit(authtest.Main(m)) }

// recorder is a testing.TB that keeps its errors instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Error(args ...any) { r.errors = append(r.errors, fmt.Sprint(args...)) }

// TestLogScanCatchesLeaks: the scan behind authtest.Main and
// AssertNoSecrets fails on a logged credential, whether the test knew it
// (an API key anywhere in a line) or not (a credential-named attribute).
func TestLogScanCatchesLeaks(t *testing.T) {
	const key = "sk_live_0123456789abcdef"
	clean := `{"level":"INFO","msg":"request","route":"GET /api/v1/me","status":200,"api_key_id":"6b1f0d1e","user_id":"u-1"}` + "\n"
	for _, c := range []struct {
		logs  string
		leaks int
	}{
		{clean, 0},
		{clean + `{"level":"DEBUG","msg":"auth","error":"unknown key ` + key + `"}` + "\n", 1},
		{clean + `{"level":"INFO","msg":"request","authorization":"Bearer x"}` + "\n", 1},
		{clean + `{"level":"INFO","msg":"callback","code":"4/0AY0e"}` + "\n", 1},
		{clean + `{"level":"INFO","msg":"login","Cookie":"session=abc"}` + "\n", 1},
	} {
		if got := authtest.Leaks(c.logs, key); len(got) != c.leaks {
			t.Errorf("Leaks(%q) = %q, want %d", c.logs, got, c.leaks)
		}
		rec := &recorder{TB: t}
		authtest.AssertNoSecrets(rec, c.logs, key)
		if (len(rec.errors) > 0) != (c.leaks > 0) {
			t.Errorf("AssertNoSecrets on %q reported %q", c.logs, rec.errors)
		}
	}
	rec := &recorder{TB: t}
	authtest.AssertNoSecrets(rec, "", key)
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "no log line") {
		t.Errorf("an empty log is not reported: %q", rec.errors)
	}
}
