package generator

import "context"

// PGKeywords exposes the key words refused as table names, for the test that
// compares them with the real server.
var PGKeywords = pgKeywords

// ClashIndexBuilds counts the builds of the module-name index.
var ClashIndexBuilds = &clashIndexBuilds

// RenderUnbounded renders opts as Render does but past MaxModules, for the
// benchmark showing the cost stays linear beyond the bound.
func (g *Generator) RenderUnbounded(opts Options) ([]File, error) {
	if err := g.ValidateModuleList(opts.Modules); err != nil {
		return nil, err
	}
	opts.Normalize()
	return g.render(context.Background(), opts)
}

// RenderModuleUnchecked renders module tree set for mod in project pd
// without any name check, its migrations numbered from first in the order
// of their keys (as a new project allocates them), for the tests proving
// that a refused name really does not compile.
func RenderModuleUnchecked(set *TemplateSet, pd ProjectData, mod Names, first int) ([]File, error) {
	alloc, _ := Allocations{}.allocate([]string{mod.Raw}, set.migrationKeys(), first)
	return set.Render(newModuleData(pd, mod, alloc[mod.Raw]))
}
