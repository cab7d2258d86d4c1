package generator

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Module names are checked against the generated code itself: the module
// and project trees are rendered once for a probe module whose name forms
// appear nowhere else, every generated Go file is parsed, and each
// identifier the templates build from the probe's names (the package name,
// ZzqProby, ZzqProbyInput, scanZzqProby, zzqProbyID, ...) is checked the way
// a rename would be: the candidate's version of the identifier must not be
// declared again in the same scope, must not be shadowed where the probe's
// identifier is used, and must not shadow an identifier used where it is
// visible. The forbidden names come from the templates, so a template change
// updates the rule.

// clashProbeRaw names the probe module. It has two words so that every name
// form differs from every other (Package zzqprobies, Type ZzqProby,
// TypePlural ZzqProbies, Var zzqProby, VarPlural zzqProbies) and none
// contains another.
const clashProbeRaw = "zzq_probies"

// CheckModuleNames reports, as an *InputError, whether any identifier the
// templates build from n would clash with an identifier of the generated
// code: the module's package name with another import or a declaration of a
// file importing the module, the module's type and variable names with the
// declarations of its own packages. It names the clashing identifier and the
// generated file. n should come from ModuleNames of a name that passed
// ValidateModuleName. ValidateModuleList runs it with every other check.
func (g *Generator) CheckModuleNames(n Names) error {
	idx, err := g.clashes()
	if err != nil {
		return err
	}
	return idx.check(n, n.Raw)
}

// ValidateModuleList checks the module names chosen for a new project, as
// typed: the whole check (see validateModules), for the wizard's inline
// validation and for Validate.
func (g *Generator) ValidateModuleList(mods []string) error {
	return g.validateModules(mods, nil)
}

// validateModules checks module names as typed, against each other and
// against existing (the modules a project already has, canonical): each
// name's own rules (ValidateModuleName), no two the same Go package, and
// everything the templates derive from it valid and free: Go identifiers
// (CheckModuleNames), SQL identifiers, tables and indexes, and routes (see
// sqlIndex). Errors quote the name as typed.
func (g *Generator) validateModules(mods, existing []string) error {
	idx, err := g.clashes()
	if err != nil {
		return err
	}
	pkgs := map[string]string{}      // Go package → module name
	relations := map[string]string{} // SQL relation → module name
	for _, m := range existing {
		n := ModuleNames(m)
		pkgs[n.Package] = m
		for _, rel := range idx.sql.moduleRelations(strings.NewReplacer(nameForms(idx.probe, n)...)) {
			relations[rel] = m
		}
	}
	for _, m := range mods {
		if err := ValidateModuleName(m); err != nil {
			return err
		}
		n := ModuleNames(m)
		if prev, ok := pkgs[n.Package]; ok {
			if slices.Contains(existing, prev) {
				return invalid("module name", m, fmt.Sprintf("already exists in this project (as %s, package internal/modules/%s); choose another name", prev, n.Package))
			}
			return invalid("module name", m, fmt.Sprintf("collides with module %q: both become package internal/modules/%s", prev, n.Package))
		}
		pkgs[n.Package] = m
		if err := idx.check(n, m); err != nil {
			return err
		}
		if err := idx.sql.check(idx.probe, n, m, relations); err != nil {
			return err
		}
	}
	return nil
}

// clashEntry caches the index of one pair of parsed template trees.
type clashEntry struct {
	once sync.Once
	idx  *clashIndex
	err  error
}

type clashKey struct{ project, module *TemplateSet }

var clashCache sync.Map // clashKey → *clashEntry

// clashIndexBuilds counts the index builds (a test checks the cache).
var clashIndexBuilds atomic.Int64

