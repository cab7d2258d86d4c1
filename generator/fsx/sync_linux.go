package fsx

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// syncTree makes everything written under dir durable: one syncfs(2) of
// its file system, which writes back every file and directory of the tree in
// one journal commit, where an fsync of each costs one commit apiece.
func syncTree(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(unix.Syncfs(int(d.Fd())), d.Close())
}
