package cli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/saasgen/saasgen/generator"
)

// newOptions is everything `saasgen new` got from its flags; the answers
// themselves live in opts, the one generator.Options every input fills.
type newOptions struct {
	io  *IOStreams
	gen *generator.Generator

	opts       generator.Options
	configPath string
	yes        bool
	json       bool
	// given records which answers came from the argument, a flag or the
	// answers file, so the wizard does not ask them again.
	given map[string]bool
	// interactive is set when the wizard ran; the equivalent command line is
	// then printed so the run can be replayed without a terminal.
	interactive bool
}

// Answer keys, shared by flags, the answers file and the wizard; each
// generator.Backends entry is an answer too, keyed by its Key.
const (
	keyName    = "name"
	keyModule  = "module"
	keyModules = "modules"
)

func newNewCmd(streams *IOStreams, gen *generator.Generator, runF func(*newOptions) error) *cobra.Command {
	o := &newOptions{io: streams, gen: gen, opts: generator.DefaultOptions(), given: map[string]bool{}}
	var file generator.Options // flag targets; copied onto o.opts when Changed
	file = generator.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Create a new SaaS project, verify it and commit it",
		Long: `Create ./NAME (or --dir): render the project from the embedded templates in
memory, land it with one atomic move, make a git repository with a first commit,
then verify it (go build, go vet, go test).

Answers come from flags, from an answers file (--config, YAML, same keys as the
flags; flags win), or from the interactive wizard when stdin and stdout are a
terminal. With --yes, or without a terminal, or with CI set, missing answers
take their defaults and a missing NAME is an error (exit 2).

Tests of the generated project that need PostgreSQL run when TEST_DATABASE_URL is
set; otherwise the report lists them as skipped with the command that runs them.

Exit codes: 0 success, 1 a step failed (verification, git), 2 bad input (nothing
written), 130 interrupted: nothing written when interrupted before the tree
landed; interrupted during verification, the project and its first commit are
kept, unverified (run 'saasgen verify DIR').`,
		Example: `  saasgen new acme --yes
  saasgen new acme --module github.com/acme/acme --modules projects,invoices --ci github --sessions postgres --queue asynq
  saasgen new --config examples/full.yaml --yes --json
  saasgen new acme --dry-run
  TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres saasgen new acme -y`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.collect(cmd, args, file); err != nil {
				return withJSONFailure(streams.Out, o.json, err)
			}
			if runF != nil {
				return runF(o)
			}
			return withJSONFailure(streams.Out, o.json, newRun(cmd, o))
		},
	}
	f := cmd.Flags()
	f.StringVar(&file.Module, keyModule, "", "Go module path of the new project (default: the project name)")
	f.StringSliceVar(&file.Modules, keyModules, generator.DefaultModules, "domain modules to create, comma-separated; --modules= for none")
	for _, b := range generator.Backends {
		addEnumFlag(cmd, b, &file.Answers)
	}
	f.StringVar(&file.Dir, "dir", "", "directory to create (default: ./NAME)")
	f.StringVar(&o.configPath, "config", "", "YAML answers file (keys as the flags; flags win)")
	f.BoolVarP(&o.yes, "yes", "y", false, "accept defaults for every answer not given; never ask")
	f.BoolVar(&file.NoGit, "no-git", false, "do not create a git repository and first commit")
	f.BoolVar(&file.SkipVerify, "skip-verify", false, "do not build, vet and test the generated project")
	f.BoolVar(&file.DryRun, "dry-run", false, "print the files that would be written and write nothing")
	f.BoolVar(&file.Force, "force", false, "write into a non-empty directory (files saasgen generates are overwritten, others kept)")
	f.BoolVar(&o.json, "json", false, "print one JSON document with the result on stdout (progress goes to stderr)")
	f.StringVar(&file.Revision, "templates-revision", "", "render with this older template revision of saasgen's history (a project for saasgen upgrade to bring up to date)")
	_ = f.MarkHidden("templates-revision")
	_ = cmd.MarkFlagFilename("config", "yaml", "yml")
	_ = cmd.MarkFlagDirname("dir")
	return cmd
}

// collect layers the inputs onto o.opts: defaults, then the answers file,
// then flags and the NAME argument. Flags win.
func (o *newOptions) collect(cmd *cobra.Command, args []string, flags generator.Options) error {
	if o.configPath != "" {
		af, err := generator.ReadAnswersFile(o.configPath)
		if err != nil {
			return err
		}
		af.ApplyTo(&o.opts)
		given := map[string]bool{keyName: af.Name != nil, keyModule: af.Module != nil, keyModules: af.Modules != nil}
		for _, b := range generator.Backends {
			given[b.Key] = af.Backend(b.Key) != nil
		}
		for key, set := range given {
			o.given[key] = o.given[key] || set
		}
	}
	changed := cmd.Flags().Changed
	apply := func(key string, set func()) {
		if changed(key) {
			set()
			o.given[key] = true
		}
	}
	apply(keyModule, func() { o.opts.Module = flags.Module })
	for _, b := range generator.Backends {
		apply(b.Key, func() { b.Set(&o.opts.Answers, b.Get(&flags.Answers)) })
	}
	apply(keyModules, func() { o.opts.Modules = flags.Modules })
	apply("dir", func() { o.opts.Dir = flags.Dir })
	apply("no-git", func() { o.opts.NoGit = flags.NoGit })
	apply("skip-verify", func() { o.opts.SkipVerify = flags.SkipVerify })
	apply("dry-run", func() { o.opts.DryRun = flags.DryRun })
	apply("force", func() { o.opts.Force = flags.Force })
	apply("templates-revision", func() { o.opts.Revision = flags.Revision })
	if len(args) == 1 {
		o.opts.Name = args[0]
		o.given[keyName] = true
	}
	return nil
}

