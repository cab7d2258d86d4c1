package cli

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"github.com/saasgen/saasgen/generator"
	"github.com/saasgen/saasgen/templates"
)

// accessibleStreams are terminal streams whose forms ask line by line
// (ACCESSIBLE=1), answered from input.
func accessibleStreams(input string) (*IOStreams, *bytes.Buffer) {
	var out bytes.Buffer
	env := map[string]string{"ACCESSIBLE": "1"}
	return &IOStreams{
		In:        strings.NewReader(input),
		Out:       &out,
		ErrOut:    &out,
		StdinTTY:  true,
		StdoutTTY: true,
		Getenv:    func(k string) string { return env[k] },
	}, &out
}

func wizardOptions(streams *IOStreams, given map[string]bool, set func(*generator.Options)) *newOptions {
	o := &newOptions{io: streams, gen: testGenerator, opts: generator.DefaultOptions(), given: given}
	if set != nil {
		set(&o.opts)
	}
	return o
}

func lines(ss ...string) string { return strings.Join(ss, "\n") + "\n" }

// errText is the message a validator gives for value: the wizard must show
// exactly that text, since it uses the same validators as the flags.
func errText(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		t.Fatal("expected the validator to refuse the value")
	}
	return err.Error()
}

func TestWizardAsksEveryQuestionAndRejectsInvalidAnswers(t *testing.T) {
	streams, out := accessibleStreams(lines(
		"Acme", "", "acme", // project name: upper case, empty, then valid
		"not a path!", "github.com/acme/acme", // module path
		"billing,internal", "order-items,order_items", "billing,order-items", // modules
		"4", "3", // CI: out of range, then "none"
		"2", // sessions: postgres
		"2", // queue: asynq
		"y", // confirm
	))
	o := wizardOptions(streams, map[string]bool{}, nil)
	if err := runWizard(context.Background(), o); err != nil {
		t.Fatalf("runWizard: %v\n%s", err, out)
	}

	got := o.opts
	want := generator.Answers{Name: "acme", Module: "github.com/acme/acme", CI: "none", Sessions: "postgres", Queue: "asynq", Modules: []string{"billing", "order_items"}}
	if got.Name != want.Name || got.Module != want.Module || got.CI != want.CI || got.Sessions != want.Sessions || got.Queue != want.Queue || !slices.Equal(got.Modules, want.Modules) {
		t.Errorf("answers = %+v, want %+v", got.Answers, want)
	}
	if got.Dir != "acme" {
		t.Errorf("Dir = %q, want the default acme", got.Dir)
	}

	text := out.String()
	for _, msg := range []string{
		errText(t, generator.ValidateProjectName("Acme")),
		errText(t, generator.ValidateProjectName("")),
		errText(t, generator.ValidateModulePath("not a path!")),
		errText(t, generator.ValidateModuleName("internal")),
		errText(t, testGenerator.ValidateModuleList([]string{"order-items", "order_items"})),
		"collides with module",
		"Invalid: must be a number between 1 and 3",
	} {
		if !strings.Contains(text, msg) {
			t.Errorf("output lacks the rejection %q:\n%s", msg, text)
		}
	}
	// Each refused answer is asked again: the title appears once per try.
	for title, n := range map[string]int{"Project name (": 3, "Go module path (": 2, "Initial modules (": 3} {
		if c := strings.Count("\n"+text, "\n"+title); c != n {
			t.Errorf("%q asked %d times, want %d:\n%s", title, c, n, text)
		}
	}
	for _, row := range []string{
		"Project name    acme",
		"Go module path  github.com/acme/acme",
		"Directory       acme",
		"Modules         billing, order_items",
		"CI workflow     none",
		"Then            write the files; git init and a first commit; go build, vet and test",
	} {
		if !strings.Contains(text, row) {
			t.Errorf("summary lacks %q:\n%s", row, text)
		}
	}
	if strings.Contains(text, "\x1b[") {
		t.Errorf("line-by-line output contains escape sequences:\n%q", text)
	}
}

func TestWizardDefaultsOnEnter(t *testing.T) {
	streams, out := accessibleStreams(lines("", "", "", "", "", ""))
	o := wizardOptions(streams, map[string]bool{keyName: true}, func(opts *generator.Options) { opts.Name = "acme" })
	if err := runWizard(context.Background(), o); err != nil {
		t.Fatalf("runWizard: %v\n%s", err, out)
	}
	if o.opts.Module != "acme" || o.opts.CI != "github" || o.opts.Sessions != "redis" || o.opts.Queue != "river" || !slices.Equal(o.opts.Modules, generator.DefaultModules) {
		t.Errorf("Enter everywhere gave %+v, want the generator's defaults", o.opts.Answers)
	}
	text := out.String()
	if strings.Contains(text, "Project name (") {
		t.Errorf("the project name was given but asked:\n%s", text)
	}
	if !strings.Contains(text, "Enter keeps acme") || !strings.Contains(text, "Enter keeps projects") {
		t.Errorf("line-by-line questions do not say what Enter keeps:\n%s", text)
	}
}

