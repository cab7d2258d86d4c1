package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/saasgen/saasgen/generator"
)

type verifyOptions struct {
	io   *IOStreams
	dir  string
	json bool
}

func newVerifyCmd(streams *IOStreams, runF func(*verifyOptions) error) *cobra.Command {
	o := &verifyOptions{io: streams}
	cmd := &cobra.Command{
		Use:   "verify [DIR]",
		Short: "Build, vet and test a generated project",
		Long: `Run go build ./..., go vet ./... and go test ./... in a generated project (the
one containing DIR, default the current directory), each reported with its time.
This is the check 'saasgen new' and 'saasgen add module' run.

Tests that need PostgreSQL run when TEST_DATABASE_URL is set; skipped tests are
listed with the command that runs them. With TEST_REQUIRE_SERVICES=1 the
generated tests fail instead of skipping.`,
		Example: `  saasgen verify
  saasgen verify ./acme --json
  ` + generator.ServicesHint,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.dir = "."
			if len(args) == 1 {
				o.dir = args[0]
			}
			if runF != nil {
				return runF(o)
			}
			return withJSONFailure(streams.Out, o.json, verifyRun(cmd, o))
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print the report as one JSON document on stdout")
	return cmd
}

func verifyRun(cmd *cobra.Command, o *verifyOptions) error {
	root, err := generator.FindProject(o.dir)
	if err != nil {
		return err
	}
	rep, err := generator.Verify(cmd.Context(), root, o.io.progress())
	if o.json {
		return printJSON(cmd.Context(), o.io.Out, rep, err)
	}
	fmt.Fprintf(o.io.Out, "Verification of %s:\n", root)
	rep.WriteText(o.io.Out)
	var ve *generator.VerifyError
	if errors.As(err, &ve) {
		return &silentError{err: err, code: ExitFailed}
	}
	if err != nil && cmd.Context().Err() != nil {
		return errInterrupted
	}
	return err
}
