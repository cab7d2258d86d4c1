package generator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// AddOptions are the inputs of `saasgen add module`.
type AddOptions struct {
	Dir        string // any directory inside the project
	Name       string // module name, e.g. billing or order-items
	SkipVerify bool
	DryRun     bool
	Commit     bool // commit the change with go-git
	Rollback   bool // undo the change when verification fails
}

// AddResult is what `saasgen add module` did (or, with DryRun, would do).
type AddResult struct {
	Root       string   `json:"root"`
	Module     Names    `json:"module"`
	Migration  int      `json:"migration"`
	Added      []string `json:"added"`
	Changed    []string `json:"changed"`
	DryRun     bool     `json:"dry_run"`
	RolledBack bool     `json:"rolled_back"`
	Commit     string   `json:"commit,omitempty"`
	Verify     *Report  `json:"verification,omitempty"`
}

// AddModule adds a domain module to the generated project containing
// opts.Dir: the module tree rendered with the next free migration version,
// and every saasgen-owned file that depends on the module list (the
// composition root's module list and saasgen.yaml) re-rendered. Owned files
// are rewritten only when they are still exactly what saasgen generated;
// otherwise the command refuses and changes nothing. All files land as one
// transaction: an error or interrupt leaves the project as it was. A failed
// verification keeps the files (and says so) unless opts.Rollback is set.
func (g *Generator) AddModule(ctx context.Context, opts AddOptions) (*AddResult, error) {
	root, err := FindProject(opts.Dir)
	if err != nil {
		return nil, err
	}
	man, err := ReadManifest(root, g.Version)
	if err != nil {
		return nil, err
	}
	if err := ValidateModuleName(opts.Name); err != nil {
		return nil, err
	}
	names := ModuleNames(opts.Name)
	raw := names.Raw
	if err := validateModuleList([]string{raw}, man.Modules); err != nil {
		return nil, invalid("module name", opts.Name, "already exists in this project ("+strings.TrimPrefix(err.Error(), "module name ")+")")
	}
	if err := g.CheckModuleNames(names); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "modules", names.Package)); err == nil {
		return nil, invalid("module name", opts.Name, "already exists: internal/modules/"+names.Package+" is in the project (not listed in "+ManifestFile+"); choose another name")
	}
	if opts.Commit && !opts.DryRun {
		if err := CheckGitRepo(root); err != nil {
			return nil, err
		}
	}
	if err := g.Parse(); err != nil {
		return nil, err
	}

	before := man.Answers
	after := before
	after.Modules = append(slices.Clone(before.Modules), raw)
	owned, err := g.ownedChanges(root, man, after)
	if err != nil {
		return nil, err
	}
	paths, err := projectFiles(root)
	if err != nil {
		return nil, err
	}
	data := newModuleData(g.projectData(after), names, NextMigration(paths))
	modFiles, err := g.module.Render(data)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", raw, err)
	}
	res := &AddResult{Root: root, Module: names, Migration: data.Migration, DryRun: opts.DryRun}
	for _, f := range modFiles {
		if _, err := os.Lstat(filepath.Join(root, filepath.FromSlash(f.Path))); err == nil {
			return nil, invalid("module name", opts.Name, "would overwrite "+f.Path+", which already exists; choose another name")
		}
		res.Added = append(res.Added, f.Path)
	}
	for _, f := range owned {
		res.Changed = append(res.Changed, f.Path)
	}
	if opts.DryRun {
		return res, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	var tx *FileTx
	if err := g.Progress.step("write module "+names.Package, func() (err error) {
		tx, err = WriteFiles(root, append(modFiles, owned...))
		return err
	}); err != nil {
		return nil, err
	}
	if !opts.SkipVerify {
		res.Verify, err = Verify(ctx, root, g.Progress)
		var ve *VerifyError
		switch {
		case ctx.Err() != nil:
			return nil, errors.Join(ctx.Err(), tx.Rollback())
		case errors.As(err, &ve) && opts.Rollback:
			res.RolledBack = true
			return res, errors.Join(err, tx.Rollback())
		case err != nil:
			return res, errors.Join(err, tx.Commit())
		}
	}
	if err := tx.Commit(); err != nil {
		return res, err
	}
	if opts.Commit {
		res.Commit, err = GitCommitPaths(root, fmt.Sprintf("Add module %s with saasgen %s", raw, g.Version), append(slices.Clone(res.Added), res.Changed...))
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// ownedChanges renders the project with the answers before and after the
// change and returns the files whose content changes, with saasgen.yaml
// updated (answers and the hashes of the owned files). Each changed file must
// still be as saasgen last wrote it, or the user has edited a file saasgen
// owns and the change is refused. "As saasgen last wrote it" is the hash
// recorded in saasgen.yaml, so a newer saasgen whose templates render the
// file differently still recognises an untouched file; manifests without
// hashes fall back to comparing with the current templates' render.
func (g *Generator) ownedChanges(root string, man *Manifest, after Answers) ([]File, error) {
	oldFiles, err := g.project.Render(g.projectData(man.Answers))
	if err != nil {
		return nil, err
	}
	newFiles, err := g.project.Render(g.projectData(after))
	if err != nil {
		return nil, err
	}
	old := map[string][]byte{}
	for _, f := range oldFiles {
		old[f.Path] = f.Content
	}
	var changed []File
	for _, f := range newFiles {
		if prev, existed := old[f.Path]; !existed || !bytes.Equal(prev, f.Content) {
			changed = append(changed, f)
		}
	}
	newMan := *man
	newMan.Answers = after
	newMan.Owned = maps.Clone(man.Owned)
	for _, f := range changed {
		onDisk, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.Path)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		untouched := bytes.Equal(onDisk, old[f.Path])
		if want, ok := man.Owned[f.Path]; ok {
			untouched = err == nil && contentHash(onDisk) == want
		}
		if !untouched {
			return nil, invalid("file", f.Path,
				"was changed by hand, and saasgen owns it (it lists the modules); nothing was changed. "+
					"Move your edits out of it (e.g. into internal/app/app.go), restore it with 'git checkout -- "+f.Path+"', and run the command again")
		}
		if isOwned(f.Content) {
			if newMan.Owned == nil {
				newMan.Owned = map[string]string{}
			}
			newMan.Owned[f.Path] = contentHash(f.Content)
		}
	}
	return append(changed, File{Path: ManifestFile, Content: newMan.Marshal(), Mode: 0o644}), nil
}

// projectFiles lists the project's files as slash paths relative to root,
// skipping .git and other hidden directories.
func projectFiles(root string) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			paths = append(paths, filepath.ToSlash(rel))
		}
		return nil
	})
	return paths, err
}
