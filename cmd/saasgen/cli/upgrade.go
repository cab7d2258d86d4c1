package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"charm.land/huh/v2"
	"github.com/spf13/cobra"

	"github.com/saasgen/saasgen/generator"
)

type upgradeOptions struct {
	io   *IOStreams
	gen  *generator.Generator
	opts generator.UpgradeOptions
	json bool
}

func newUpgradeCmd(streams *IOStreams, gen *generator.Generator, runF func(*upgradeOptions) error) *cobra.Command {
	o := &upgradeOptions{io: streams, gen: gen}
	cmd := &cobra.Command{
		Use:   "upgrade [DIR]",
		Short: "Merge the current templates into a generated project (three-way)",
		Long: `Bring the generated project containing DIR (default the current directory) up to
this saasgen's templates, keeping its owners' work.

saasgen renders the project's recorded answers (saasgen.yaml) twice: with the
templates it was last generated or upgraded with (the base; saasgen carries every
released template tree) and with the current ones. Then, file by file:

  untouched by you               takes the new version
  changed by you only            is kept
  changed by you and saasgen     is merged; overlapping changes get git-style
                                 conflict markers, listed, and the command exits 1
  deleted by you                 stays deleted (listed)
  added by the templates         is added
  no longer in the templates     is removed if you did not change it, else kept (listed)
  owned by saasgen (modules.go)  is regenerated; a hand edit is reported
  binary, changed by both        yours is kept, the new one written beside it as
                                 FILE.saasgen-theirs

Answers the current templates need that the project never gave are asked in a
terminal; otherwise (or with --json) they take their defaults (listed); --set
key=value chooses them. saasgen.yaml then records the new
template revision, answers and migration versions.

The working tree must be clean (git status), so the upgrade's changes can be
reviewed with git diff and undone; --allow-dirty merges anyway. A project from a
newer saasgen is refused. The files land as one transaction under the project lock:
an interrupted upgrade leaves the project as it was. After a clean merge the
project is verified as 'saasgen new' does; --commit then commits the result.

Exit codes: 0 upgraded (or, with --check, current), 1 conflicts to resolve, a failed
verification, or with --check a project behind the templates, 2 bad input (nothing
written).`,
		Example: `  saasgen upgrade --check
  saasgen upgrade --dry-run
  saasgen upgrade --dry-run --json
  saasgen upgrade --set sessions=postgres --commit
  saasgen upgrade ./acme --base-revision d58b0649c9c6`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.opts.Dir = "."
			if len(args) == 1 {
				o.opts.Dir = args[0]
			}
			if runF != nil {
				return runF(o)
			}
			return withJSONFailure(streams.Out, o.json, upgradeRun(cmd, o))
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.opts.Check, "check", false, "exit 1 if the project is behind the current templates, 0 if it is current; change nothing")
	f.BoolVar(&o.opts.DryRun, "dry-run", false, "print the changes as a unified diff (with --json, the files and their outcomes) and write nothing")
	f.StringArrayVar(&o.opts.Set, "set", nil, "choose an answer, key=value (repeatable): "+backendKeys())
	f.StringVar(&o.opts.BaseRevision, "base-revision", "", "the template revision the project was last generated with, when saasgen.yaml's is wrong or unknown")
	f.BoolVar(&o.opts.AllowDirty, "allow-dirty", false, "merge into a working tree with uncommitted changes")
	f.BoolVar(&o.opts.SkipVerify, "skip-verify", false, "do not build, vet and test the project afterwards")
	f.BoolVar(&o.opts.Commit, "commit", false, "commit the result with git after a clean merge and verification")
	f.BoolVar(&o.json, "json", false, "print one JSON document with the result on stdout")
	return cmd
}

func backendKeys() string {
	keys := make([]string, len(generator.Backends))
	for i, b := range generator.Backends {
		keys[i] = b.Key
	}
	return strings.Join(keys, ", ")
}

