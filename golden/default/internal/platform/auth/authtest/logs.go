package authtest

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"shop/internal/platform/logging"
)

// LogSink collects the log lines a test's application writes.
type LogSink struct {
	mu  sync.Mutex
	buf strings.Builder
}

// Write implements io.Writer.
func (s *LogSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// String returns everything written so far.
func (s *LogSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// suite holds what the whole test binary logged and the credentials its
// tests made, for Main's scan.
var suite struct {
	logs    LogSink
	mu      sync.Mutex
	secrets []string
}

// Logger returns a JSON logger at debug level, as the application logs,
// writing to the test binary's log (scanned by Main) and to each of also.
func Logger(also ...io.Writer) *slog.Logger {
	return logging.New(io.MultiWriter(append([]io.Writer{&suite.logs}, also...)...), slog.LevelDebug)
}

// Remember adds credentials (API keys, session tokens, client secrets,
// authorization codes) that must never appear in the logs that Main scans.
// The Env's APIKey and Session remember theirs.
func Remember(secrets ...string) {
	suite.mu.Lock()
	defer suite.mu.Unlock()
	suite.secrets = append(suite.secrets, secrets...)
}

// Main runs the tests of m, then scans every line logged through Logger
// during the run for the credentials remembered: a package whose tests
// serve requests calls it from TestMain,
//
//	func TestMain(m *testing.M) { os.Exit(authtest.Main(m)) }
//
// It fails the run when a credential was logged, or when nothing was
// logged at all while tests ran (the loggers are not wired to the sink).
func Main(m *testing.M) int {
	code := m.Run()
	logs := suite.logs.String()
	suite.mu.Lock()
	secrets := suite.secrets
	suite.mu.Unlock()
	if code != 0 {
		return code
	}
	if logs == "" && len(secrets) > 0 {
		fmt.Fprintln(os.Stderr, "authtest: credentials were made but nothing was logged through authtest.Logger: the log scan saw nothing")
		return 1
	}
	if leaks := Leaks(logs, secrets...); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "authtest: the logs of this package's tests leak credentials:\n  %s\n", strings.Join(leaks, "\n  "))
		return 1
	}
	return 0
}

// credentialKeys are log attribute keys whose value is a credential,
// whatever the test remembered: logging one is a leak.
var credentialKeys = map[string]bool{
	"authorization": true, "cookie": true, "set-cookie": true, "password": true,
	"token": true, "session_token": true, "api_key": true, "secret": true, "client_secret": true, "code": true,
}

// Leaks describes each way logs leak a credential: one of secrets (8
// characters or more) appearing anywhere, or a JSON log line with a
// credential-named attribute holding a value.
func Leaks(logs string, secrets ...string) []string {
	var leaks []string
	for _, s := range secrets {
		if len(s) >= 8 && strings.Contains(logs, s) {
			leaks = append(leaks, fmt.Sprintf("a secret (%.6s…) appears in the logs", s))
		}
	}
	for _, line := range strings.Split(logs, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		for k, v := range rec {
			if credentialKeys[strings.ToLower(k)] && v != "" && v != nil {
				leaks = append(leaks, fmt.Sprintf("attribute %q is logged: %.80s", k, line))
			}
		}
	}
	return leaks
}

// AssertNoSecrets fails t for each leak of a secret (session token, cookie
// value, API key, authorization code) in logs (see Leaks).
func AssertNoSecrets(t testing.TB, logs string, secrets ...string) {
	t.Helper()
	if logs == "" {
		t.Error("authtest: no log line to scan; is the logger wired to the sink?")
	}
	for _, leak := range Leaks(logs, secrets...) {
		t.Error(leak)
	}
}
