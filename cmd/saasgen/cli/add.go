package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/saasgen/saasgen/generator"
)

type addModuleOptions struct {
	io   *IOStreams
	gen  *generator.Generator
	opts generator.AddOptions
	json bool
}

func newAddCmd(streams *IOStreams, gen *generator.Generator, runF func(*addModuleOptions) error) *cobra.Command {
	add := &cobra.Command{
		Use:   "add",
		Short: "Add something to a generated project",
		Args:  noArgs,
	}
	o := &addModuleOptions{io: streams, gen: gen}
	mod := &cobra.Command{
		Use:   "module NAME",
		Short: "Add a bounded domain module, wired in and tested like the first ones",
		Long: `Add internal/modules/<package>/ to the generated project containing the current
directory (or --dir): its migration (numbered after every existing migration,
hand-written ones included), store, service, HTTP routes and tests; list it in the
saasgen-owned internal/app/modules.go and in saasgen.yaml; then verify the project.

Names: "order_items" and "order-items" name the same module: Go package orderitems,
table order_items, routes /api/v1/order-items, type OrderItem.

The project is the one whose go.mod is nearest above the directory, with
saasgen.yaml beside it; a Go module without saasgen.yaml is refused. Its root is
printed first. The project is locked while the command runs: a second saasgen
command in it waits.

Files saasgen owns are rewritten only when they are exactly as saasgen generated
them; if one was edited by hand the command refuses and changes nothing. Files are
written as one transaction, kept open until verification passes: an error or
Ctrl-C leaves the project as it was, and after a kill the next saasgen command in
the project rolls the change back. When verification fails the files are kept
(so you can fix them) unless --rollback.`,
		Example: `  saasgen add module billing
  saasgen add module order-items --commit
  saasgen add module invoices --dry-run --json`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.opts.Name = args[0]
			}
			if runF != nil {
				return runF(o)
			}
			return withJSONFailure(streams.Out, o.json, addModuleRun(cmd, o))
		},
	}
	f := mod.Flags()
	f.StringVar(&o.opts.Dir, "dir", ".", "a directory inside the project")
	f.BoolVar(&o.opts.SkipVerify, "skip-verify", false, "do not build, vet and test the project afterwards")
	f.BoolVar(&o.opts.DryRun, "dry-run", false, "print the files that would be added or changed and write nothing")
	f.BoolVar(&o.opts.Commit, "commit", false, "commit the change with git (after a successful verification)")
	f.BoolVar(&o.opts.Rollback, "rollback", false, "undo every change when verification fails")
	f.BoolVar(&o.json, "json", false, "print one JSON document with the result on stdout")
	_ = mod.MarkFlagDirname("dir")
	add.AddCommand(mod)
	return add
}

func addModuleRun(cmd *cobra.Command, o *addModuleOptions) error {
	if err := o.gen.Parse(); err != nil {
		return fmt.Errorf("saasgen's own templates are broken (please report this): %w", err)
	}
	if o.opts.Name == "" {
		if !o.io.CanPrompt() {
			return &generator.InputError{Field: "module name", Reason: "is required: saasgen add module NAME (e.g. billing, order_items)"}
		}
		name, err := askModuleName(cmd.Context(), o.io, o.gen, o.opts.Dir)
		if err != nil {
			return err
		}
		o.opts.Name = name
	}
	o.gen.Progress = o.io.progress()
	res, err := o.gen.AddModule(cmd.Context(), o.opts)
	if res == nil {
		return canceledOr(cmd.Context(), err)
	}
	if o.json {
		return printJSON(cmd.Context(), o.io.Out, res, err)
	}
	w := o.io.Out
	printNotes(o.io, res.Notes)
	verb := "Added"
	if res.DryRun {
		verb = "Would add"
	}
	fmt.Fprintf(w, "Project %s\n", res.Root)
	fmt.Fprintf(w, "%s module %s (package %s, table %s, routes /api/v1/%s, migration %05d):\n",
		verb, res.Module.Raw, res.Module.Package, res.Module.Table, res.Module.Route, res.Migration)
	for _, p := range res.Added {
		fmt.Fprintf(w, "  + %s\n", p)
	}
	for _, p := range res.Changed {
		fmt.Fprintf(w, "  ~ %s\n", p)
	}
	if res.Verify != nil {
		fmt.Fprintf(w, "Verification of %s:\n", res.Root)
		res.Verify.WriteText(w)
	}
	var ve *generator.VerifyError
	switch {
	case errors.As(err, &ve) && res.RolledBack:
		fmt.Fprintf(o.io.ErrOut, "saasgen: %v\nEvery change was rolled back (--rollback): the project is as it was.\n", err)
		return &silentError{err: err, code: ExitFailed}
	case errors.As(err, &ve):
		fmt.Fprintf(o.io.ErrOut, "saasgen: %v\nThe module's files were kept so you can fix them; 'git status' lists them, and 'saasgen verify' checks again.\n", err)
		return &silentError{err: err, code: ExitFailed}
	case err != nil:
		return err
	}
	if res.Commit != "" {
		fmt.Fprintf(w, "Committed %s.\n", res.Commit[:12])
	}
	return nil
}
