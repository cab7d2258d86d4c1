package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// boundaryViolation returns why the package importer may not import the
// package imported, or "" if it may. module is the Go module path.
//
//   - internal/platform/... is shared infrastructure: it imports neither a
//     module nor the composition root internal/app;
//   - a module (internal/modules/<name>/...) does not import internal/app;
//   - a module imports another module only through its root package, its
//     public API, never a package below it.
func boundaryViolation(module, importer, imported string) string {
	var (
		app      = module + "/internal/app"
		platform = module + "/internal/platform"
		modules  = module + "/internal/modules/"
	)
	within := func(pkg, root string) bool { return pkg == root || strings.HasPrefix(pkg, root+"/") }
	moduleOf := func(pkg string) (name, below string, ok bool) {
		rest, ok := strings.CutPrefix(pkg, modules)
		if !ok {
			return "", "", false
		}
		name, below, _ = strings.Cut(rest, "/")
		return name, below, true
	}

	if within(importer, platform) {
		if _, _, ok := moduleOf(imported); ok {
			return "platform must not import a module"
		}
		if within(imported, app) {
			return "platform must not import the composition root"
		}
		return ""
	}
	from, _, ok := moduleOf(importer)
	if !ok {
		return ""
	}
	if within(imported, app) {
		return "a module must not import the composition root"
	}
	if to, below, ok := moduleOf(imported); ok && to != from && below != "" {
		return "a module may import another module only through its root package"
	}
	return ""
}

func TestBoundaryRule(t *testing.T) {
	t.Parallel()
	const m = "shop"
	for _, tc := range []struct {
		importer, imported string
		violates           bool
	}{
		{m + "/internal/platform/tenancy", m + "/internal/modules/billing", true},
		{m + "/internal/platform/database/dbtest", m + "/internal/modules/billing/internal/store", true},
		{m + "/internal/platform/httpx", m + "/internal/app", true},
		{m + "/internal/platform", m + "/internal/app/sub", true},
		{m + "/internal/modules/billing", m + "/internal/app", true},
		{m + "/internal/modules/billing/internal/service", m + "/internal/app", true},
		{m + "/internal/modules/billing/internal/service", m + "/internal/modules/orders/internal/store", true},
		{m + "/internal/modules/billing", m + "/internal/modules/orders/api", true},
		{m + "/internal/modules/billing/internal/service", m + "/internal/modules/orders", false},
		{m + "/internal/modules/billing", m + "/internal/modules/billing/internal/store", false},
		{m + "/internal/modules/billing", m + "/internal/platform/tenancy", false},
		{m + "/internal/platform/tenancy", m + "/internal/platform/config", false},
		{m + "/internal/app", m + "/internal/modules/billing", false},
		{m + "/internal/app", m + "/internal/platform/httpx", false},
		{m + "/cmd/acme", m + "/internal/app", false},
		{m + "/internal/platform/tenancy", "github.com/jackc/pgx/v5", false},
		// A sibling whose name only starts like the composition root.
		{m + "/internal/modules/billing", m + "/internal/application", false},
	} {
		got := boundaryViolation(m, tc.importer, tc.imported)
		if (got != "") != tc.violates {
			t.Errorf("%s -> %s: violation %q, want violation %v", tc.importer, tc.imported, got, tc.violates)
		}
	}
}

// TestBoundaries applies boundaryViolation to every import, test imports
// included, of every package of this Go module.
func TestBoundaries(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", goError(err))
	}
	module := strings.TrimSpace(string(out))
	out, err = exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", goError(err))
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	packages := 0
	for {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		packages++
		for _, imports := range [][]string{p.Imports, p.TestImports, p.XTestImports} {
			for _, imp := range imports {
				if why := boundaryViolation(module, p.ImportPath, imp); why != "" {
					t.Errorf("%s imports %s: %s", p.ImportPath, imp, why)
				}
			}
		}
	}
	if packages < 5 {
		t.Fatalf("go list found only %d packages of %s", packages, module)
	}
}

func goError(err error) error {
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return errors.New(strings.TrimSpace(string(ee.Stderr)))
	}
	return err
}
