package generator

import (
	"errors"
	"fmt"
	"go/token"
	"regexp"
	"strings"

	"golang.org/x/mod/module"
)

// MaxNameLen bounds project and module names: they become directory, binary,
// Go package, SQL table and index names, and Postgres truncates identifiers at
// 63 bytes (an index name is the table name plus a suffix).
const MaxNameLen = 40

var (
	projectNameRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	moduleNameRE  = regexp.MustCompile(`^[a-z][a-z0-9]*([_-][a-z0-9]+)*$`)
)

// reservedNames are directory or package names the generated layout already
// uses (or will), so a project or module with one of them would collide.
var reservedNames = map[string]string{
	"internal":   "it is the Go internal-package directory",
	"platform":   "internal/platform holds shared infrastructure",
	"app":        "internal/app is the composition root",
	"cmd":        "cmd/ holds the binaries",
	"module":     "internal/platform/module defines the module contract",
	"modules":    "internal/modules holds the domain modules",
	"vendor":     "the go tool treats vendor/ specially",
	"testdata":   "the go tool ignores testdata/",
	"main":       "main is the Go program package",
	"tenancy":    "internal/platform/tenancy is the tenant layer",
	"tenants":    "the platform owns the tenants table",
	"migrations": "migrations/ directories hold SQL migrations",
	"api":        "/api is the route prefix of every module",
	"deploy":     "deploy/ holds the deployment manifests",
	"saasgen":    "it is this tool's name",
}

// goPredeclared are identifiers a package name must not shadow.
var goPredeclared = toSet(`any append bool byte cap clear close comparable complex complex64 complex128
copy delete error false float32 float64 imag int int8 int16 int32 int64 iota len make max min new nil
panic print println real recover rune string true uint uint8 uint16 uint32 uint64 uintptr`)

// stdPackages are standard-library package names a module package would
// shadow in every file of the composition root.
var stdPackages = toSet(`bytes context errors fmt http io log os sort strconv strings sync time testing slog json sql url`)

func toSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// ValidateProjectName reports whether name can be a project name: the
// directory, the binary under cmd/ and the default module path.
func ValidateProjectName(name string) error {
	const accepted = "lower-case letters, digits and single dashes, starting with a letter, at most 40 characters (e.g. acme, my-saas)"
	if err := commonNameChecks("project name", name, accepted); err != nil {
		return err
	}
	if !projectNameRE.MatchString(name) {
		return invalid("project name", name, "must be "+accepted)
	}
	return nil
}

// ValidateModuleName reports whether raw can name a domain module by its own
// rules; what the templates derive from it (Go identifiers, SQL, routes) is
// checked by Generator.ValidateModuleList.
func ValidateModuleName(raw string) error {
	const accepted = "lower-case letters and digits, words separated by '_' or '-', starting with a letter, at most 40 characters (e.g. billing, order_items)"
	if err := commonNameChecks("module name", raw, accepted); err != nil {
		return err
	}
	if !moduleNameRE.MatchString(raw) {
		return invalid("module name", raw, "must be "+accepted)
	}
	n := ModuleNames(raw)
	for _, word := range []string{n.Package, n.Table, n.Singular} {
		if why, ok := reservedNames[word]; ok {
			return invalid("module name", raw, fmt.Sprintf("%q is reserved: %s", word, why))
		}
	}
	switch {
	case token.IsKeyword(n.Package):
		return invalid("module name", raw, fmt.Sprintf("its Go package name %q is a Go keyword", n.Package))
	case goPredeclared[n.Package]:
		return invalid("module name", raw, fmt.Sprintf("its Go package name %q would shadow a predeclared Go identifier", n.Package))
	case stdPackages[n.Package]:
		return invalid("module name", raw, fmt.Sprintf("its Go package name %q would shadow a standard-library package", n.Package))
	}
	for _, ident := range []string{n.Var, n.VarPlural} {
		if token.IsKeyword(ident) || goPredeclared[ident] {
			return invalid("module name", raw, fmt.Sprintf("its Go identifier %q is a Go keyword or predeclared name", ident))
		}
	}
	return nil
}

