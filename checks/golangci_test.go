package checks_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// golangciLint returns golangci-lint, which .ci/run installs with go install
// (so it may be in GOPATH/bin rather than on PATH).
func golangciLint(t *testing.T) string {
	t.Helper()
	gobin := os.Getenv("GOBIN")
	if gobin == "" {
		if out, err := run(t, ".", nil, "go", "env", "GOPATH"); err == nil {
			gobin = filepath.Join(strings.TrimSpace(out), "bin")
		}
	}
	return tool(t, "golangci-lint", filepath.Join(gobin, "golangci-lint"))
}

var lintFinding = regexp.MustCompile(`(?m)^\S+\.go:\d+:\d+: .*$`)

// TestGolangciLint runs golangci-lint with the generated .golangci.yml on
// every example project (each covers other backends: sessions, queue, no
// module), after checking the configuration against golangci-lint's schema.
// The generated code must have zero findings; a failure lists them all.
func TestGolangciLint(t *testing.T) {
	if testing.Short() {
		t.Skip("lints whole projects")
	}
	bin := golangciLint(t)
	for _, p := range projects(t) {
		if strings.Contains(p.name, "-") {
			continue // a CI variant: the same Go code as its example
		}
		t.Run(p.name, func(t *testing.T) {
			if out, err := run(t, p.dir, nil, bin, "config", "verify"); err != nil {
				t.Fatalf("golangci-lint config verify: %v\n%s", err, out)
			}
			// --allow-serial-runners: another golangci-lint on this machine (a
			// developer's) makes this one wait instead of failing.
			out, err := run(t, p.dir, []string{"GOFLAGS=-mod=readonly"}, bin, "run", "--allow-serial-runners", "--output.text.colors=false", "./...")
			if err == nil {
				return
			}
			findings := lintFinding.FindAllString(out, -1)
			if len(findings) == 0 {
				t.Fatalf("golangci-lint failed without findings: %v\n%s", err, out)
			}
			t.Errorf("golangci-lint: %d findings in the generated code:\n%s", len(findings), strings.Join(findings, "\n"))
		})
	}
}

// TestGolangciConfigIsChecked proves `golangci-lint config verify` refuses
// a configuration with an unknown key.
func TestGolangciConfigIsChecked(t *testing.T) {
	bin := golangciLint(t)
	p := projects(t)[0]
	dir := t.TempDir()
	bad := strings.Replace(string(p.read(t, ".golangci.yml")), "  default: standard\n", "  default: standard\n  enabled: [gosec]\n", 1)
	if err := os.WriteFile(filepath.Join(dir, ".golangci.yml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, dir, nil, bin, "config", "verify"); err == nil {
		t.Errorf("golangci-lint config verify accepted an unknown key:\n%s", out)
	}
}
