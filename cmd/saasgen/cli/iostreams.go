package cli

import (
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are the command's standard streams and what is known about them,
// so every command can be tested with buffers and a fake terminal.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	StdinTTY  bool
	StdoutTTY bool
	StderrTTY bool // progress is drawn on stderr
	// Getenv reads the environment (CI, NO_COLOR, ACCESSIBLE, TERM).
	Getenv func(string) string
}

// System returns the process's streams.
func System() *IOStreams {
	return &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		StdinTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		StdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		StderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
		Getenv:    os.Getenv,
	}
}

// CanPrompt reports whether questions may be asked: stdin and stdout are
// terminals and CI is not set.
func (s *IOStreams) CanPrompt() bool {
	return s.StdinTTY && s.StdoutTTY && !truthy(s.Getenv("CI"))
}

// Accessible reports whether forms should ask line by line (screen readers,
// dumb terminals).
func (s *IOStreams) Accessible() bool {
	return truthy(s.Getenv("ACCESSIBLE")) || s.Getenv("TERM") == "dumb"
}

func truthy(v string) bool {
	switch v {
	case "", "0", "false", "FALSE", "False", "no":
		return false
	}
	return true
}
