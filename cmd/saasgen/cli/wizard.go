package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"charm.land/lipgloss/v2"
	"golang.org/x/term"

	"github.com/saasgen/saasgen/generator"
)

// maxFormWidth caps forms on wide terminals so descriptions wrap at a
// readable length. On narrower terminals the form follows the window.
const maxFormWidth = 80

// runWizard asks, in a terminal, every answer not given by the NAME
// argument, a flag or the answers file, then shows a summary and asks for
// confirmation. Cancelling (Ctrl-C, Esc, "no", or ctx) returns errCanceled
// before anything is rendered or written. ctx matters in accessible mode,
// where Ctrl-C is a signal rather than a key while a question waits.
func runWizard(ctx context.Context, o *newOptions) error {
	if err := validateGiven(o); err != nil {
		return err
	}
	p := newPrompter(o.io, o.gen)
	if !o.given[keyName] {
		form, name := p.projectNameForm(o.opts.Name)
		if err := p.run(ctx, form); err != nil {
			return err
		}
		o.opts.Name = *name
	}
	// A taken directory is refused now, not after every other question.
	dir := o.opts.Dir
	if dir == "" {
		dir = o.opts.Name
	}
	if err := generator.CheckTarget(dir, o.opts.Force); err != nil {
		return err
	}
	if form, ans := p.answersForm(o.opts, o.given); form != nil {
		if err := p.run(ctx, form); err != nil {
			return err
		}
		ans.applyTo(&o.opts)
	}
	o.opts.Normalize()
	form, ok := p.confirmForm(o.opts)
	if err := p.run(ctx, form); err != nil {
		return err
	}
	if !*ok {
		return errCanceled
	}
	if !p.accessible && !o.json {
		// The forms ran on the alternate screen; leave a record of the
		// answers above what the run prints next (with --json the result
		// document carries them).
		fmt.Fprintf(o.io.Out, "Answers:\n  %s\n\n", strings.ReplaceAll(summaryText(o.opts), "\n", "\n  "))
	}
	return nil
}

// askModuleName asks for a module name in a terminal, for `saasgen add
// module` without NAME, with the validation the argument goes through for
// the project containing dir.
func askModuleName(ctx context.Context, streams *IOStreams, gen *generator.Generator, dir string) (string, error) {
	p := newPrompter(streams, gen)
	form, name := p.moduleNameForm(dir)
	if err := p.run(ctx, form); err != nil {
		return "", err
	}
	return *name, nil
}

// validateGiven checks the answers that will not be asked, so a bad flag or
// answers-file value fails before the first question rather than after the
// last one. It calls the functions Generator.Validate is made of; that one
// validation runs again on the whole answers after the wizard.
func validateGiven(o *newOptions) error {
	if o.given[keyName] {
		if err := generator.ValidateProjectName(o.opts.Name); err != nil {
			return err
		}
	}
	if m := o.opts.Module; o.given[keyModule] && m != "" {
		if err := generator.ValidateModulePath(m); err != nil {
			return err
		}
	}
	for _, b := range generator.Backends {
		if o.given[b.Key] {
			if err := generator.ValidateChoice("--"+b.Key, b.Get(&o.opts.Answers), b.Choices); err != nil {
				return err
			}
		}
	}
	if o.given[keyModules] {
		return o.gen.ValidateModuleList(o.opts.Modules)
	}
	return nil
}

// parseModules splits the modules answer as --modules does: names separated
// by commas, empty entries dropped; "-" (or nothing) means no modules.
// Nothing is trimmed: a name with spaces is refused, as everywhere.
func parseModules(s string) []string {
	mods := []string{}
	if s == "-" {
		return mods
	}
	for m := range strings.SplitSeq(s, ",") {
		if m != "" {
			mods = append(mods, m)
		}
	}
	return mods
}

// wizardAnswers are the wizard's text answers, applied to the options after
// the form. A question that was not asked keeps its options value.
type wizardAnswers struct {
	asked    map[string]bool
	module   string
	modules  string
	backends map[string]*string // by backend key
}

func (a *wizardAnswers) applyTo(opts *generator.Options) {
	if a.asked[keyModule] {
		opts.Module = a.module
	}
	if a.asked[keyModules] {
		opts.Modules = parseModules(a.modules)
	}
	for _, b := range generator.Backends {
		if a.asked[b.Key] {
			b.Set(&opts.Answers, *a.backends[b.Key])
		}
	}
}

// prompter builds and runs the wizard's forms on a command's streams. Every
// form is built by a method returning it with a pointer to its result, so it
// can be driven without a terminal (accessible mode reading a string).
type prompter struct {
	gen        *generator.Generator // validates module names against its templates
	in         io.Reader
	out        io.Writer
	accessible bool // ask line by line (ACCESSIBLE, TERM=dumb)
	plain      bool // no colour (NO_COLOR, or accessible)
	width      int  // terminal columns; 0 when unknown
}