func (g *Generator) clashes() (*clashIndex, error) {
	if err := g.Parse(); err != nil {
		return nil, err
	}
	v, _ := clashCache.LoadOrStore(clashKey{g.project, g.module}, &clashEntry{})
	e := v.(*clashEntry)
	e.once.Do(func() {
		var ok bool
		if e.idx, ok, e.err = unmarshalClashIndex(shippedClashIndex, treesDigest(g.project, g.module)); ok || e.err != nil {
			return
		}
		clashIndexBuilds.Add(1)
		e.idx, e.err = buildClashIndex(g.project, g.module)
	})
	return e.idx, e.err
}

// clash is one reason a generated identifier cannot take a name.
type clash struct {
	file string // generated path, with the probe's names in it
	line int
	kind int // clashDeclared, clashShadowed or clashShadows
}

const (
	clashDeclared = iota // declared again in the same scope
	clashShadowed        // an inner declaration would hide it where it is used
	clashShadows         // it would hide an outer identifier used there
)

// clashIndex holds, for each identifier built from the probe's names, the
// names it must not become.
type clashIndex struct {
	probe     Names
	forbidden map[string]map[string]clash // probe identifier → name → where
	// probeDecls are the probe identifiers' declarations by package, to catch
	// two of them becoming the same name.
	probeDecls map[string][]string // package key → probe identifiers
	order      []string            // probe identifiers, in a fixed order
	sql        *sqlIndex           // what the SQL and routes reserve
}

// forms returns the probe's name forms that appear in identifiers, each
// paired with n's form, longest first.
func nameForms(probe, n Names) []string {
	return []string{
		probe.Package, n.Package,
		probe.TypePlural, n.TypePlural,
		probe.VarPlural, n.VarPlural,
		probe.Type, n.Type,
		probe.Var, n.Var,
		probe.Table, n.Table,
		probe.Singular, n.Singular,
	}
}

func (x *clashIndex) isProbe(name string) bool {
	f := nameForms(x.probe, x.probe)
	for i := 0; i < len(f); i += 2 {
		if strings.Contains(name, f[i]) {
			return true
		}
	}
	return false
}

// check checks n, typed as raw, against the forbidden names.
func (x *clashIndex) check(n Names, raw string) error {
	rep := strings.NewReplacer(nameForms(x.probe, n)...)
	for _, p := range x.order {
		c := rep.Replace(p)
		if cl, ok := x.forbidden[p][c]; ok {
			return invalid("module name", raw, x.reason(n, p, c, cl))
		}
	}
	for _, pkg := range slices.Sorted(maps.Keys(x.probeDecls)) {
		seen := map[string]string{}
		for _, p := range x.probeDecls[pkg] {
			c := rep.Replace(p)
			if q, ok := seen[c]; ok && q != p {
				return invalid("module name", raw, fmt.Sprintf("would make two generated identifiers both %q; choose another name", c))
			}
			seen[c] = p
		}
	}
	return nil
}

func (x *clashIndex) reason(n Names, p, c string, cl clash) string {
	what := fmt.Sprintf("generated Go identifier %q", c)
	switch p {
	case x.probe.Package:
		what = fmt.Sprintf("Go package name %q", c)
	case x.probe.Type:
		what = fmt.Sprintf("Go type name %q", c)
	}
	file := strings.ReplaceAll(cl.file, x.probe.Package, n.Package)
	how := "clashes with the identifier %s declared in"
	switch cl.kind {
	case clashShadowed:
		how = "would be shadowed by the identifier %s declared in"
	case clashShadows:
		how = "would shadow the identifier %s used in"
	}
	return fmt.Sprintf("would not compile: its %s "+how+" the generated %s:%d; choose another name", what, c, file, cl.line)
}

// Scope analysis of the generated Go files.

const (
	levelPackage = iota // package block
	levelFile           // file block: imports
	levelLocal          // function and inner blocks (rank grows with depth)
)

type cDecl struct {
	name  string
	pkg   string // package key: directory and package clause name
	file  string // generated path
	scope string // scope key; package and file blocks conflict with each other
	rank  int    // levelPackage, levelFile, or levelLocal+depth
	from  token.Pos
	to    token.Pos // locals: visible in [from, to]
	pos   token.Pos
}

