package cli

// runWizard asks, in a terminal, every answer not given by a flag or the
// answers file. (The full wizard lands with the wizard issue.)
func runWizard(o *newOptions) error { return nil }

// askModuleName asks for a module name in a terminal.
func askModuleName(io *IOStreams) (string, error) { return "", errCanceled }