func newPrompter(s *IOStreams, gen *generator.Generator) *prompter {
	p := &prompter{
		gen:        gen,
		in:         s.In,
		out:        s.Out,
		accessible: s.Accessible(),
		plain:      s.Getenv("NO_COLOR") != "" || s.Accessible(),
	}
	if f, ok := s.Out.(interface{ Fd() uintptr }); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil {
			p.width = w
		}
	}
	return p
}

// projectNameForm asks the project name, starting from def.
func (p *prompter) projectNameForm(def string) (*huh.Form, *string) {
	name := def
	return huh.NewForm(huh.NewGroup(
		p.input("Project name", "lower-case letters, digits and dashes, e.g. acme or my-saas; it names the directory and the binary",
			&name, generator.ValidateProjectName),
	)), &name
}

// moduleNameForm asks the name of a module to add to the project
// containing dir.
func (p *prompter) moduleNameForm(dir string) (*huh.Form, *string) {
	var name string
	return huh.NewForm(huh.NewGroup(
		p.input("Module name", "lower-case words separated by _ or -, e.g. billing or order_items",
			&name, func(s string) error { return p.gen.ValidateAddModule(dir, s) }),
	)), &name
}

// answersForm asks the Go module path, the initial modules and each backend
// (CI workflow, session store, job queue), each unless given. It returns a nil form when all were given.
func (p *prompter) answersForm(opts generator.Options, given map[string]bool) (*huh.Form, *wizardAnswers) {
	ans := &wizardAnswers{
		asked:    map[string]bool{},
		module:   opts.Module,
		modules:  strings.Join(opts.Modules, ","),
		backends: map[string]*string{},
	}
	if ans.module == "" {
		// The generator's default: the project name, which `go mod init`
		// accepts and NonInteractiveCommand then leaves out.
		ans.module = opts.Name
	}
	var groups []*huh.Group
	if !given[keyModule] {
		ans.asked[keyModule] = true
		example := "github.com/" + opts.Name + "/" + opts.Name
		groups = append(groups, huh.NewGroup(p.input("Go module path",
			"the import path of the project, e.g. "+example+"; the default is the project name",
			&ans.module, generator.ValidateModulePath)))
	}
	if !given[keyModules] {
		ans.asked[keyModules] = true
		groups = append(groups, huh.NewGroup(p.input("Initial modules",
			"domain modules, comma-separated, e.g. projects,billing; - for none",
			&ans.modules, func(s string) error { return p.gen.ValidateModuleList(parseModules(s)) })))
	}
	for _, b := range generator.Backends {
		value := b.Get(&opts.Answers)
		ans.backends[b.Key] = &value
		if !given[b.Key] {
			ans.asked[b.Key] = true
			groups = append(groups, huh.NewGroup(p.choice(b.Question, "--"+b.Key, b.Choices, &value)))
		}
	}
	if len(groups) == 0 {
		return nil, ans
	}
	return huh.NewForm(groups...), ans
}

// confirmForm shows every answer and asks whether to go ahead.
func (p *prompter) confirmForm(opts generator.Options) (*huh.Form, *bool) {
	ok := true
	summary := summaryText(opts)
	if !p.accessible {
		summary = escapeNote(summary)
	}
	title := "Create the project?"
	if opts.DryRun {
		title = "List the files (dry run, nothing is written)?"
	}
	return huh.NewForm(huh.NewGroup(
		huh.NewNote().Title("Summary").Description(summary),
		huh.NewConfirm().Title(title).Affirmative("Create").Negative("Cancel").Value(&ok),
	)), &ok
}

// summaryText lists every answer and what will happen next, one per line.
func summaryText(opts generator.Options) string {
	modules := "none"
	if len(opts.Modules) > 0 {
		modules = strings.Join(opts.Modules, ", ")
	}
	then := []string{"write the files"}
	if opts.DryRun {
		then = []string{"list the files, write nothing (--dry-run)"}
	} else {
		if opts.Force {
			then[0] += " (--force: into a non-empty directory)"
		}
		if !opts.NoGit {
			then = append(then, "git init and a first commit")
		}
		if !opts.SkipVerify {
			then = append(then, "go build, vet and test")
		}
	}
	rows := [][2]string{
		{"Project name", opts.Name},
		{"Go module path", opts.Module},
		{"Directory", opts.Dir},
		{"Modules", modules},
	}
	for _, b := range generator.Backends {
		rows = append(rows, [2]string{b.Question, b.Get(&opts.Answers)})
	}
	rows = append(rows, [2]string{"Then", strings.Join(then, "; ")})
	var b strings.Builder
	for i, r := range rows {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%-15s %s", r[0], r[1])
	}
	return b.String()
}

// escapeNote protects text from the markup huh's Note applies in a terminal
// (_italic_, *bold*, `code`), which would eat the underscore of order_items.
func escapeNote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `_`, `\_`, `*`, `\*`, "`", "\\`").Replace(s)
}

