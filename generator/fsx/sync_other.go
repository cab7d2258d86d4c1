//go:build !linux

package fsx

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// syncTree makes everything written under dir durable: an fsync of every
// file and directory of the tree.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !(d.IsDir() || d.Type().IsRegular()) {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		return errors.Join(f.Sync(), f.Close())
	})
}