func upgradeRun(cmd *cobra.Command, o *upgradeOptions) error {
	if err := o.gen.Parse(); err != nil {
		return fmt.Errorf("saasgen's own templates are broken (please report this): %w", err)
	}
	if o.io.CanPrompt() && !o.opts.Check && !o.json {
		if err := askNewAnswers(cmd.Context(), o); err != nil {
			return err
		}
	}
	o.gen.Progress = o.io.progress()
	res, err := o.gen.Upgrade(cmd.Context(), o.opts)
	if res == nil {
		return canceledOr(cmd.Context(), err)
	}
	var behind *generator.BehindError
	if o.json {
		return printJSON(cmd.Context(), o.io.Out, res, err)
	}
	w := o.io.Out
	printNotes(o.io, res.Notes)
	fmt.Fprintf(w, "Project %s\n", res.Root)
	if o.opts.Check {
		if errors.As(err, &behind) {
			fmt.Fprintf(w, "Behind: templates %s, this saasgen %s has %s; run saasgen upgrade.\n", res.FromRevision, res.ToVersion, res.ToRevision)
			return &silentError{err: err, code: ExitFailed}
		}
		if err == nil {
			fmt.Fprintf(w, "Current: templates %s.\n", res.ToRevision)
		}
		return err
	}
	if err != nil && len(res.Files) == 0 {
		return err
	}
	if res.DryRun {
		printUpgradeDiff(w, res)
	}
	verb := "Upgraded"
	if res.DryRun {
		verb = "Would upgrade"
	}
	fmt.Fprintf(w, "%s from templates %s (saasgen %s) to %s (saasgen %s):\n", verb, res.FromRevision, orUnknown(res.FromVersion), res.ToRevision, res.ToVersion)
	for _, k := range res.Defaulted {
		fmt.Fprintf(w, "  new answer %s: the default (choose with --set %s=VALUE)\n", k, k)
	}
	for _, f := range res.Files {
		fmt.Fprintf(w, "  %-18s %s\n", f.Outcome, f.Path)
	}
	if len(res.Files) == 0 {
		fmt.Fprintln(w, "  nothing to change")
	}
	if res.Verify != nil {
		fmt.Fprintf(w, "Verification of %s:\n", res.Root)
		res.Verify.WriteText(w)
	}
	var ce *generator.ConflictError
	var ve *generator.VerifyError
	switch {
	case errors.As(err, &ce):
		fmt.Fprintf(o.io.ErrOut, "saasgen: %v\n", err)
		return &silentError{err: err, code: ExitFailed}
	case errors.As(err, &ve):
		fmt.Fprintf(o.io.ErrOut, "saasgen: %v\nThe upgraded files were kept so you can fix them; 'git diff' shows the upgrade, 'saasgen verify' checks again.\n", err)
		return &silentError{err: err, code: ExitFailed}
	case err != nil:
		return canceledOr(cmd.Context(), err)
	}
	if res.Commit != "" {
		fmt.Fprintf(w, "Committed %s.\n", res.Commit[:12])
	}
	return nil
}

// askNewAnswers asks, in a terminal, for each answer the current templates
// need that the project never gave (and --set does not choose): a dry run
// finds them, the wizard asks each with its choices, and the answers join
// --set. When the dry run fails, nothing is asked: the upgrade itself then
// reports why.
func askNewAnswers(ctx context.Context, o *upgradeOptions) error {
	probe := o.opts
	probe.DryRun, probe.SkipVerify, probe.Commit = true, true, false
	res, err := o.gen.Upgrade(ctx, probe)
	if err != nil || res == nil || len(res.Defaulted) == 0 {
		return nil
	}
	p := newPrompter(o.io, o.gen)
	var groups []*huh.Group
	values := map[string]*string{}
	for _, key := range res.Defaulted {
		b, ok := generator.BackendByKey(key)
		if !ok {
			continue
		}
		value := b.Default
		values[key] = &value
		groups = append(groups, huh.NewGroup(p.choice(b.Question+" (new in this saasgen)", "--set "+key+"=", b.Choices, &value)))
	}
	if len(groups) == 0 {
		return nil
	}
	if err := p.run(ctx, huh.NewForm(groups...)); err != nil {
		return err
	}
	for _, key := range res.Defaulted {
		if v, ok := values[key]; ok {
			o.opts.Set = append(o.opts.Set, key+"="+*v)
		}
	}
	return nil
}

func printUpgradeDiff(w io.Writer, res *generator.UpgradeResult) {
	for _, f := range res.Files {
		if f.Diff != "" {
			io.WriteString(w, f.Diff)
		}
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
