package generator

import (
	"fmt"
	"go/scanner"
	"go/token"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Module names are checked against the SQL and the routes the templates
// derive from them, the way CheckModuleNames checks Go identifiers: the
// trees rendered for the probe module (every backend variant) are searched
// for the relations they create (CREATE TABLE, INDEX, SEQUENCE, VIEW, TYPE)
// and the routes they register, and each name's own relations (its table,
// its derived child tables such as <singular>_notes, their indexes) must be
// valid PostgreSQL identifiers that no keyword blocks, no longer than
// PostgreSQL keeps, and taken by nothing else: the platform, a library, or
// another module.

// pgKeywords are PostgreSQL's key words that cannot name a table: the
// reserved ones (category R of pg_get_keywords()) and those that can only
// name a function or a type (category T: left, join, inner, ...). Column-name
// (C) and unreserved (U) key words can name a table, and are accepted. A test
// compares this list with the real server's pg_get_keywords(); system_user
// is reserved from PostgreSQL 16 on.
var pgKeywords = toSet(`
all analyse analyze and any array as asc asymmetric both case cast check collate column
constraint create current_catalog current_date current_role current_time current_timestamp
current_user default deferrable desc distinct do else end except false fetch for foreign from
grant group having in initially intersect into lateral leading limit localtime localtimestamp
not null offset on only or order placing primary references returning select session_user
some symmetric system_user table then to trailing true union unique user using variadic when
where window with
authorization binary collation concurrently cross current_schema freeze full ilike inner is
isnull join left like natural notnull outer overlaps right similar tablesample verbose`)

// maxIdentifier is the longest identifier PostgreSQL keeps (NAMEDATALEN-1
// bytes); a longer one is silently truncated, so two could become one.
const maxIdentifier = 63

// libraryRelations are relations the generated project's libraries create
// or expect in its database, which no template names: goose's version table
// (the templates also name it; listed for clarity), the session table of
// scs's pgxstore (sessions=postgres), and River's tables (queue=river), all
// of which begin with river_. The lead extends this list when a library is
// added.
var libraryRelations = map[string]string{
	"goose_db_version": "goose's migration version table",
	"sessions":         "the session store's table (scs pgxstore)",
}

// libraryPrefixes are relation name prefixes libraries own.
var libraryPrefixes = map[string]string{
	"river_": "River's job queue tables (river_job, river_queue, ...)",
	"pg_":    "PostgreSQL's system catalogs (pg_catalog is searched first, so a pg_ table would be hidden)",
}

// platformRoutes are the first segments under /api/v1/ of the platform's
// route families, named for the message a refused module name gets. The
// templates' own registrations are found by the analysis (see
// sqlIndex.analyze) whether or not they are listed here; this list names
// them better than the file where the analysis finds them, and covers a
// route built from parts the analysis cannot read as one string.
var platformRoutes = map[string]string{
	"me":      "the identity endpoints (/api/v1/me)",
	"tenants": "the tenant endpoints (/api/v1/tenants)",
	"jobs":    "the job status endpoint (/api/v1/jobs/{id})",
	"files":   "the file endpoints (/api/v1/files)",
}

var (
	createRE = regexp.MustCompile(`CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|SEQUENCE|VIEW|MATERIALIZED\s+VIEW|TYPE)\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?([a-z_][a-z0-9_]*)\b`)
	identRE  = regexp.MustCompile(`[a-z_][a-z0-9_]*`)
	routeRE  = regexp.MustCompile(`^(?:[A-Z]+ )?/api/v1/([a-z0-9_-]+)`)
)

// sqlIndex is what the rendered templates reserve in SQL and in routes.
type sqlIndex struct {
	// platform maps each relation the project tree (or a library) creates
	// to where: the generated file.
	platform map[string]string
	// relations are the relations the module tree creates, with the probe's
	// name forms in them; idents are every SQL identifier of the module's
	// migrations built from those forms (relations included).
	relations []string
	idents    []string
	// routes maps the first path segment of every platform route under
	// /api/v1/ to where it is registered.
	routes map[string]string
}

func newSQLIndex() *sqlIndex {
	s := &sqlIndex{platform: map[string]string{}, routes: maps.Clone(platformRoutes)}
	for rel, why := range libraryRelations {
		s.platform[rel] = why
	}
	return s
}

// analyze adds what one rendered variant reserves: project holds the
// project tree's files, module the probe module's.
func (s *sqlIndex) analyze(probe Names, project, module []File) {
	isProbe := func(name string) bool {
		f := nameForms(probe, probe)
		for i := 0; i < len(f); i += 2 {
			if strings.Contains(name, f[i]) {
				return true
			}
		}
		return false
	}
	for _, f := range project {
		var texts []string // SQL files whole; Go files' string literals only
		switch {
		case strings.HasSuffix(f.Path, ".sql"):
			texts = []string{string(f.Content)}
		case strings.HasSuffix(f.Path, ".go"):
			texts = goStrings(f.Content)
		}
		for _, text := range texts {
			for _, m := range createRE.FindAllStringSubmatch(text, -1) {
				if rel := m[1]; !isProbe(rel) {
					if _, ok := s.platform[rel]; !ok {
						s.platform[rel] = "a table of the platform (" + f.Path + ")"
					}
				}
			}
			if strings.HasSuffix(f.Path, "_test.go") {
				continue
			}
			if m := routeRE.FindStringSubmatch(text); m != nil && !isProbe(m[1]) {
				if _, ok := s.routes[m[1]]; !ok {
					s.routes[m[1]] = "a platform route (" + f.Path + ")"
				}
			}
		}
	}
	for _, f := range module {
		for _, m := range createRE.FindAllSubmatch(f.Content, -1) {
			if rel := string(m[1]); isProbe(rel) && !slices.Contains(s.relations, rel) {
				s.relations = append(s.relations, rel)
			}
		}
		if strings.HasSuffix(f.Path, ".sql") {
			for _, id := range identRE.FindAll(f.Content, -1) {
				if ident := string(id); isProbe(ident) && !slices.Contains(s.idents, ident) {
					s.idents = append(s.idents, ident)
				}
			}
		}
	}
}

// goStrings returns the string literals of a Go file, unquoted: routes and
// SQL live there, never in comments.
func goStrings(src []byte) []string {
	var sc scanner.Scanner
	fset := token.NewFileSet()
	sc.Init(fset.AddFile("", -1, len(src)), src, nil, 0)
	var out []string
	for {
		_, tok, lit := sc.Scan()
		if tok == token.EOF {
			return out
		}
		if tok == token.STRING {
			if s, err := strconv.Unquote(lit); err == nil {
				out = append(out, s)
			}
		}
	}
}

// moduleRelations returns the relations module n creates.
func (s *sqlIndex) moduleRelations(rep *strings.Replacer) []string {
	out := make([]string, len(s.relations))
	for i, r := range s.relations {
		out[i] = rep.Replace(r)
	}
	return out
}

// check reports whether module n's SQL identifiers are valid and its
// relations and route free. taken maps the relations of the other modules
// (of the project, or chosen with it) to the module that creates each;
// n's own relations are added to it when n is accepted.
func (s *sqlIndex) check(probe, n Names, raw string, taken map[string]string) error {
	rep := strings.NewReplacer(nameForms(probe, n)...)
	for _, p := range s.idents {
		id := rep.Replace(p)
		if pgKeywords[id] {
			return invalid("module name", raw, fmt.Sprintf("would not work in SQL: its identifier %q is a PostgreSQL key word that cannot name a table; choose another name", id))
		}
		if len(id) > maxIdentifier {
			return invalid("module name", raw, fmt.Sprintf("is too long for SQL: its identifier %q would be %d bytes, and PostgreSQL keeps %d; choose a shorter name", id, len(id), maxIdentifier))
		}
	}
	if why, ok := s.routes[n.Route]; ok {
		return invalid("module name", raw, fmt.Sprintf("would take the route /api/v1/%s, which is %s; choose another name", n.Route, why))
	}
	rels := s.moduleRelations(rep)
	for _, rel := range rels {
		if why, ok := s.platform[rel]; ok {
			return invalid("module name", raw, fmt.Sprintf("would create the relation %q, which is %s; choose another name", rel, why))
		}
		for prefix, why := range libraryPrefixes {
			if strings.HasPrefix(rel, prefix) {
				return invalid("module name", raw, fmt.Sprintf("would create the relation %q; the prefix %s is reserved for %s; choose another name", rel, prefix, why))
			}
		}
		if other, ok := taken[rel]; ok && other != raw {
			return invalid("module name", raw, fmt.Sprintf("would create the table or index %q, which module %q creates too; choose another name", rel, other))
		}
	}
	for _, rel := range rels {
		taken[rel] = raw
	}
	return nil
}
