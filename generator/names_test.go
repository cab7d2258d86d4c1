package generator

import (
	"go/token"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestModuleNames(t *testing.T) {
	tests := []struct {
		raw  string
		want Names
	}{
		{"order_items", Names{Raw: "order_items", Package: "orderitems", Table: "order_items", Route: "order-items", Type: "OrderItem", TypePlural: "OrderItems", Var: "orderItem", VarPlural: "orderItems", Singular: "order_item", Title: "Order items"}},
		{"order-items", Names{Raw: "order_items", Package: "orderitems", Table: "order_items", Route: "order-items", Type: "OrderItem", TypePlural: "OrderItems", Var: "orderItem", VarPlural: "orderItems", Singular: "order_item", Title: "Order items"}},
		{"projects", Names{Raw: "projects", Package: "projects", Table: "projects", Route: "projects", Type: "Project", TypePlural: "Projects", Var: "project", VarPlural: "projects", Singular: "project", Title: "Projects"}},
		{"companies", Names{Raw: "companies", Package: "companies", Table: "companies", Route: "companies", Type: "Company", TypePlural: "Companies", Var: "company", VarPlural: "companies", Singular: "company", Title: "Companies"}},
		{"billing", Names{Raw: "billing", Package: "billing", Table: "billing", Route: "billing", Type: "Billing", TypePlural: "BillingList", Var: "billing", VarPlural: "billingList", Singular: "billing", Title: "Billing"}},
		{"invoice", Names{Raw: "invoice", Package: "invoice", Table: "invoice", Route: "invoice", Type: "Invoice", TypePlural: "Invoices", Var: "invoice", VarPlural: "invoices", Singular: "invoice", Title: "Invoice"}},
		{"boxes", Names{Raw: "boxes", Package: "boxes", Table: "boxes", Route: "boxes", Type: "Box", TypePlural: "Boxes", Var: "box", VarPlural: "boxes", Singular: "box", Title: "Boxes"}},
		{"addresses", Names{Raw: "addresses", Package: "addresses", Table: "addresses", Route: "addresses", Type: "Address", TypePlural: "Addresses", Var: "address", VarPlural: "addresses", Singular: "address", Title: "Addresses"}},
		{"api_keys2", Names{Raw: "api_keys2", Package: "apikeys2", Table: "api_keys2", Route: "api-keys2", Type: "ApiKeys2", TypePlural: "ApiKeys2s", Var: "apiKeys2", VarPlural: "apiKeys2s", Singular: "api_keys2", Title: "Api keys2"}},
		{"status_history", Names{Raw: "status_history", Package: "statushistory", Table: "status_history", Route: "status-history", Type: "StatusHistory", TypePlural: "StatusHistories", Var: "statusHistory", VarPlural: "statusHistories", Singular: "status_history", Title: "Status history"}},
	}
	for _, tt := range tests {
		if got := ModuleNames(tt.raw); got != tt.want {
			t.Errorf("ModuleNames(%q) =\n %+v\nwant\n %+v", tt.raw, got, tt.want)
		}
	}
}

func TestValidateModuleNameRefuses(t *testing.T) {
	for raw, wantInMsg := range map[string]string{
		"":                      "is empty",
		"Billing":               "lower-case",
		"order items":           "spaces",
		"1invoices":             "starting with a letter",
		"func":                  "Go keyword",
		"../x":                  "not a path",
		"a/b":                   "not a path",
		"..":                    "not a path",
		"internal":              "reserved",
		"platform":              "reserved",
		"app":                   "reserved",
		"tenants":               "reserved",
		"users_":                "lower-case letters",
		"a__b":                  "lower-case letters",
		"types":                 "Go identifier \"type\"",
		"errors":                "standard-library",
		"strings":               "standard-library",
		"factures_été":          "lower-case letters",
		strings.Repeat("a", 41): "41 characters",
	} {
		err := ValidateModuleName(raw)
		if err == nil {
			t.Errorf("ValidateModuleName(%q) = nil, want an error", raw)
			continue
		}
		if !IsInputError(err) || !strings.Contains(err.Error(), wantInMsg) {
			t.Errorf("ValidateModuleName(%q) = %v, want an *InputError mentioning %q", raw, err, wantInMsg)
		}
		if raw != "" && !strings.Contains(err.Error(), raw) {
			t.Errorf("ValidateModuleName(%q) = %v: the message does not name the value", raw, err)
		}
	}
	for _, ok := range []string{"billing", "order_items", "order-items", "projects", "invoices", "a1", "x"} {
		if err := ValidateModuleName(ok); err != nil {
			t.Errorf("ValidateModuleName(%q) = %v, want nil", ok, err)
		}
	}
}

func TestValidateProjectName(t *testing.T) {
	for _, bad := range []string{"", "Acme", "my app", "1acme", "go", "..", "a/b", "internal", "app", "platform", "acme_", "my_app", "acme--x", "-acme", strings.Repeat("x", 41)} {
		if err := ValidateProjectName(bad); err == nil || !IsInputError(err) {
			t.Errorf("ValidateProjectName(%q) = %v, want an *InputError", bad, err)
		}
	}
	for _, ok := range []string{"acme", "my-saas", "a1", "x"} {
		if err := ValidateProjectName(ok); err != nil {
			t.Errorf("ValidateProjectName(%q) = %v", ok, err)
		}
	}
}

func TestValidateModulePath(t *testing.T) {
	for _, bad := range []string{"", "github.com/acme/../x", "/abs", "a b", "github.com/acme/internal", "example.com/a/internal/b", "x//y", "-x", "acme/"} {
		if err := ValidateModulePath(bad); err == nil || !IsInputError(err) {
			t.Errorf("ValidateModulePath(%q) = %v, want an *InputError", bad, err)
		}
	}
	for _, ok := range []string{"acme", "example.com/acme", "github.com/acme/platform/v2", "gitlab.example.org/group/sub/acme"} {
		if err := ValidateModulePath(ok); err != nil {
			t.Errorf("ValidateModulePath(%q) = %v", ok, err)
		}
	}
}

// FuzzModuleName checks that every accepted module name yields names that
// are safe in Go, SQL and URLs, and that no input panics.
func FuzzModuleName(f *testing.F) {
	for _, s := range []string{"billing", "order_items", "order-items", "a", "companies", "x_y-z", "../x", "func", "", "ß"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := ValidateModuleName(raw)
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("ValidateModuleName(%q) returned a non-input error %v", raw, err)
			}
			return
		}
		n := ModuleNames(raw)
		for _, ident := range []string{n.Package, n.Type, n.TypePlural, n.Var, n.VarPlural} {
			if !token.IsIdentifier(ident) {
				t.Fatalf("%q: %q is not a Go identifier (%+v)", raw, ident, n)
			}
		}
		if n.Type == n.TypePlural || n.Var == n.VarPlural {
			t.Fatalf("%q: singular and plural collide: %+v", raw, n)
		}
		for _, s := range []string{n.Table, n.Route, n.Singular} {
			if !utf8.ValidString(s) || strings.ContainsAny(s, " /.\\\"'") || len(s) > MaxNameLen+8 {
				t.Fatalf("%q: unsafe name %q", raw, s)
			}
		}
		if ModuleNames(n.Raw) != n || ModuleNames(n.Route) != n {
			t.Fatalf("%q: names are not stable under the separator: %+v", raw, n)
		}
	})
}