// input is a text question whose value starts as *value, validated with
// validate on the text as typed (nothing is trimmed, as with flags).
//
// Line by line, huh prints only the title and an empty answer keeps the
// starting value, so the hint and the default go into the title and the
// validator accepts an empty line when there is a default.
func (p *prompter) input(title, hint string, value *string, validate func(string) error) *huh.Input {
	in := huh.NewInput().Value(value)
	def := *value
	if !p.accessible {
		return in.Title(title).Description(hint).Validate(validate)
	}
	if def != "" {
		hint += "; Enter keeps " + def
	}
	return in.Title(title + " (" + hint + "):").Validate(func(s string) error {
		if s == "" && def != "" {
			return nil
		}
		return validate(s)
	})
}

// choice is a selection among generator choices for the option flag, each
// shown with the one line saying what it is for.
func (p *prompter) choice(title, flag string, choices []generator.Choice, value *string) *huh.Select[string] {
	sel := huh.NewSelect[string]().Title(title).Value(value)
	opts := make([]huh.Option[string], len(choices))
	lines := make([]string, len(choices))
	for i, c := range choices {
		lines[i] = c.Value + ": " + c.Description
		key := c.Value
		if p.accessible {
			key = lines[i] // the list is all a screen reader hears
		}
		opts[i] = huh.NewOption(key, c.Value)
	}
	if !p.accessible {
		// The descriptions go in the field's description, which wraps to
		// the form's width; option lines would be cut on narrow terminals.
		sel.Description(strings.Join(lines, "\n"))
	}
	return sel.Options(opts...).Validate(func(v string) error {
		return generator.ValidateChoice(flag, v, choices)
	})
}

// run runs form on the prompter's streams. Ctrl-C, Esc, end of input and a
// cancelled ctx all return errCanceled.
func (p *prompter) run(ctx context.Context, form *huh.Form) error {
	km := huh.NewDefaultKeyMap()
	km.Quit = key.NewBinding(key.WithKeys("ctrl+c", "esc"), key.WithHelp("esc", "cancel"))
	form = form.WithKeyMap(km).WithOutput(p.out).WithAccessible(p.accessible)
	if p.plain {
		form = form.WithTheme(huh.ThemeFunc(plainTheme))
	}
	if p.width > maxFormWidth {
		form = form.WithWidth(maxFormWidth)
	}
	if !p.accessible {
		// The alternate screen: a finished form would otherwise leave its
		// last frame (a stale question) on the screen.
		form = form.WithViewHook(func(v tea.View) tea.View {
			v.AltScreen = true
			return v
		})
		err := form.WithInput(p.in).RunWithContext(ctx)
		return formError(ctx, err)
	}
	// huh's line-by-line mode cannot be interrupted while it waits for a
	// line, so it runs aside and a cancelled ctx returns at once (the
	// process is about to exit; the read is abandoned).
	in := &lineReader{r: p.in}
	done := make(chan error, 1)
	go func() {
		// huh's line-by-line select indexes its options with what it read;
		// at end of input that is nothing and it panics. End of input is a
		// cancel; any other panic is a bug to report as such.
		defer func() {
			if r := recover(); r != nil {
				if !in.eof {
					panic(r)
				}
				done <- errCanceled
			}
		}()
		done <- form.WithInput(in).RunWithContext(ctx)
	}()
	select {
	case err := <-done:
		if err == nil && in.eof || errors.Is(err, errCanceled) {
			return errCanceled
		}
		return formError(ctx, err)
	case <-ctx.Done():
		return errCanceled
	}
}

func formError(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, huh.ErrUserAborted), ctx.Err() != nil:
		return errCanceled
	}
	return fmt.Errorf("asking questions: %w", err)
}

// lineReader feeds huh's line-by-line prompts. Each prompt scans the input
// with a new bufio.Scanner, which would swallow the answers to the later
// questions when input arrives in one chunk (a pipe, a paste, a test), so it
// hands out one byte per read. It also records end of input: huh answers
// every question left with its default then, and Ctrl-D must not mean "yes,
// create it".
type lineReader struct {
	r   io.Reader
	eof bool
}

func (l *lineReader) Read(b []byte) (int, error) {
	if len(b) > 1 {
		b = b[:1]
	}
	n, err := l.r.Read(b)
	if errors.Is(err, io.EOF) {
		l.eof = true
	}
	return n, err
}

// plainTheme is huh's base theme without any colour, for NO_COLOR and
// screen readers: the focused button is shown reversed, not coloured.
func plainTheme(isDark bool) *huh.Styles {
	t := huh.ThemeBase(isDark)
	button := lipgloss.NewStyle().Padding(0, 2).MarginRight(1)
	for _, s := range []*huh.FieldStyles{&t.Focused, &t.Blurred} {
		s.FocusedButton = button.Reverse(true)
		s.BlurredButton = button
		s.TextInput.Placeholder = lipgloss.NewStyle().Faint(true)
	}
	t.Help = help.Styles{}
	return t
}