type cUse struct {
	name string
	pkg  string
	file string
	pos  token.Pos
}

type scopeWalker struct {
	fset   *token.FileSet
	pkg    string
	file   string
	decls  []*cDecl
	uses   []cUse
	nextID int
}

type blk struct {
	key   string
	depth int
	end   token.Pos
}

func (w *scopeWalker) newBlock(parent blk, end token.Pos) blk {
	w.nextID++
	return blk{key: fmt.Sprintf("%s#%d", w.file, w.nextID), depth: parent.depth + 1, end: end}
}

func (w *scopeWalker) declare(id *ast.Ident, b blk, from token.Pos) {
	if id == nil || id.Name == "_" {
		return
	}
	w.decls = append(w.decls, &cDecl{name: id.Name, pkg: w.pkg, file: w.file, scope: b.key, rank: levelLocal + b.depth, from: from, to: b.end, pos: id.Pos()})
}

// declareMember declares a field or method name: members have no uses we
// can resolve without types, only duplicates.
func (w *scopeWalker) declareMember(id *ast.Ident, key string) {
	if id == nil || id.Name == "_" {
		return
	}
	w.decls = append(w.decls, &cDecl{name: id.Name, pkg: w.pkg, file: w.file, scope: key, rank: -1, pos: id.Pos()})
}

func (w *scopeWalker) use(id *ast.Ident) {
	if id != nil && id.Name != "_" {
		w.uses = append(w.uses, cUse{name: id.Name, pkg: w.pkg, file: w.file, pos: id.Pos()})
	}
}

var versionElem = regexp.MustCompile(`^v[0-9]+$`)

func importName(spec *ast.ImportSpec) string {
	if spec.Name != nil {
		return spec.Name.Name
	}
	p, err := strconv.Unquote(spec.Path.Value)
	if err != nil {
		return ""
	}
	elems := strings.Split(p, "/")
	name := elems[len(elems)-1]
	if versionElem.MatchString(name) && len(elems) > 1 {
		name = elems[len(elems)-2]
	}
	if i := strings.Index(name, ".v"); i > 0 {
		name = name[:i]
	}
	return strings.ReplaceAll(name, "-", "")
}

func (w *scopeWalker) walkFile(f *ast.File) {
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.ImportSpec:
					name := importName(s)
					if name == "" || name == "_" || name == "." {
						continue
					}
					w.decls = append(w.decls, &cDecl{name: name, pkg: w.pkg, file: w.file, scope: "file:" + w.file, rank: levelFile, pos: s.Pos()})
				case *ast.ValueSpec:
					for _, id := range s.Names {
						if id.Name != "_" {
							w.decls = append(w.decls, &cDecl{name: id.Name, pkg: w.pkg, file: w.file, scope: "pkg:" + w.pkg, rank: levelPackage, pos: id.Pos()})
						}
					}
				case *ast.TypeSpec:
					w.decls = append(w.decls, &cDecl{name: s.Name.Name, pkg: w.pkg, file: w.file, scope: "pkg:" + w.pkg, rank: levelPackage, pos: s.Name.Pos()})
				}
			}
		case *ast.FuncDecl:
			if d.Recv == nil && d.Name.Name != "init" && d.Name.Name != "_" {
				w.decls = append(w.decls, &cDecl{name: d.Name.Name, pkg: w.pkg, file: w.file, scope: "pkg:" + w.pkg, rank: levelPackage, pos: d.Name.Pos()})
			}
		}
	}
	top := blk{key: "pkg:" + w.pkg, depth: 0}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.ValueSpec:
					w.expr(s.Type, top)
					for _, v := range s.Values {
						w.expr(v, top)
					}
				case *ast.TypeSpec:
					b := top
					if s.TypeParams != nil {
						b = w.newBlock(top, s.End())
						w.fieldList(s.TypeParams, top, b, s.Pos())
					}
					w.typeExpr(s.Type, b, "sel:"+w.pkg+":"+s.Name.Name)
				}
			}
		case *ast.FuncDecl:
			if d.Recv != nil && len(d.Recv.List) > 0 {
				w.declareMember(d.Name, "sel:"+w.pkg+":"+recvTypeName(d.Recv.List[0].Type))
			}
			end := d.End()
			b := w.newBlock(top, end)
			from := d.Type.End()
			if d.Body != nil {
				from = d.Body.Lbrace
			}
			if d.Recv != nil {
				w.fieldList(d.Recv, top, b, from)
			}
			w.funcType(d.Type, top, b, from)
			if d.Body != nil {
				w.stmts(d.Body.List, b)
			}
		}
	}
}

