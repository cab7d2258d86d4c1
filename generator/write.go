package generator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/saasgen/saasgen/generator/fsx"
)

// File is one rendered file of a generated tree (see fsx.File).
type File = fsx.File

// FileTx is a set of files written into an existing tree that can still be
// undone (see fsx.Tx).
type FileTx = fsx.Tx

// CheckTarget refuses a target directory saasgen must not write into: an
// existing file, a dangling symbolic link, a path it cannot inspect, or a
// directory holding anything but a .git without force. It runs before
// anything is rendered or written. A symbolic link to a directory is a
// directory.
func CheckTarget(dir string, force bool) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if lfi, lerr := os.Lstat(dir); lerr == nil && lfi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(dir)
			return invalid("target directory", dir, "is a symbolic link to "+target+", which does not exist; create that directory, remove the link, or choose another --dir")
		}
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
// in root: a generated file whose path is an existing directory, whose parent
// is an existing file, or whose path passes through a symbolic link leading
// outside root (saasgen never writes outside the target tree).
func CheckOverwrites(root string, files []File) error {
	return writeProblem(root, fsx.Check(root, files))
}

// writeProblem turns fsx's refusals into input errors naming the tree.
func writeProblem(root string, err error) error {
	var esc *fsx.EscapeError
	var conflict *fsx.ConflictError
	switch {
	case errors.As(err, &esc):
		link := esc.Link
		if link == "" {
			link = "a component of " + esc.Path
		}
		return invalid("target directory", root, fmt.Sprintf("has %s as a symbolic link leading outside it, where saasgen writes %s; saasgen writes only inside the target: replace the link with a directory or choose another --dir", link, esc.Path))
	case errors.As(err, &conflict) && conflict.IsFile:
		return invalid("target directory", root, "has a file "+conflict.Entry+" where saasgen needs a directory for "+conflict.Path+"; move it away or choose another --dir")
	case errors.As(err, &conflict):
		return invalid("target directory", root, "has a directory where saasgen writes the file "+conflict.Path+"; move it away or choose another --dir")
	}
	return err
}

// WriteNew lands files as the tree dir, as `saasgen new --no-git
// --skip-verify` does: a new tree is staged beside dir and moved into place
// with one rename; an existing directory (empty, holding only .git, or with
// --force; possibly a symlink or a mount point, which are kept as they are)
// is filled in place as one transaction under its lock. Either way, every
// file or none.
func WriteNew(files []File, dir string) error {
	abs, err := fsx.Abs(dir)
	if err != nil {
		return err
	}
	t := &tree{root: abs, files: files}
	err = runSteps(context.Background(), nil, t, []step[tree]{
		{run: (*tree).open}, // lock an existing tree, or stage a new one
		{run: (*tree).write},
		{run: (*tree).publish},
	})
	return errors.Join(err, t.close())
}

// WriteFiles writes files into the tree at root as one transaction (see
// fsx.Begin): confined to root, journaled, undone on error. The caller holds
// the tree's lock and has recovered it (fsx.Acquire, fsx.Recover).
func WriteFiles(root string, files []File) (*FileTx, error) {
	tx, err := fsx.Begin(root, files)
	return tx, writeProblem(root, err)
}
