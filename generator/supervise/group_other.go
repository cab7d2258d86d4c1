//go:build !unix

package supervise

import "os/exec"

// killGroupOnCancel keeps exec's default where there are no process groups:
// the command itself is killed when its context is cancelled.
func killGroupOnCancel(*exec.Cmd) {}