func recvTypeName(e ast.Expr) string {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.ParenExpr:
			e = t.X
		case *ast.Ident:
			return t.Name
		default:
			return ""
		}
	}
}

// fieldList declares the names of a parameter list in b (visible from from)
// and walks their types in outer.
func (w *scopeWalker) fieldList(fl *ast.FieldList, outer, b blk, from token.Pos) {
	if fl == nil {
		return
	}
	for _, f := range fl.List {
		w.expr(f.Type, outer)
		for _, id := range f.Names {
			w.declare(id, b, from)
		}
	}
}

func (w *scopeWalker) funcType(ft *ast.FuncType, outer, b blk, from token.Pos) {
	w.fieldList(ft.TypeParams, outer, b, from)
	w.fieldList(ft.Params, outer, b, from)
	w.fieldList(ft.Results, outer, b, from)
}

// typeExpr walks a type, declaring struct fields and interface methods in
// the member scope key (a fresh one for anonymous types).
func (w *scopeWalker) typeExpr(e ast.Expr, b blk, key string) {
	switch t := e.(type) {
	case *ast.StructType:
		for _, f := range t.Fields.List {
			w.expr(f.Type, b)
			for _, id := range f.Names {
				w.declareMember(id, key)
			}
			if len(f.Names) == 0 {
				if name := recvTypeName(f.Type); name != "" {
					w.declareMember(&ast.Ident{Name: name, NamePos: f.Type.Pos()}, key)
				} else if sel, ok := f.Type.(*ast.SelectorExpr); ok {
					w.declareMember(sel.Sel, key)
				} else if st, ok := f.Type.(*ast.StarExpr); ok {
					if sel, ok := st.X.(*ast.SelectorExpr); ok {
						w.declareMember(sel.Sel, key)
					}
				}
			}
		}
	case *ast.InterfaceType:
		for _, f := range t.Methods.List {
			if ft, ok := f.Type.(*ast.FuncType); ok && len(f.Names) > 0 {
				for _, id := range f.Names {
					w.declareMember(id, key)
				}
				w.funcType(ft, b, w.newBlock(b, f.End()), f.End())
				continue
			}
			w.expr(f.Type, b)
		}
	default:
		w.expr(e, b)
	}
}

func (w *scopeWalker) expr(e ast.Expr, b blk) {
	if e == nil {
		return
	}
	switch e := e.(type) {
	case *ast.Ident:
		w.use(e)
	case *ast.SelectorExpr:
		w.expr(e.X, b)
	case *ast.FuncLit:
		fb := w.newBlock(b, e.End())
		w.funcType(e.Type, b, fb, e.Body.Lbrace)
		w.stmts(e.Body.List, fb)
	case *ast.FuncType:
		w.funcType(e, b, w.newBlock(b, e.End()), e.End())
	case *ast.StructType, *ast.InterfaceType:
		w.nextID++
		w.typeExpr(e, b, fmt.Sprintf("anon:%s#%d", w.file, w.nextID))
	case *ast.CompositeLit:
		w.expr(e.Type, b)
		for _, el := range e.Elts {
			if kv, ok := el.(*ast.KeyValueExpr); ok {
				if _, isIdent := kv.Key.(*ast.Ident); !isIdent {
					w.expr(kv.Key, b)
				}
				// An identifier key is a struct field name (or, rarely, a
				// map key); fields are not in any scope.
				w.expr(kv.Value, b)
				continue
			}
			w.expr(el, b)
		}
	case *ast.KeyValueExpr:
		w.expr(e.Key, b)
		w.expr(e.Value, b)
	default:
		ast.Inspect(e, func(n ast.Node) bool {
			if n == e {
				return true
			}
			if x, ok := n.(ast.Expr); ok {
				w.expr(x, b)
				return false
			}
			return true
		})
	}
}

