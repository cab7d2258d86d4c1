package generator

import (
	"errors"
	"fmt"
)

// InputError is bad input: a value the user gave (by flag, answers file,
// wizard or manifest) that saasgen refuses before it writes anything. The
// command line maps it to exit code 2.
type InputError struct {
	Field  string // what the value is for, e.g. "module name" or "--ci"
	Value  string // the value as given
	Reason string // what is wrong and what would be accepted
}

func (e *InputError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("%s %q %s", e.Field, e.Value, e.Reason)
}

func invalid(field, value, reason string) error {
	return &InputError{Field: field, Value: value, Reason: reason}
}

// IsInputError reports whether err, or an error it wraps, is an *InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}