// FuzzProjectName checks that accepted project names are safe directory,
// binary and module-path names.
func FuzzProjectName(f *testing.F) {
	for _, s := range []string{"acme", "my-saas", "..", "a/b", "Acme", " x", "go"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if err := ValidateProjectName(name); err != nil {
			if !IsInputError(err) {
				t.Fatalf("non-input error %v", err)
			}
			return
		}
		if strings.ContainsAny(name, `/\. `) || name == "" {
			t.Fatalf("accepted unsafe project name %q", name)
		}
		if err := ValidateModulePath(name); err != nil {
			t.Fatalf("accepted project name %q is not a valid default module path: %v", name, err)
		}
	})
}

// FuzzModulePath checks the module path validator never panics and accepts
// only paths the go command would accept.
func FuzzModulePath(f *testing.F) {
	for _, s := range []string{"example.com/acme", "acme", "github.com/a/b/v2", "a//b", "../x", "x/internal"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if err := ValidateModulePath(p); err == nil {
			if strings.Contains(p, "..") && strings.Contains(p, "/../") || strings.HasPrefix(p, "/") || strings.ContainsAny(p, " \\") {
				t.Fatalf("accepted %q", p)
			}
		} else if !IsInputError(err) {
			t.Fatalf("non-input error %v", err)
		}
	})
}