// TestWizardEndOfInputAtAChoiceCancels: Ctrl-D while a choice waits (line by
// line) cancels the run; it must neither crash nor take the defaults.
func TestWizardEndOfInputAtAChoiceCancels(t *testing.T) {
	streams, out := accessibleStreams(lines("", "")) // module path, modules; then end of input
	o := wizardOptions(streams, map[string]bool{keyName: true}, func(opts *generator.Options) { opts.Name = "acme" })
	if err := runWizard(context.Background(), o); !errors.Is(err, errCanceled) {
		t.Fatalf("runWizard at end of input = %v, want errCanceled\n%s", err, out)
	}
}

func TestWizardGivenAnswersAreNotAsked(t *testing.T) {
	given := map[string]bool{keyName: true, keyModule: true, keyModules: true}
	streams, out := accessibleStreams(lines("", "", "", "y"))
	o := wizardOptions(streams, given, func(opts *generator.Options) {
		opts.Name, opts.Module, opts.Modules = "acme", "example.com/acme", []string{"invoices"}
		opts.NoGit = true
	})
	if err := runWizard(context.Background(), o); err != nil {
		t.Fatalf("runWizard: %v\n%s", err, out)
	}
	text := out.String()
	for _, title := range []string{"Project name (", "Go module path (", "Initial modules ("} {
		if strings.Contains(text, title) {
			t.Errorf("%q was given but asked:\n%s", title, text)
		}
	}
	for _, s := range []string{"CI workflow", "github: " + generator.CIChoices[0].Description, "none: " + generator.CIChoices[2].Description} {
		if !strings.Contains(text, s) {
			t.Errorf("CI question lacks %q:\n%s", s, text)
		}
	}
	// The summary still lists the given answers.
	for _, row := range []string{"Go module path  example.com/acme", "Modules         invoices", "Then            write the files; go build, vet and test"} {
		if !strings.Contains(text, row) {
			t.Errorf("summary lacks %q:\n%s", row, text)
		}
	}

	// With everything given only the summary and the confirmation remain.
	all := map[string]bool{keyName: true, keyModule: true, keyModules: true}
	for _, b := range generator.Backends {
		all[b.Key] = true
	}
	streams, out = accessibleStreams(lines("y"))
	o = wizardOptions(streams, all, func(opts *generator.Options) { opts.Name = "acme" })
	if err := runWizard(context.Background(), o); err != nil {
		t.Fatalf("runWizard, all given: %v\n%s", err, out)
	}
	if strings.Contains(out.String(), "CI workflow\n") || !strings.Contains(out.String(), "Create the project?") {
		t.Errorf("all given: want only the summary and confirmation:\n%s", out)
	}
}

func TestWizardNoModules(t *testing.T) {
	streams, out := accessibleStreams(lines("", "-", "", "", "", "y"))
	o := wizardOptions(streams, map[string]bool{keyName: true}, func(opts *generator.Options) { opts.Name = "acme" })
	if err := runWizard(context.Background(), o); err != nil {
		t.Fatalf("runWizard: %v\n%s", err, out)
	}
	if len(o.opts.Modules) != 0 {
		t.Errorf("modules = %q, want none", o.opts.Modules)
	}
	if !strings.Contains(out.String(), "Modules         none") {
		t.Errorf("summary does not say there are no modules:\n%s", out)
	}
}

func TestWizardCanceled(t *testing.T) {
	for name, input := range map[string]string{
		"no at the confirmation": lines("", "", "", "", "", "n"),
		"end of input mid-form":  lines("github.com/acme/acme"),
	} {
		t.Run(name, func(t *testing.T) {
			streams, out := accessibleStreams(input)
			o := wizardOptions(streams, map[string]bool{keyName: true}, func(opts *generator.Options) { opts.Name = "acme" })
			if err := runWizard(context.Background(), o); !errors.Is(err, errCanceled) {
				t.Fatalf("runWizard = %v, want errCanceled\n%s", err, out)
			}
		})
	}
}

func TestWizardRefusesBadGivenAnswerBeforeAsking(t *testing.T) {
	streams, out := accessibleStreams("")
	o := wizardOptions(streams, map[string]bool{keyName: true}, func(opts *generator.Options) { opts.Name = "Acme" })
	err := runWizard(context.Background(), o)
	if !generator.IsInputError(err) || err.Error() != errText(t, generator.ValidateProjectName("Acme")) {
		t.Fatalf("runWizard = %v, want the project-name input error", err)
	}
	if out.Len() != 0 {
		t.Errorf("a question was asked before refusing the given name:\n%s", out)
	}
}