func newRun(cmd *cobra.Command, o *newOptions) error {
	if err := o.gen.Parse(); err != nil {
		return fmt.Errorf("saasgen's own templates are broken (please report this): %w", err)
	}
	if !o.yes && o.io.CanPrompt() {
		if err := runWizard(cmd.Context(), o); err != nil {
			return err
		}
		o.interactive = true
	}
	o.opts.Normalize() // New validates; the normalized answers are what printReplay shows
	o.gen.Progress = o.io.progress()
	res, err := o.gen.New(cmd.Context(), o.opts)
	if res == nil {
		return canceledOr(cmd.Context(), err)
	}
	if o.json {
		return printJSON(cmd.Context(), o.io.Out, res, err)
	}
	printNotes(o.io, res.Notes)
	if res.DryRun {
		fmt.Fprintf(o.io.Out, "Would create %s (%d files, nothing written):\n", res.Dir, len(res.Files))
		printTree(o.io.Out, res.Files)
		return nil
	}
	if res.Verify != nil {
		fmt.Fprintf(o.io.Out, "Verification of %s:\n", res.Dir)
		res.Verify.WriteText(o.io.Out)
	}
	if err != nil {
		var ve *generator.VerifyError
		if canceledOr(cmd.Context(), err) == errCanceled {
			fmt.Fprintf(o.io.ErrOut, "saasgen: interrupted: the project was written to %s but not verified; run 'saasgen verify %s'.\n", res.Dir, res.Dir)
			return &silentError{err: err, code: ExitCanceled}
		}
		if errors.As(err, &ve) {
			o.printReplay()
			fmt.Fprintf(o.io.ErrOut, "saasgen: %v\nThe project was written to %s; fix it and run 'saasgen verify %s'.\n", err, res.Dir, res.Dir)
			return &silentError{err: err, code: ExitFailed}
		}
		return err
	}
	o.printNextSteps(res)
	return nil
}

func (o *newOptions) printNextSteps(res *generator.Result) {
	w := o.io.Out
	fmt.Fprintf(w, "\nCreated %s (%d files", res.Dir, len(res.Files))
	if res.Commit != "" {
		fmt.Fprintf(w, ", first commit %s", res.Commit[:12])
	}
	fmt.Fprintf(w, ").\nAnswers recorded in %s/%s.\n", res.Dir, generator.ManifestFile)
	o.printReplay()
	fmt.Fprintf(w, `
Next steps (the project's README explains each):
  cd %s
  createdb -h 127.0.0.1 -U postgres %s
  cp .env.example .env      # then adjust the two database URLs
  make migrate              # migrations as the owner; creates the app role
  make run                  # http://localhost:8080/readyz
  make test-integration     # the whole suite against PostgreSQL
`, res.Dir, strings.ReplaceAll(o.opts.Name, "-", "_"))
}

// printReplay prints, after a wizard run, the command that repeats it.
func (o *newOptions) printReplay() {
	if o.interactive {
		fmt.Fprintf(o.io.Out, "\nRun the same without questions (e.g. in CI):\n  %s\n", NonInteractiveCommand(o.opts))
	}
}

// NonInteractiveCommand is the command line that repeats a run with the same
// answers and no questions.
func NonInteractiveCommand(opts generator.Options) string {
	parts := []string{"saasgen", "new", opts.Name}
	if opts.Module != opts.Name {
		parts = append(parts, "--module", shellQuote(opts.Module))
	}
	if !slices.Equal(opts.Modules, generator.DefaultModules) {
		parts = append(parts, "--modules="+shellQuote(strings.Join(opts.Modules, ",")))
	}
	for _, b := range generator.Backends {
		parts = append(parts, "--"+b.Key, b.Get(&opts.Answers))
	}
	if opts.Dir != opts.Name {
		parts = append(parts, "--dir", shellQuote(opts.Dir))
	}
	for _, f := range []struct {
		on   bool
		flag string
	}{{opts.NoGit, "--no-git"}, {opts.SkipVerify, "--skip-verify"}, {opts.Force, "--force"}} {
		if f.on {
			parts = append(parts, f.flag)
		}
	}
	return strings.Join(append(parts, "--yes"), " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./,:@+=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// printTree prints sorted slash paths as an indented tree.
func printTree(w io.Writer, paths []string) {
	var prev []string
	for _, p := range paths {
		parts := strings.Split(p, "/")
		common := 0
		for common < len(prev)-1 && common < len(parts)-1 && prev[common] == parts[common] {
			common++
		}
		for i := common; i < len(parts)-1; i++ {
			fmt.Fprintf(w, "  %s%s/\n", strings.Repeat("  ", i), parts[i])
		}
		fmt.Fprintf(w, "  %s%s\n", strings.Repeat("  ", len(parts)-1), parts[len(parts)-1])
		prev = parts
	}
}
