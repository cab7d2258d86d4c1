package checks_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/saasgen/saasgen/generator"
	"github.com/saasgen/saasgen/templates"
)

// project is one generated project, written to disk.
type project struct {
	name string // the example it comes from, or example-variant
	dir  string
	opts generator.Options
}

var (
	renderOnce sync.Once
	rendered   []project
	renderErr  error
	renderRoot string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if renderRoot != "" {
		_ = os.RemoveAll(renderRoot)
	}
	os.Exit(code)
}

// projects renders every answers file of examples/ once per test binary, and
// one more project per CI choice no example uses (the first example with
// that choice), so every CI provider's files are checked.
func projects(t *testing.T) []project {
	t.Helper()
	renderOnce.Do(func() { rendered, renderErr = renderAll() })
	if renderErr != nil {
		t.Fatal(renderErr)
	}
	return rendered
}

func renderAll() ([]project, error) {
	paths, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(paths) == 0 {
		return nil, &os.PathError{Op: "glob", Path: "../examples/*.yaml", Err: os.ErrNotExist}
	}
	sort.Strings(paths)
	var list []project
	for _, p := range paths {
		af, err := generator.ReadAnswersFile(p)
		if err != nil {
			return nil, err
		}
		o := generator.DefaultOptions()
		af.ApplyTo(&o)
		o.Normalize()
		list = append(list, project{name: strings.TrimSuffix(filepath.Base(p), ".yaml"), opts: o})
	}
	for _, c := range generator.CIChoices {
		if !slices.ContainsFunc(list, func(p project) bool { return p.opts.CI == c.Value }) {
			o := list[0].opts
			o.CI = c.Value
			list = append(list, project{name: list[0].name + "-" + c.Value, opts: o})
		}
	}
	renderRoot, err = os.MkdirTemp("", "saasgen-checks-")
	if err != nil {
		return nil, err
	}
	g := &generator.Generator{Templates: templates.FS, Version: "dev"}
	for i := range list {
		files, err := g.Render(list[i].opts)
		if err != nil {
			return nil, err
		}
		list[i].dir = filepath.Join(renderRoot, list[i].name)
		for _, f := range files {
			p := filepath.Join(list[i].dir, filepath.FromSlash(f.Path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(p, f.Content, f.Mode); err != nil {
				return nil, err
			}
		}
	}
	return list, nil
}

// path returns the absolute path of rel in p.
func (p project) path(rel string) string { return filepath.Join(p.dir, filepath.FromSlash(rel)) }

// read returns the content of rel in p.
func (p project) read(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(p.path(rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tool finds an external validator on PATH or at one of the other places
// given. .ci/run installs each; elsewhere a missing tool skips the test, and
// under TEST_REQUIRE_SERVICES=1 (CI) fails it.
func tool(t *testing.T, name string, elsewhere ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range elsewhere {
		if p == "" {
			continue
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	msg := name + " not found on PATH: bash .ci/run installs it"
	if os.Getenv("TEST_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg + " (TEST_REQUIRE_SERVICES=1 turns this skip into a failure)")
	}
	t.Skip(msg)
	return ""
}

// run runs a command in dir and returns its combined output and error.
func run(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