func commonNameChecks(what, name, accepted string) error {
	switch {
	case name == "":
		return invalid(what, name, "is empty; use "+accepted)
	case len(name) > MaxNameLen:
		return invalid(what, name, fmt.Sprintf("is %d characters long; use %s", len(name), accepted))
	case strings.Contains(name, "..") || strings.ContainsAny(name, `/\`):
		return invalid(what, name, "must be a single name, not a path; use "+accepted)
	case strings.TrimSpace(name) != name || strings.ContainsAny(name, " \t\r\n"):
		return invalid(what, name, "must not contain spaces; use "+accepted)
	case token.IsKeyword(name):
		return invalid(what, name, "is a Go keyword; use "+accepted)
	}
	if why, ok := reservedNames[name]; ok {
		return invalid(what, name, "is reserved: "+why)
	}
	return nil
}

// ValidateModulePath reports whether path can be the generated project's Go
// module path, by the rules the go command applies to a main module.
func ValidateModulePath(path string) error {
	if path == "" {
		return invalid("module path", path, "is empty; use a Go module path such as github.com/acme/acme or example.com/acme")
	}
	if err := module.CheckImportPath(path); err != nil {
		return invalid("module path", path, fmt.Sprintf("is not a valid Go module path (%v); use a path such as github.com/acme/acme", unwrapModuleErr(err)))
	}
	if strings.HasSuffix(path, "/internal") || strings.Contains(path, "/internal/") || path == "internal" {
		return invalid("module path", path, "must not contain an internal element: nothing could import it")
	}
	return nil
}

func unwrapModuleErr(err error) string {
	var ie *module.InvalidPathError
	if errors.As(err, &ie) {
		return ie.Err.Error()
	}
	return err.Error()
}

// Names are the forms of a module's name used across the generated code.
// For "order-items" or "order_items":
//
//	Raw order_items  Package orderitems  Table order_items  Route order-items
//	Type OrderItem  TypePlural OrderItems  Var orderItem  VarPlural orderItems
//	Singular order_item  Title "Order items"
type Names struct {
	Raw        string `json:"raw"`
	Package    string `json:"package"`
	Table      string `json:"table"`
	Route      string `json:"route"`
	Type       string `json:"type"`
	TypePlural string `json:"type_plural"`
	Var        string `json:"var"`
	VarPlural  string `json:"var_plural"`
	Singular   string `json:"singular"`
	Title      string `json:"title"`
}

// ModuleNames derives every name form from a module name. It assumes the name
// passed ValidateModuleName; "-" and "_" are the same separator, so
// "order-items" and "order_items" name the same module.
//
// The table and route keep the words as given; the type is singular: the last
// word is singularized ("order_items" → OrderItem, "companies" → Company), and
// a name that is already singular ("billing") gets a regular plural for the
// collection type (Billings).
func ModuleNames(raw string) Names {
	words := strings.FieldsFunc(raw, func(r rune) bool { return r == '_' || r == '-' })
	last := words[len(words)-1]
	singularWords := append(append([]string(nil), words[:len(words)-1]...), singularize(last))
	pluralWords := words
	if singularize(last) == last {
		pluralWords = append(append([]string(nil), words[:len(words)-1]...), pluralize(last))
	}
	n := Names{
		Raw:        strings.Join(words, "_"),
		Package:    strings.Join(words, ""),
		Table:      strings.Join(words, "_"),
		Route:      strings.Join(words, "-"),
		Type:       camel(singularWords, true),
		TypePlural: camel(pluralWords, true),
		Var:        camel(singularWords, false),
		VarPlural:  camel(pluralWords, false),
		Singular:   strings.Join(singularWords, "_"),
	}
	title := strings.Join(words, " ")
	n.Title = strings.ToUpper(title[:1]) + title[1:]
	return n
}

// uncountable words are the same in singular and plural.
var uncountable = toSet(`news series species data information equipment software feedback analytics metadata media status billing`)

func singularize(w string) string {
	switch {
	case uncountable[w]:
		return w
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"), strings.HasSuffix(w, "xes"), strings.HasSuffix(w, "ches"), strings.HasSuffix(w, "shes"), strings.HasSuffix(w, "zzes"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "ss"), strings.HasSuffix(w, "us"), strings.HasSuffix(w, "is"):
		return w
	case strings.HasSuffix(w, "s") && len(w) > 1:
		return w[:len(w)-1]
	}
	return w
}

func pluralize(w string) string {
	switch {
	case uncountable[w]:
		// The collection type needs a different identifier from the item type.
		return w + "_list"
	case strings.HasSuffix(w, "y") && len(w) > 1 && !strings.ContainsRune("aeiou", rune(w[len(w)-2])):
		return w[:len(w)-1] + "ies"
	case strings.HasSuffix(w, "s"), strings.HasSuffix(w, "x"), strings.HasSuffix(w, "ch"), strings.HasSuffix(w, "sh"), strings.HasSuffix(w, "z"):
		return w + "es"
	}
	return w + "s"
}

func camel(words []string, exported bool) string {
	var b strings.Builder
	for i, w := range words {
		for j, part := range strings.Split(w, "_") {
			if part == "" {
				continue
			}
			if i == 0 && j == 0 && !exported {
				b.WriteString(part)
				continue
			}
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}
