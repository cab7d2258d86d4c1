package app

import (
	"os"
	"testing"

	"example.com/minimal/internal/platform/auth/authtest"
)

// TestMain fails the run when a credential made by the tests (API key,
// session token, authorization code) appears in what they logged.
func TestMain(m *testing.M) { os.Exit(authtest.Main(m)) }
