package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/saasgen/saasgen/generator"
)

// enumFlag is a string flag restricted to generator choices: it validates in
// Set (with the same rule the answers file and wizard use) and completes in
// the shell with each value's description.
type enumFlag struct {
	name    string
	value   *string
	choices []generator.Choice
}

func (f *enumFlag) String() string { return *f.value }
func (f *enumFlag) Type() string   { return strings.Join(generator.ChoiceValues(f.choices), "|") }
func (f *enumFlag) Set(v string) error {
	if err := generator.ValidateChoice("--"+f.name, v, f.choices); err != nil {
		return err
	}
	*f.value = v
	return nil
}

func (f *enumFlag) complete(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	out := make([]string, len(f.choices))
	for i, c := range f.choices {
		out[i] = c.Value + "\t" + c.Description
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// addEnumFlag registers an enum flag and its completion on cmd.
func addEnumFlag(cmd *cobra.Command, value *string, name string, choices []generator.Choice, usage string) {
	f := &enumFlag{name: name, value: value, choices: choices}
	cmd.Flags().Var(f, name, usage+" ("+strings.Join(generator.ChoiceValues(choices), ", ")+")")
	_ = cmd.RegisterFlagCompletionFunc(name, f.complete)
}