func (w *scopeWalker) stmts(list []ast.Stmt, b blk) {
	for _, s := range list {
		w.stmt(s, b)
	}
}

func (w *scopeWalker) stmt(s ast.Stmt, b blk) {
	if s == nil {
		return
	}
	switch s := s.(type) {
	case *ast.BlockStmt:
		nb := w.newBlock(b, s.Rbrace)
		w.stmts(s.List, nb)
	case *ast.AssignStmt:
		for _, r := range s.Rhs {
			w.expr(r, b)
		}
		for _, l := range s.Lhs {
			id, ok := l.(*ast.Ident)
			if s.Tok == token.DEFINE && ok {
				if w.declaredIn(id.Name, b) {
					w.use(id)
				} else {
					w.declare(id, b, s.End())
				}
				continue
			}
			w.expr(l, b)
		}
	case *ast.DeclStmt:
		gd, ok := s.Decl.(*ast.GenDecl)
		if !ok {
			return
		}
		for _, sp := range gd.Specs {
			switch sp := sp.(type) {
			case *ast.ValueSpec:
				w.expr(sp.Type, b)
				for _, v := range sp.Values {
					w.expr(v, b)
				}
				for _, id := range sp.Names {
					w.declare(id, b, sp.End())
				}
			case *ast.TypeSpec:
				w.declare(sp.Name, b, sp.Name.Pos())
				w.nextID++
				w.typeExpr(sp.Type, b, fmt.Sprintf("anon:%s#%d", w.file, w.nextID))
			}
		}
	case *ast.LabeledStmt:
		w.stmt(s.Stmt, b)
	case *ast.BranchStmt:
	case *ast.IfStmt:
		ib := w.newBlock(b, s.End())
		w.stmt(s.Init, ib)
		w.expr(s.Cond, ib)
		w.stmt(s.Body, ib)
		w.stmt(s.Else, ib)
	case *ast.ForStmt:
		ib := w.newBlock(b, s.End())
		w.stmt(s.Init, ib)
		w.expr(s.Cond, ib)
		w.stmt(s.Post, ib)
		w.stmt(s.Body, ib)
	case *ast.RangeStmt:
		w.expr(s.X, b)
		ib := w.newBlock(b, s.End())
		for _, e := range []ast.Expr{s.Key, s.Value} {
			if id, ok := e.(*ast.Ident); ok && s.Tok == token.DEFINE {
				w.declare(id, ib, s.Body.Lbrace)
			} else {
				w.expr(e, b)
			}
		}
		w.stmt(s.Body, ib)
	case *ast.SwitchStmt:
		ib := w.newBlock(b, s.End())
		w.stmt(s.Init, ib)
		w.expr(s.Tag, ib)
		w.clauses(s.Body, ib, nil)
	case *ast.TypeSwitchStmt:
		ib := w.newBlock(b, s.End())
		w.stmt(s.Init, ib)
		var sym *ast.Ident
		switch a := s.Assign.(type) {
		case *ast.AssignStmt:
			if id, ok := a.Lhs[0].(*ast.Ident); ok {
				sym = id
			}
			for _, r := range a.Rhs {
				w.expr(r, ib)
			}
		case *ast.ExprStmt:
			w.expr(a.X, ib)
		}
		w.clauses(s.Body, ib, sym)
	case *ast.SelectStmt:
		w.clauses(s.Body, b, nil)
	case *ast.CaseClause, *ast.CommClause:
		w.clauses(&ast.BlockStmt{List: []ast.Stmt{s}}, b, nil)
	default:
		ast.Inspect(s, func(n ast.Node) bool {
			if n == s {
				return true
			}
			switch n := n.(type) {
			case ast.Expr:
				w.expr(n, b)
				return false
			case ast.Stmt:
				w.stmt(n, b)
				return false
			}
			return true
		})
	}
}

