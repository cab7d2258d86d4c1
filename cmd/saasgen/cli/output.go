package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/saasgen/saasgen/generator"
)

// jsonResult is the one document --json prints on stdout.
type jsonResult struct {
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Result any    `json:"result,omitempty"`
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// withJSONFailure makes sure a --json run that fails still prints its one
// JSON document on stdout (the message also goes to stderr, and the exit
// code is unchanged). Errors whose command already printed are passed on.
func withJSONFailure(w io.Writer, enabled bool, err error) error {
	if enabled && err != nil && !errors.Is(err, errSilent) {
		writeJSON(w, jsonResult{OK: false, Error: err.Error()})
	}
	return err
}

// printJSON prints the --json document of a command that produced a result,
// whether or not it then failed, and returns the error to exit with, marked
// as already reported.
func printJSON(ctx context.Context, w io.Writer, result any, err error) error {
	out := jsonResult{OK: err == nil, Result: result}
	if err != nil {
		out.Error = err.Error()
	}
	writeJSON(w, out)
	if err != nil {
		return &silentError{err: err, code: exitCode(ctx, err)}
	}
	return nil
}

// progress returns how the streams show long steps, always on stderr: a
// spinner when stderr is a terminal, timestamped lines elsewhere (a log file,
// a CI runner, a screen reader).
func (s *IOStreams) progress() generator.Progress {
	return newProgress(s.ErrOut, s.StderrTTY && !s.Accessible())
}

// canceledOr reports an interrupted run as errCanceled (exit 130).
func canceledOr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return errCanceled
	}
	return err
}

// printNotes tells, on stderr, what a command found and cleaned up from
// interrupted runs, or otherwise did beyond its result.
func printNotes(s *IOStreams, notes []string) {
	for _, n := range notes {
		fmt.Fprintf(s.ErrOut, "saasgen: note: %s\n", n)
	}
}
