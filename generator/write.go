package generator

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// CheckTarget refuses a target directory saasgen must not write into: an
// existing file, a path it cannot inspect, or a directory holding anything
// but a .git without force. It runs before anything is rendered or written.
func CheckTarget(dir string, force bool) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return invalid("target directory", dir, "cannot be used: "+pathProblem(err)+"; choose another --dir")
	}
	if !fi.IsDir() {
		return invalid("target directory", dir, "exists and is not a directory; choose another --dir")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return invalid("target directory", dir, "cannot be read: "+pathProblem(err)+"; choose another --dir")
	}
	if !isEmptyTarget(entries) && !force {
		return invalid("target directory", dir, "exists and is not empty; choose another --dir, empty it, or pass --force to write over the files saasgen generates (other files are kept)")
	}
	return nil
}

// isEmptyTarget reports whether a directory's entries leave it free for a
// new project: nothing, or only a git repository (git init, then saasgen new).
func isEmptyTarget(entries []fs.DirEntry) bool {
	return len(entries) == 0 || len(entries) == 1 && entries[0].Name() == ".git"
}

// pathProblem is the operating system's complaint about a path, without the
// path (the message names it already).
func pathProblem(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// CheckOverwrites refuses, before anything is written, files that cannot land
// in root: a generated file whose path is an existing directory, or whose
// parent is an existing file.
func CheckOverwrites(root string, files []File) error {
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			return invalid("target directory", root, "has a directory where saasgen writes the file "+f.Path+"; move it away or choose another --dir")
		}
		for d := filepath.Dir(p); len(d) > len(root); d = filepath.Dir(d) {
			if fi, err := os.Stat(d); err == nil && !fi.IsDir() {
				rel, _ := filepath.Rel(root, d)
				return invalid("target directory", root, "has a file "+filepath.ToSlash(rel)+" where saasgen needs a directory for "+f.Path+"; move it away or choose another --dir")
			}
		}
	}
	return nil
}

// WriteNew lands files as the new tree dir. When dir does not exist the whole
// tree is written into a hidden staging directory beside it and moved into
// place with one rename, so an error or interrupt leaves no partial tree. When
// dir exists (empty, holding only .git, or non-empty with --force; possibly
// a symlink or a mount point, which are kept as they are) the files are
// written into it as one transaction: every file or none.
func WriteNew(files []File, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err == nil {
		tx, err := WriteFiles(abs, files)
		if err != nil {
			return err
		}
		return tx.Commit()
	}
	parent := filepath.Dir(abs)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", parent, err)
	}
	stage, err := os.MkdirTemp(parent, ".saasgen-stage-*")
	if err != nil {
		return fmt.Errorf("creating staging directory: %w", err)
	}
	landed := false
	defer func() {
		if !landed {
			os.RemoveAll(stage)
		}
	}()
	if err := os.Chmod(stage, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(stage, filepath.FromSlash(f.Path)), f); err != nil {
			return err
		}
	}
	if err := os.Rename(stage, abs); err != nil {
		return fmt.Errorf("moving the generated tree into place: %w", err)
	}
	landed = true
	return nil
}

func writeFile(path string, f File) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, f.Content, f.Mode); err != nil {
		return err
	}
	return os.Chmod(path, f.Mode) // WriteFile's mode is filtered by umask
}

// FileTx is a set of files written into an existing tree that can still be
// undone: Commit keeps them, Rollback restores the tree as it was.
type FileTx struct {
	root    string
	applied []applied
	dirs    []string // directories created, deepest last
	done    bool
}

type applied struct {
	path   string
	backup string // "" when the file did not exist before
}

// WriteFiles writes files into root as one transaction. Each file is first
// written beside its target, then every target is swapped in by rename, the
// old content kept as a backup until Commit. On error everything is undone.
func WriteFiles(root string, files []File) (*FileTx, error) {
	tx := &FileTx{root: root}
	temps := make([]string, 0, len(files))
	cleanTemps := func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}
	for _, f := range files {
		target := filepath.Join(root, filepath.FromSlash(f.Path))
		if err := tx.mkdirs(filepath.Dir(target)); err != nil {
			cleanTemps()
			tx.Rollback()
			return nil, err
		}
		tmp := target + ".saasgen-new"
		if err := writeFile(tmp, f); err != nil {
			cleanTemps()
			tx.Rollback()
			return nil, fmt.Errorf("writing %s: %w", f.Path, err)
		}
		temps = append(temps, tmp)
	}
	for i, f := range files {
		target := filepath.Join(root, filepath.FromSlash(f.Path))
		a := applied{path: target}
		if _, err := os.Lstat(target); err == nil {
			a.backup = target + ".saasgen-old"
			if err := os.Rename(target, a.backup); err != nil {
				cleanTemps()
				tx.Rollback()
				return nil, fmt.Errorf("replacing %s: %w", f.Path, err)
			}
		}
		if err := os.Rename(temps[i], target); err != nil {
			if a.backup != "" {
				os.Rename(a.backup, target)
			}
			cleanTemps()
			tx.Rollback()
			return nil, fmt.Errorf("replacing %s: %w", f.Path, err)
		}
		tx.applied = append(tx.applied, a)
	}
	return tx, nil
}

func (tx *FileTx) mkdirs(dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
		if d == tx.root || d == filepath.Dir(d) {
			break
		}
	}
	slices.Reverse(missing)
	for _, d := range missing {
		if err := os.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
		tx.dirs = append(tx.dirs, d)
	}
	return nil
}

// Commit makes the transaction's files permanent and drops the backups.
func (tx *FileTx) Commit() error {
	if tx.done {
		return nil
	}
	tx.done = true
	var errs []error
	for _, a := range tx.applied {
		if a.backup != "" {
			errs = append(errs, os.Remove(a.backup))
		}
	}
	return errors.Join(errs...)
}

// Rollback restores every replaced file, removes every added file and every
// directory the transaction created.
func (tx *FileTx) Rollback() error {
	if tx.done {
		return nil
	}
	tx.done = true
	var errs []error
	for i := len(tx.applied) - 1; i >= 0; i-- {
		a := tx.applied[i]
		if a.backup != "" {
			errs = append(errs, os.Rename(a.backup, a.path))
		} else {
			errs = append(errs, os.Remove(a.path))
		}
	}
	for i := len(tx.dirs) - 1; i >= 0; i-- {
		errs = append(errs, os.Remove(tx.dirs[i]))
	}
	return errors.Join(errs...)
}
