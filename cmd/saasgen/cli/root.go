// Package cli holds saasgen's cobra commands. Commands only parse flags into
// an options struct and call a run function; the work is done by package
// generator, which knows nothing of terminals.
package cli

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/saasgen/saasgen/generator"
	"github.com/saasgen/saasgen/templates"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitFailed   = 1   // a step failed: verification, git, I/O
	ExitBadInput = 2   // bad input or usage; nothing was written
	ExitCanceled = 130 // interrupted (Ctrl-C, SIGTERM); see each command for what is kept
)

// usageError is a command-line usage problem (unknown flag, wrong number of
// arguments): exit 2 like an *generator.InputError.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// errCanceled is returned when the user cancels a form or interrupts a run
// before anything was written (or after it was all rolled back).
var errCanceled = errors.New("canceled: nothing was written")

// errInterrupted is returned when a run that changes nothing (verify) is
// interrupted.
var errInterrupted = errors.New("interrupted")

// Execute runs saasgen with args and returns the exit code. Nothing below it
// calls os.Exit.
func Execute(ctx context.Context, args []string, streams *IOStreams, version string) int {
	root := newRootCmd(streams, version)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if strings.HasPrefix(err.Error(), "unknown command ") { // cobra has no typed error for it
		err = &usageError{err}
	}
	// A flag or argument error stops cobra before the command runs; a --json
	// run still gets its one JSON document.
	var ue *usageError
	if errors.As(err, &ue) && wantsJSON(args) {
		writeJSON(streams.Out, jsonResult{OK: false, Error: err.Error()})
	}
	code := exitCode(ctx, err)
	if !errors.Is(err, errSilent) {
		fmt.Fprintf(streams.ErrOut, "saasgen: %v\n", err)
	}
	return code
}

// errSilent marks an error whose message the command already printed.
var errSilent = errors.New("already reported")

type silentError struct {
	err  error
	code int
}

func (e *silentError) Error() string { return e.err.Error() }
func (e *silentError) Unwrap() []error {
	return []error{e.err, errSilent}
}

// wantsJSON reports whether --json is among the flags of args.
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "--json=true", "--json=1":
			return true
		}
	}
	return false
}

func exitCode(ctx context.Context, err error) int {
	var se *silentError
	var ue *usageError
	switch {
	case errors.As(err, &se):
		return se.code
	case errors.Is(err, errCanceled), errors.Is(err, errInterrupted), errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return ExitCanceled
	case generator.IsInputError(err), errors.As(err, &ue):
		return ExitBadInput
	}
	return ExitFailed
}

func newRootCmd(streams *IOStreams, version string) *cobra.Command {
	root := &cobra.Command{
		Use:   "saasgen",
		Short: "Create SaaS backends in Go that are built for 100x their launch size",
		Long: `saasgen creates a new SaaS backend in Go that already avoids the traps that hurt
SaaS products as they grow — tenancy enforced by Postgres row-level security,
module boundaries the compiler enforces, a sized connection pool that works behind
PgBouncer, configuration from the environment, an index on every foreign key —
then proves the result builds, vets and passes its own tests, and keeps growing it
with 'saasgen add module'.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetVersionTemplate("saasgen {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{fmt.Errorf("%w\nRun '%s --help' for usage.", err, c.CommandPath())}
	})

	gen := &generator.Generator{Templates: templates.FS, Version: version}
	root.AddCommand(
		newNewCmd(streams, gen, nil),
		newAddCmd(streams, gen, nil),
		newVerifyCmd(streams, nil),
		newUpgradeCmd(streams, gen, nil),
		newVersionCmd(streams, version),
	)
	return root
}

func newVersionCmd(streams *IOStreams, version string) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print saasgen's version",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(streams.Out, "saasgen %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

// noArgs and friends turn cobra's argument errors into usage errors (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	return asUsage(cobra.NoArgs(cmd, args))
}

func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		return asUsage(cobra.MaximumNArgs(n)(cmd, args))
	}
}

func asUsage(err error) error {
	if err == nil {
		return nil
	}
	return &usageError{err}
}
