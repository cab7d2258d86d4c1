//go:build !unix

package generator

import "os/exec"

// killGroupOnCancel keeps exec's default on systems without process groups:
// the go command itself is killed when the context is cancelled.
func killGroupOnCancel(*exec.Cmd) {}
