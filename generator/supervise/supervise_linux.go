//go:build linux

package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// init turns the process into a supervisor when saasgen started it as one;
// it never returns then.
func init() {
	if os.Getenv(envSupervisor) == "1" {
		os.Exit(supervisorMain(os.Args[1:]))
	}
}

// command starts the supervisor (this executable again) running name with
// args. saasgen's cancel is SIGINT to the supervisor; its death is SIGTERM
// (the parent-death signal).
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		return direct(ctx, name, args...)
	}
	cmd := exec.CommandContext(ctx, exe, append([]string{name}, args...)...)
	cmd.Env = append(childEnv(), envSupervisor+"=1", envParent+"="+strconv.Itoa(os.Getpid()))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	return cmd
}

// prSetChildSubreaper is prctl's PR_SET_CHILD_SUBREAPER.
const prSetChildSubreaper = 36

// supervisorMain runs args[0] with args[1:] in a process group of its own and
// returns its exit code once it and every descendant are gone.
func supervisorMain(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "saasgen supervisor: no command")
		return 2
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		fmt.Fprintf(os.Stderr, "saasgen supervisor: becoming a subreaper: %v\n", e)
		return 1
	}
	parent, _ := strconv.Atoi(os.Getenv(envParent))
	if os.Getppid() != parent {
		return 1 // saasgen died before the parent-death signal was armed
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "saasgen supervisor: %v\n", err)
		return 127
	}
	group := cmd.Process.Pid
	done := make(chan int, 1)
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			done <- 0
		case errors.As(err, &ee) && ee.ExitCode() >= 0:
			done <- ee.ExitCode()
		default:
			done <- 1
		}
	}()
	code := -1
	for code < 0 {
		select {
		case code = <-done:
		case sig := <-sigs:
			// SIGTERM is the parent-death signal; a thread of saasgen
			// ending can raise it too, so it counts only when saasgen is
			// really gone. SIGINT is saasgen's cancel.
			if sig == syscall.SIGTERM && os.Getppid() == parent {
				continue
			}
			syscall.Kill(-group, syscall.SIGKILL)
			<-done
			code = 130
		}
	}
	killDescendants(group)
	return code
}

// killDescendants kills the command's process group and every process
// reparented to the supervisor, and reaps them all.
func killDescendants(group int) {
	self := os.Getpid()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		syscall.Kill(-group, syscall.SIGKILL)
		children := childrenOf(self)
		for _, pid := range children {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		// Reap whatever has exited; ECHILD means nothing is left.
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if errors.Is(err, syscall.ECHILD) {
				if len(childrenOf(self)) == 0 {
					return
				}
				break
			}
			if err != nil && !errors.Is(err, syscall.EINTR) || pid == 0 {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) > 1 {
			if ppid, err := strconv.Atoi(fields[1]); err == nil && ppid == pid {
				out = append(out, child)
			}
		}
	}
	return out
}
