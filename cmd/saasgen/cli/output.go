package cli

import (
	"encoding/json"
	"errors"
	"io"
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
