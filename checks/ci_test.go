package checks_test

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v3"
)

// golangciVersion is the golangci-lint every CI provider, the Makefile's
// hint and .ci/run use.
const golangciVersion = "v2.15.0"

// lintWorkflow runs actionlint on a workflow file, with shellcheck on its
// run: scripts when shellcheck is installed.
func lintWorkflow(t *testing.T, file string) []*actionlint.Error {
	t.Helper()
	opts := &actionlint.LinterOptions{}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = sc
	} else if os.Getenv("TEST_REQUIRE_SERVICES") == "1" {
		t.Fatal("shellcheck not found: bash .ci/run installs it")
	}
	l, err := actionlint.NewLinter(io.Discard, opts)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	return errs
}

var (
	pinnedUses = regexp.MustCompile(`^\s*(?:-\s+)?uses:\s+([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+\s*$`)
	anyUses    = regexp.MustCompile(`^\s*(?:-\s+)?uses:`)
)

// TestGitHubWorkflow checks the GitHub Actions workflow with actionlint,
// that every action is pinned by a full commit SHA with its release in a
// comment, that permissions are read-only, and that it runs what the
// project's CI must: golangci-lint, govulncheck, the whole suite against
// PostgreSQL and Redis with skips refused, and the image build.
func TestGitHubWorkflow(t *testing.T) {
	checked := 0
	for _, p := range projects(t) {
		file := p.path(".github/workflows/ci.yml")
		if p.opts.CI != "github" {
			if _, err := os.Stat(file); err == nil {
				t.Errorf("%s: ci %s but a GitHub workflow was generated", p.name, p.opts.CI)
			}
			continue
		}
		checked++
		t.Run(p.name, func(t *testing.T) {
			for _, e := range lintWorkflow(t, file) {
				t.Errorf("actionlint: %s", e.Error())
			}
			src := string(p.read(t, ".github/workflows/ci.yml"))
			for i, line := range strings.Split(src, "\n") {
				if anyUses.MatchString(line) && !pinnedUses.MatchString(line) {
					t.Errorf("ci.yml:%d: action not pinned by full commit SHA with a # vX.Y.Z comment: %s", i+1, strings.TrimSpace(line))
				}
			}
			var wf struct {
				Permissions map[string]string `yaml:"permissions"`
				Jobs        map[string]struct {
					Permissions map[string]string   `yaml:"permissions"`
					Services    map[string]struct{} `yaml:"services"`
					Env         map[string]string   `yaml:"env"`
					Steps       []map[string]any    `yaml:"steps"`
				} `yaml:"jobs"`
			}
			if err := yaml.Unmarshal([]byte(src), &wf); err != nil {
				t.Fatal(err)
			}
			if len(wf.Permissions) != 1 || wf.Permissions["contents"] != "read" {
				t.Errorf("top-level permissions = %v, want only contents: read", wf.Permissions)
			}
			for name, j := range wf.Jobs {
				for scope, level := range j.Permissions {
					if level != "read" && level != "none" {
						t.Errorf("job %s asks for %s: %s", name, scope, level)
					}
				}
			}
			test := wf.Jobs["test"]
			for _, svc := range []string{"postgres", "redis"} {
				if _, ok := test.Services[svc]; !ok {
					t.Errorf("job test has no %s service", svc)
				}
			}
			for k, v := range map[string]string{"TEST_REQUIRE_SERVICES": "1", "TEST_DATABASE_URL": "postgres://", "TEST_REDIS_URL": "redis://"} {
				if !strings.HasPrefix(test.Env[k], v) {
					t.Errorf("job test: %s = %q", k, test.Env[k])
				}
			}
			for _, want := range []string{"golangci/golangci-lint-action@", "version: " + golangciVersion, "govulncheck", "go vet ./...", "go test -race ./...", "apt-get install -y pgbouncer", "docker build", "persist-credentials: false"} {
				if !strings.Contains(src, want) {
					t.Errorf("ci.yml does not contain %q", want)
				}
			}
		})
	}
	if checked == 0 {
		t.Error("no example generates a GitHub workflow")
	}
}

