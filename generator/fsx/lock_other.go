//go:build !unix || solaris || illumos || aix

package fsx

import "os"

// tryLock always succeeds where flock(2) does not exist: commands are not
// serialized there (documented in the README).
func tryLock(*os.File) (bool, error) { return true, nil }
