//go:build !linux

package supervise

import (
	"context"
	"os/exec"
)

// command runs the command in its own process group: without Linux's
// subreaper and parent-death signal, descendants that leave the group, or
// a SIGKILL of saasgen, are not covered.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return direct(ctx, name, args...)
}