// TestActionlintCatchesMistakes proves actionlint is not a no-op here: an
// unknown runner label, a bad expression and a step with both uses and run
// are reported.
func TestActionlintCatchesMistakes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, ".github", "workflows", "bad.yml")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := "on: push\njobs:\n  x:\n    runs-on: ubuntu-lastest\n    steps:\n      - run: echo ${{ github.nosuch }}\n      - uses: actions/checkout@v4\n        run: echo\n"
	if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if errs := lintWorkflow(t, file); len(errs) < 3 {
		t.Errorf("actionlint found %d problems in a workflow with three, want at least 3: %v", len(errs), errs)
	}
}

// gitlabCILocal returns the gitlab-ci-local command, which validates a
// .gitlab-ci.yml against GitLab's own CI JSON schema (the one of GitLab's
// pipeline editor, bundled in the npm package) before listing its jobs.
func gitlabCILocal(t *testing.T) string {
	t.Helper()
	return tool(t, "gitlab-ci-local", os.Getenv("GITLAB_CI_LOCAL"))
}

// validateGitLab copies the project's .gitlab-ci.yml into a scratch git
// repository (gitlab-ci-local reads git metadata and writes a cache there)
// and returns gitlab-ci-local's output and error.
func validateGitLab(t *testing.T, content []byte) (string, error) {
	t.Helper()
	bin := gitlabCILocal(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".gitlab-ci.yml"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, dir, nil, "git", "init", "-q"); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	return run(t, dir, []string{"NO_COLOR=1"}, bin, "--list")
}

// TestGitLabPipeline validates the GitLab pipeline against GitLab's CI
// schema and checks it runs what the project's CI must.
func TestGitLabPipeline(t *testing.T) {
	checked := 0
	for _, p := range projects(t) {
		if p.opts.CI != "gitlab" {
			if _, err := os.Stat(p.path(".gitlab-ci.yml")); err == nil {
				t.Errorf("%s: ci %s but a GitLab pipeline was generated", p.name, p.opts.CI)
			}
			continue
		}
		checked++
		t.Run(p.name, func(t *testing.T) {
			src := p.read(t, ".gitlab-ci.yml")
			out, err := validateGitLab(t, src)
			if err != nil || !strings.Contains(out, "json schema validated") {
				t.Errorf("gitlab-ci-local: %v\n%s", err, out)
			}
			var pl map[string]any
			if err := yaml.Unmarshal(src, &pl); err != nil {
				t.Fatal(err)
			}
			for _, job := range []string{"lint", "vulncheck", "test", "build-image"} {
				if _, ok := pl[job].(map[string]any); !ok {
					t.Errorf("no job %s", job)
				}
			}
			s := string(src)
			for _, want := range []string{"golangci/golangci-lint:" + golangciVersion, "govulncheck", "TEST_REQUIRE_SERVICES: \"1\"", "postgres:", "redis:", "pgbouncer", "go test -race ./...", "docker build"} {
				if !strings.Contains(s, want) {
					t.Errorf(".gitlab-ci.yml does not contain %q", want)
				}
			}
		})
	}
	if checked == 0 {
		t.Error("no project generates a GitLab pipeline")
	}
}

// TestGitLabSchemaCatchesMistakes proves the schema check refuses an unknown
// job keyword and a job named like a global keyword.
func TestGitLabSchemaCatchesMistakes(t *testing.T) {
	for name, bad := range map[string]string{
		"unknown keyword": "lint:\n  script: [true]\n  scriptt: [true]\n",
		"reserved name":   "image:\n  stage: test\n  script: [true]\n",
	} {
		out, err := validateGitLab(t, []byte(bad))
		if err == nil {
			t.Errorf("%s: gitlab-ci-local accepted it:\n%s", name, out)
		}
	}
}
