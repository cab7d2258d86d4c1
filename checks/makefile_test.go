package checks_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGo is put first on PATH as `go`: it prints its arguments and the
// variables the test looks at, one per line, so the test sees exactly what
// a Makefile target hands to the program it runs.
const fakeGo = `#!/bin/sh
printf 'args=%s\n' "$*"
for v in DATABASE_URL QUOTED DOUBLE BACKSLASH FROM_ENV TEST_DATABASE_URL TEST_REQUIRE_SERVICES; do
  eval "printf '%s=[%s]\n' $v \"\${$v}\""
done
`

// dotEnv is a .env with the values that break make's `include` and the
// shell's `.`: dollar signs, backquotes, quotes and backslashes.
const dotEnv = `# a comment, then a blank line

DATABASE_URL=postgres://app:pa$$word$1@db:5432/app?x=` + "`id`" + `
export QUOTED='single $HOME'
DOUBLE="double $(id)"
BACKSLASH=back\slash\n
FROM_ENV=from the file
TEST_DATABASE_URL=postgres://t:$1$$@h/t
`

// TestMakefileKeepsDollarSigns runs the Makefile's targets that start the
// program with a .env full of $ and other shell syntax, and checks every
// value reaches the program byte for byte, with the environment winning over
// the file.
func TestMakefileKeepsDollarSigns(t *testing.T) {
	make := tool(t, "make", "/usr/bin/make")
	p := projects(t)[0]
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.path(".env"), []byte(dotEnv), 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(p.path(".env"))
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "FROM_ENV=from the environment"}

	want := map[string]string{
		"DATABASE_URL":      "postgres://app:pa$$word$1@db:5432/app?x=`id`",
		"QUOTED":            "single $HOME",
		"DOUBLE":            "double $(id)",
		"BACKSLASH":         `back\slash\n`,
		"FROM_ENV":          "from the environment",
		"TEST_DATABASE_URL": "postgres://t:$1$$@h/t",
	}
	for target, args := range map[string]string{
		"run":              "run ./cmd/" + p.opts.Name + " serve",
		"worker":           "run ./cmd/" + p.opts.Name + " worker",
		"migrate":          "run ./cmd/" + p.opts.Name + " migrate up",
		"test":             "test ./...",
		"test-integration": "test -race ./...",
	} {
		out, err := run(t, p.dir, env, make, "-s", target)
		if err != nil {
			t.Errorf("make %s: %v\n%s", target, err, out)
			continue
		}
		got := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				got[k] = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
			}
		}
		if got["args"] != args {
			t.Errorf("make %s ran go %s, want go %s", target, got["args"], args)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("make %s: %s = %q, want %q", target, k, got[k], v)
			}
		}
		if target == "test-integration" && got["TEST_REQUIRE_SERVICES"] != "1" {
			t.Errorf("make test-integration does not set TEST_REQUIRE_SERVICES=1")
		}
	}
}

// TestMakefileTargets checks every target the README and the issue name
// exists (make -n resolves it without running anything).
func TestMakefileTargets(t *testing.T) {
	make := tool(t, "make", "/usr/bin/make")
	p := projects(t)[0]
	for _, target := range []string{"help", "dev", "up", "down", "run", "worker", "migrate", "test", "test-integration", "lint", "build", "docker"} {
		if out, err := run(t, p.dir, nil, make, "-n", target); err != nil {
			t.Errorf("make -n %s: %v\n%s", target, err, out)
		}
	}
}

// TestWithEnvScript runs shellcheck on scripts/with-env and checks it
// refuses a malformed .env line instead of guessing.
func TestWithEnvScript(t *testing.T) {
	p := projects(t)[0]
	sc := tool(t, "shellcheck")
	if out, err := run(t, p.dir, nil, sc, "-s", "sh", "scripts/with-env"); err != nil {
		t.Errorf("shellcheck scripts/with-env: %v\n%s", err, out)
	}
	dir := t.TempDir()
	for _, bad := range []string{"NOT A VARIABLE\n", "1X=y\n", "A-B=c\n"} {
		envFile := filepath.Join(dir, ".env")
		if err := os.WriteFile(envFile, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := run(t, dir, []string{"ENV_FILE=" + envFile}, p.path("scripts/with-env"), "true")
		if err == nil || !strings.Contains(out, ".env:1:") {
			t.Errorf("with-env accepted %q: %v %s", bad, err, out)
		}
	}
}
