package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/saasgen/saasgen/generator"
)

// enumFlag is the flag of a generator backend (--ci, --sessions, --queue):
// restricted to the backend's choices, it validates in Set (with the same
// rule the answers file and wizard use), writes straight into the answers it
// fills, and completes in the shell with each value's description.
type enumFlag struct {
	backend generator.Backend
	answers *generator.Answers
}

func (f *enumFlag) String() string { return f.backend.Get(f.answers) }
func (f *enumFlag) Type() string {
	return strings.Join(generator.ChoiceValues(f.backend.Choices), "|")
}

func (f *enumFlag) Set(v string) error {
	if err := generator.ValidateChoice("--"+f.backend.Key, v, f.backend.Choices); err != nil {
		return err
	}
	f.backend.Set(f.answers, v)
	return nil
}

func (f *enumFlag) complete(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	out := make([]string, len(f.backend.Choices))
	for i, c := range f.backend.Choices {
		out[i] = c.Value + "\t" + c.Description
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// addEnumFlag registers the flag of backend b, filling answers, and its
// completion on cmd.
func addEnumFlag(cmd *cobra.Command, b generator.Backend, answers *generator.Answers) {
	f := &enumFlag{backend: b, answers: answers}
	cmd.Flags().Var(f, b.Key, b.Question+" ("+strings.Join(generator.ChoiceValues(b.Choices), ", ")+")")
	_ = cmd.RegisterFlagCompletionFunc(b.Key, f.complete)
}