func (w *scopeWalker) clauses(body *ast.BlockStmt, b blk, sym *ast.Ident) {
	for _, c := range body.List {
		switch c := c.(type) {
		case *ast.CaseClause:
			for _, e := range c.List {
				w.expr(e, b)
			}
			cb := w.newBlock(b, c.End())
			if sym != nil {
				w.declare(sym, cb, c.Colon)
			}
			w.stmts(c.Body, cb)
		case *ast.CommClause:
			cb := w.newBlock(b, c.End())
			w.stmt(c.Comm, cb)
			w.stmts(c.Body, cb)
		}
	}
}

func (w *scopeWalker) declaredIn(name string, b blk) bool {
	for _, d := range w.decls {
		if d.scope == b.key && d.name == name {
			return true
		}
	}
	return false
}

// buildClashIndex renders both trees for the probe module and computes, for
// each identifier built from the probe's names, the names it must not take.
// The trees are rendered once per variant of the backend answers, so the
// files of every choice (each session store, queue, CI provider) are checked.
func buildClashIndex(project, module *TemplateSet) (*clashIndex, error) {
	probe := ModuleNames(clashProbeRaw)
	x := &clashIndex{probe: probe, forbidden: map[string]map[string]clash{}, probeDecls: map[string][]string{}, sql: newSQLIndex()}
	for _, answers := range backendVariants() {
		pd := ProjectData{Name: "clashcheck", Module: "example.com/clashcheck", GoVersion: GoVersion, CI: answers.CI, Sessions: answers.Sessions, Queue: answers.Queue, Modules: []Names{probe}}
		files, err := project.Render(pd)
		if err != nil {
			return nil, fmt.Errorf("module name check: %w", err)
		}
		alloc, _ := Allocations(nil).allocate([]string{probe.Raw}, module.migrationKeys(), 1)
		mfiles, err := module.Render(newModuleData(pd, probe, alloc[probe.Raw]))
		if err != nil {
			return nil, fmt.Errorf("module name check: %w", err)
		}
		if err := x.analyze(mergeFiles(files, mfiles)); err != nil {
			return nil, err
		}
		x.sql.analyze(probe, files, mfiles)
	}
	if len(x.order) == 0 || x.forbidden[probe.Package] == nil && x.forbidden[probe.Type] == nil {
		return nil, fmt.Errorf("module name check: the probe module's identifiers were not found in the generated code")
	}
	return x, nil
}

// backendVariants returns answer sets in which every choice of every backend
// appears at least once: variant i takes each backend's choice i, or its
// last when it has fewer.
func backendVariants() []Answers {
	n := 0
	for _, b := range Backends {
		n = max(n, len(b.Choices))
	}
	variants := make([]Answers, n)
	for i := range variants {
		for _, b := range Backends {
			b.Set(&variants[i], b.Choices[min(i, len(b.Choices)-1)].Value)
		}
	}
	return variants
}