// The answers the wizard collects, replayed through the printed command
// line, give the same options.
func TestWizardNonInteractiveCommandReplaysAnswers(t *testing.T) {
	streams, out := accessibleStreams(lines("acme", "github.com/acme/acme", "billing,order-items", "2", "2", "2", "y"))
	o := wizardOptions(streams, map[string]bool{}, nil)
	if err := runWizard(context.Background(), o); err != nil {
		t.Fatalf("runWizard: %v\n%s", err, out)
	}
	line := NonInteractiveCommand(o.opts)
	args := strings.Fields(line)[2:] // drop "saasgen new"
	var replay *newOptions
	cmd := newNewCmd(streams, nil, func(r *newOptions) error { replay = r; return nil })
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	replay.opts.Normalize()
	if !replay.yes {
		t.Errorf("%s: does not pass --yes", line)
	}
	a, b := o.opts.Answers, replay.opts.Answers
	if a.Name != b.Name || a.Module != b.Module || a.CI != b.CI || a.Sessions != b.Sessions || a.Queue != b.Queue || !slices.Equal(a.Modules, b.Modules) {
		t.Errorf("%s\nreplays %+v, want %+v", line, b, a)
	}
}

// testGenerator validates module names against the real templates.
var testGenerator = &generator.Generator{Templates: templates.FS, Version: "dev"}

// TestAskModuleNameForm: the question validates as `add module NAME` does,
// in the project at hand: its existing modules included.
func TestAskModuleNameForm(t *testing.T) {
	opts := generator.DefaultOptions()
	opts.Name, opts.Dir, opts.NoGit, opts.SkipVerify = "acme", filepath.Join(t.TempDir(), "acme"), true, true
	if _, err := testGenerator.New(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	streams, out := accessibleStreams(lines("Billing", "int", "service", " billing", "project", "order-items"))
	name, err := askModuleName(context.Background(), streams, testGenerator, opts.Dir)
	if err != nil {
		t.Fatalf("askModuleName: %v\n%s", err, out)
	}
	if name != "order-items" {
		t.Errorf("name = %q, want order-items as typed", name)
	}
	for _, bad := range []string{"Billing", "int", "service", " billing", "project"} {
		msg := errText(t, testGenerator.ValidateAddModule(opts.Dir, bad))
		if !strings.Contains(out.String(), msg) {
			t.Errorf("output lacks %q:\n%s", msg, out)
		}
	}
	if !strings.Contains(out.String(), `module name "project" would create the table or index "project_notes", which module "projects" creates too`) {
		t.Errorf("the existing module projects is not taken into account:\n%s", out)
	}

	streams, _ = accessibleStreams("")
	if _, err := askModuleName(context.Background(), streams, testGenerator, opts.Dir); !errors.Is(err, errCanceled) {
		t.Errorf("askModuleName at end of input = %v, want errCanceled", err)
	}
}

// In a terminal, huh's Note treats _ as italic markup and drops it; the
// summary escapes it so order_items shows as typed.
func TestWizardSummaryFormKeepsUnderscores(t *testing.T) {
	opts := generator.DefaultOptions()
	opts.Name, opts.Modules = "acme", []string{"order_items"}
	opts.Normalize()
	p := &prompter{}
	form, ok := p.confirmForm(opts)
	if !*ok {
		t.Error("the confirmation does not default to yes")
	}
	// The form the wizard shows, as a terminal would draw it.
	form = form.WithWidth(80).WithHeight(30)
	form.Init()
	m, _ := form.Update(tea.WindowSizeMsg{Width: 80, Height: 30})
	view := m.(*huh.Form).View()
	if !strings.Contains(view, "Modules") || !strings.Contains(view, "order_items") {
		t.Errorf("summary note renders without the underscore:\n%q", view)
	}
}

func TestParseModules(t *testing.T) {
	for in, want := range map[string][]string{
		"":                    {},
		"-":                   {},
		"projects":            {"projects"},
		"billing,,invoices,":  {"billing", "invoices"},
		" billing, invoices ": {" billing", " invoices "}, // kept as typed, then refused
	} {
		if got := parseModules(in); !slices.Equal(got, want) {
			t.Errorf("parseModules(%q) = %q, want %q", in, got, want)
		}
	}
	if err := testGenerator.ValidateModuleList(parseModules("billing, invoices")); err == nil || !strings.Contains(err.Error(), `module name " invoices" must not contain spaces`) {
		t.Errorf("a space in the list = %v, want it refused as --modules refuses it", err)
	}
	if err := testGenerator.ValidateModuleList(generator.DefaultModules); err != nil {
		t.Errorf("the default modules are refused: %v", err)
	}
	if err := testGenerator.ValidateModuleList(nil); err != nil {
		t.Errorf("no modules is refused: %v", err)
	}
}
