// Package fsx owns every write saasgen makes to disk and the rules that keep
// them safe:
//
//   - Confinement: files are written through an os.Root opened on the
//     target directory, so no path, symbolic links included, can lead a write
//     outside it (a symlinked component that leaves the tree is refused with an
//     *EscapeError before anything is written).
//   - Transactions: files written into an existing tree land as one
//     transaction (Tx) with a write-ahead journal in the tree; a run killed at
//     any moment is rolled back (or, past its commit record, completed) by the
//     next command that opens the tree (Recover).
//   - Staging: a new tree is built in a staging directory beside its target
//     and published with one rename (Stage); staging directories of dead runs
//     are recognised by name and removed (CleanStages).
//   - Durability: files and directories are fsynced before the renames that
//     publish them (a staged tree with one syncfs(2) of its file system
//     where there is one: syncing 200 files one by one costs ten times
//     more).
//   - Locking: a project lock (Lock) serializes the commands that change one
//     tree; it is an flock on the tree's directory, so a killed run can never
//     leave it stale.
package fsx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// File is one file to write: a slash-separated path relative to the tree
// root, its content and its permission bits.
type File struct {
	Path    string      // slash-separated, relative to the tree root
	Content []byte      //
	Mode    fs.FileMode // 0o644, or 0o755 for scripts
	// Remove deletes the file at Path instead (Content and Mode unused): a
	// transaction keeps it aside until its commit, so a rollback restores it.
	Remove bool
}

// step is called after every operation that changes the disk, named by
// what it did. Tests replace it to kill the process at each point in turn
// (see crash_test.go); it does nothing otherwise.
var step = func(string) {}

// EscapeError is a path whose write would leave the tree: a component of it
// is a symbolic link pointing outside (or an absolute link).
type EscapeError struct {
	Root string // the tree
	Path string // the file saasgen was to write, relative to Root
	Link string // the symlinked component, relative to Root ("" if unknown)
}

func (e *EscapeError) Error() string {
	if e.Link == "" {
		return fmt.Sprintf("writing %s would leave %s", e.Path, e.Root)
	}
	return fmt.Sprintf("writing %s would leave %s: %s is a symbolic link pointing outside it", e.Path, e.Root, e.Link)
}

// ConflictError is a path that cannot be written because the tree holds the
// wrong kind of entry there: a directory where a file goes, or a file where
// a directory is needed.
type ConflictError struct {
	Path   string // the file saasgen was to write
	Entry  string // the entry in the way, relative to the tree
	IsFile bool   // Entry is a file (where a directory is needed)
}

func (e *ConflictError) Error() string {
	if e.IsFile {
		return fmt.Sprintf("%s is a file where a directory is needed for %s", e.Entry, e.Path)
	}
	return fmt.Sprintf("%s is a directory where the file %s goes", e.Entry, e.Path)
}

// Check reports, before anything is written, why files could not land in the
// tree at dir: an *EscapeError for a symlinked component leading outside, a
// *ConflictError for an entry of the wrong kind. A dir that does not exist
// passes.
func Check(dir string, files []File) error {
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer root.Close()
	checked := map[string]bool{}
	for _, f := range files {
		if err := checkPath(root, dir, f.Path, checked); err != nil {
			return err
		}
	}
	return nil
}

// checkPath checks each component of rel in root: directories (and symlinks
// to directories inside the tree) above, anything but a directory at rel.
func checkPath(root *os.Root, dir, rel string, checked map[string]bool) error {
	parts := strings.Split(rel, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		last := i == len(parts)-1
		if !last && checked[p] {
			continue
		}
		lfi, err := root.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // the rest is created
		}
		if err != nil {
			return classify(dir, rel, p, err)
		}
		fi := lfi
		if lfi.Mode()&fs.ModeSymlink != 0 {
			// Follow it inside the tree only; Stat through the root refuses
			// a link that leaves it.
			if fi, err = root.Stat(p); err != nil {
				if errors.Is(err, fs.ErrNotExist) && last {
					return nil // a dangling link is replaced, not followed
				}
				return classify(dir, rel, p, err)
			}
		}
		switch {
		case last && fi.IsDir():
			return &ConflictError{Path: rel, Entry: p}
		case !last && !fi.IsDir():
			return &ConflictError{Path: rel, Entry: p, IsFile: true}
		}
		if !last {
			checked[p] = true
		}
	}
	return nil
}

// classify turns an os.Root error about component p of rel into an
// *EscapeError when the root refused to leave the tree.
func classify(dir, rel, p string, err error) error {
	if isEscape(err) {
		return &EscapeError{Root: dir, Path: rel, Link: p}
	}
	return fmt.Errorf("inspecting %s: %w", p, err)
}

// isEscape reports whether err is os.Root's refusal of a path that leaves
// the root ("path escapes from parent").
func isEscape(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}

// wrap turns os.Root's escape refusal while writing rel into an
// *EscapeError, and adds rel to other errors.
func wrap(dir, rel string, err error) error {
	if err == nil {
		return nil
	}
	if isEscape(err) {
		return &EscapeError{Root: dir, Path: rel}
	}
	return fmt.Errorf("writing %s: %w", rel, err)
}

// writeFile writes f at name in root (name may differ from f.Path: a
// temporary beside it), with f's mode exactly (not filtered by the umask),
// and fsyncs it.
func writeFile(root *os.Root, name string, f File) error {
	return writeFileSync(root, name, f, true)
}

// writeFileSync is writeFile, leaving the fsync to the caller when sync is
// false (a staged tree is synced whole before it is published).
func writeFileSync(root *os.Root, name string, f File, sync bool) error {
	w, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, f.Mode)
	if err != nil {
		return err
	}
	_, err = w.Write(f.Content)
	if err == nil {
		err = w.Chmod(f.Mode)
	}
	if err == nil && sync {
		err = w.Sync()
	}
	err = errors.Join(err, w.Close())
	step("write " + name)
	return err
}

// syncDir fsyncs the directory rel of root, so the entries created or
// renamed in it are durable.
func syncDir(root *os.Root, rel string) error {
	d, err := root.Open(rel)
	if err != nil {
		return err
	}
	err = d.Sync()
	step("sync " + rel)
	return errors.Join(err, d.Close())
}

// parentDirs returns the distinct parent directories of paths ("." for the
// root), each once.
func parentDirs(paths []string) []string {
	seen := map[string]bool{}
	var dirs []string
	for _, p := range paths {
		d := path.Dir(p)
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// Abs returns dir as an absolute, clean path (symlinks kept).
func Abs(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.Clean(abs), nil
}