// analyze adds what the generated files forbid to x.
func (x *clashIndex) analyze(files []File) error {
	fset := token.NewFileSet()
	var decls []*cDecl
	var uses []cUse
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".go") {
			continue
		}
		af, err := parser.ParseFile(fset, f.Path, f.Content, parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("module name check: generated %s: %w", f.Path, err)
		}
		w := &scopeWalker{fset: fset, pkg: path.Dir(f.Path) + ":" + af.Name.Name, file: f.Path}
		w.walkFile(af)
		decls = append(decls, w.decls...)
		uses = append(uses, w.uses...)
	}

	// Only packages holding a probe identifier matter.
	relevant := map[string]bool{}
	for _, d := range decls {
		if x.isProbe(d.name) {
			relevant[d.pkg] = true
		}
	}
	byPkgDecls := map[string][]*cDecl{}
	for _, d := range decls {
		if relevant[d.pkg] {
			byPkgDecls[d.pkg] = append(byPkgDecls[d.pkg], d)
		}
	}
	byPkgUses := map[string][]cUse{}
	for _, u := range uses {
		if relevant[u.pkg] {
			byPkgUses[u.pkg] = append(byPkgUses[u.pkg], u)
		}
	}

	visible := func(d *cDecl, u cUse) bool {
		switch {
		case d.pkg != u.pkg || d.rank < 0:
			return false
		case d.rank == levelPackage:
			return true
		case d.rank == levelFile:
			return d.file == u.file
		}
		return d.file == u.file && d.from <= u.pos && u.pos <= d.to
	}
	// resolve returns the declaration u refers to, nil for the universe.
	resolve := func(u cUse) *cDecl {
		var best *cDecl
		for _, d := range byPkgDecls[u.pkg] {
			if d.name == u.name && visible(d, u) && (best == nil || d.rank > best.rank) {
				best = d
			}
		}
		return best
	}
	conflicts := func(a, b *cDecl) bool {
		if a.pkg != b.pkg || a == b {
			return false
		}
		if a.scope == b.scope {
			return true
		}
		// The package block and the file blocks of a package share names.
		fa, fb := a.rank == levelFile, b.rank == levelFile
		pa, pb := a.rank == levelPackage, b.rank == levelPackage
		return (pa && fb) || (fa && pb)
	}
	rank := func(d *cDecl) int {
		if d == nil {
			return -1
		}
		return d.rank
	}
	line := func(p token.Pos) int { return fset.Position(p).Line }
	forbid := func(p, name string, cl clash) {
		if x.isProbe(name) {
			return
		}
		m := x.forbidden[p]
		if m == nil {
			m = map[string]clash{}
			x.forbidden[p] = m
		}
		if _, ok := m[name]; !ok {
			m[name] = cl
		}
	}

	for _, pkg := range slices.Sorted(maps.Keys(byPkgDecls)) {
		pdecls, puses := byPkgDecls[pkg], byPkgUses[pkg]
		resolved := make([]*cDecl, len(puses))
		for i, u := range puses {
			resolved[i] = resolve(u)
		}
		for _, d := range pdecls {
			if !x.isProbe(d.name) {
				continue
			}
			p := d.name
			if !slices.Contains(x.order, p) {
				x.order = append(x.order, p)
			}
			if d.rank >= 0 {
				x.probeDecls[pkg] = append(x.probeDecls[pkg], p)
			}
			// Declared twice in one scope.
			for _, e := range pdecls {
				if conflicts(d, e) {
					forbid(p, e.name, clash{file: e.file, line: line(e.pos), kind: clashDeclared})
				}
			}
			if d.rank < 0 {
				continue
			}
			for i, u := range puses {
				if resolved[i] == d {
					// A use of d would be captured by an inner declaration.
					for _, e := range pdecls {
						if e.rank > d.rank && visible(e, u) {
							forbid(p, e.name, clash{file: e.file, line: line(e.pos), kind: clashShadowed})
						}
					}
				} else if !x.isProbe(u.name) && visible(d, u) && d.rank > rank(resolved[i]) {
					// d would capture a use of an outer identifier.
					forbid(p, u.name, clash{file: u.file, line: line(u.pos), kind: clashShadows})
				}
			}
		}
	}
	return nil
}
