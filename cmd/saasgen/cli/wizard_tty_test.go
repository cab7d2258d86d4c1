//go:build unix

package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
)

// These tests drive the real terminal UI: the saasgen binary on a
// pseudo-terminal, keystrokes in, the screen read back through a small
// terminal emulator (the renderer only redraws changed cells, so the raw
// byte stream does not contain whole lines of text).

const (
	keyEnter = "\r"
	keyDown  = "\x1b[B"
	keyCtrlC = "\x03"
	keyCtrlU = "\x15" // clear the text before the cursor
	keyEsc   = "\x1b"
)

func TestWizardTTYCreatesProject(t *testing.T) {
	bin := buildSaasgen(t)
	dir := filepath.Join(t.TempDir(), "acme")
	s := startPty(t, bin, 100, 40, "new", "acme", "--dir", dir, "--skip-verify", "--no-git")

	s.waitFor("Go module path", "github.com/acme/acme")
	s.send(keyCtrlU + "not a path!" + keyEnter)
	s.waitFor("is not a valid Go module path")
	s.send(keyCtrlU + "github.com/acme/acme" + keyEnter)

	s.waitFor("Initial modules")
	s.send(keyCtrlU + "billing,internal" + keyEnter)
	s.waitFor(`"internal" is reserved`)
	s.send(keyCtrlU + "billing,order-items" + keyEnter)

	s.waitFor("CI workflow", "none: no CI workflow")
	s.send(keyDown + keyDown + keyEnter)
	s.waitFor("Session store", "postgres: sessions in a PostgreSQL table")
	s.send(keyDown + keyEnter)
	s.waitFor("Job queue", "asynq: Asynq on Redis")
	s.send(keyEnter)

	screen := s.waitFor("Summary", "Create the project?")
	t.Logf("summary step, 100x40:\n%s", screen)
	for _, row := range []string{
		"Project name    acme",
		"Go module path  github.com/acme/acme",
		"Modules         billing, order_items",
		"CI workflow     none",
		"Session store   postgres",
		"Job queue       river",
		"Then            write the files",
	} {
		if !strings.Contains(screen, row) {
			t.Errorf("summary lacks %q", row)
		}
	}
	s.send(keyEnter)
	s.assertCreated(t, dir, "name: acme", "module: github.com/acme/acme", "ci: none", "sessions: postgres", "queue: river", "- billing", "- order_items")
	final := s.screen()
	t.Logf("after the run, 100x40:\n%s", final)
	// The command is wider than the screen, which wraps it (and drops the
	// space at the end of a row): compare without white space.
	squeeze := func(s string) string { return strings.Join(strings.Fields(s), "") }
	if !strings.Contains(squeeze(final), squeeze("--module github.com/acme/acme --modules=billing,order_items --ci none --sessions postgres --queue river")) {
		t.Errorf("the equivalent command line is not printed:\n%s", final)
	}
	// The forms ran on the alternate screen: what stays is the record of
	// the answers, not a stale question.
	if !strings.Contains(final, "Answers:\n  Project name    acme") || strings.Contains(final, "Create the project?") {
		t.Errorf("after the run the screen should keep the answers and no form:\n%s", final)
	}
}

// At 60 columns the defaults are taken with Enter alone, and every line of
// the form keeps to the window: descriptions wrap, nothing is cut.
func TestWizardTTYNarrowTerminal(t *testing.T) {
	bin := buildSaasgen(t)
	dir := filepath.Join(t.TempDir(), "acme")
	s := startPty(t, bin, 60, 30, "new", "acme", "--dir", dir, "--skip-verify", "--no-git")

	s.waitFor("Go module path")
	s.send(keyEnter)
	s.waitFor("Initial modules")
	s.send(keyEnter)
	screen := s.waitFor("CI workflow", "bring your own")
	t.Logf("CI question, 60x30:\n%s", screen)
	// The long description of the github choice is wrapped onto the
	// following line rather than running off the screen.
	if !strings.Contains(screen, "skips refused") {
		t.Errorf("the github choice's description is cut:\n%s", screen)
	}
	s.send(keyEnter)
	s.waitFor("Session store")
	s.send(keyEnter)
	s.waitFor("Job queue")
	s.send(keyEnter)
	screen = s.waitFor("Summary", "Create the project?")
	t.Logf("summary step, 60x30:\n%s", screen)
	for _, row := range []string{"Go module path  acme", "Modules         projects", "CI workflow     github", "Session store   redis", "Job queue       river"} {
		if !strings.Contains(screen, row) {
			t.Errorf("summary lacks %q", row)
		}
	}
	s.send(keyEnter)
	s.assertCreated(t, dir, "module: acme", "ci: github", "sessions: redis", "queue: river", "- projects")
}

// assertCreated waits for a successful exit and checks saasgen.yaml in dir
// holds each of lines.
func (s *ptySession) assertCreated(t *testing.T, dir string, lines ...string) {
	t.Helper()
	if code := s.exitCode(); code != ExitOK {
		t.Fatalf("exit code %d, want 0; screen:\n%s", code, s.screen())
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "saasgen.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range lines {
		if !strings.Contains(string(manifest), line+"\n") {
			t.Errorf("saasgen.yaml lacks %q:\n%s", line, manifest)
		}
	}
}

func TestWizardTTYCancel(t *testing.T) {
	bin := buildSaasgen(t)
	for name, steps := range map[string]func(s *ptySession){
		"ctrl-c at the first question": func(s *ptySession) {
			s.waitFor("Go module path")
			s.send("github.com/ac") // half an answer
			s.send(keyCtrlC)
		},
		"esc at the summary": func(s *ptySession) {
			s.waitFor("Go module path")
			s.send(keyEnter)
			s.waitFor("Initial modules")
			s.send(keyEnter)
			s.waitFor("CI workflow")
			s.send(keyEnter)
			s.waitFor("Session store")
			s.send(keyEnter)
			s.waitFor("Job queue")
			s.send(keyEnter)
			s.waitFor("Summary")
			s.send(keyEsc)
		},
		"no at the confirmation": func(s *ptySession) {
			s.waitFor("Go module path")
			s.send(keyEnter)
			s.waitFor("Initial modules")
			s.send(keyEnter)
			s.waitFor("CI workflow")
			s.send(keyEnter)
			s.waitFor("Session store")
			s.send(keyEnter)
			s.waitFor("Job queue")
			s.send(keyEnter)
			s.waitFor("Summary")
			s.send("n")
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "acme")
			s := startPty(t, bin, 100, 40, "new", "acme", "--dir", dir, "--skip-verify", "--no-git")
			steps(s)
			if code := s.exitCode(); code != ExitCanceled {
				t.Fatalf("exit code %d, want %d; screen:\n%s", code, ExitCanceled, s.screen())
			}
			if out := s.screen(); !strings.Contains(out, "canceled: nothing was written") {
				t.Errorf("no cancel message:\n%s", out)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s exists after cancel (stat: %v)", dir, err)
			}
		})
	}
}

// TestCIDisablesPrompting: on a terminal, with CI set (as CI runners do),
// nothing is asked: the defaults fill what flags left open. The same run
// without CI asks (the tests above).
func TestCIDisablesPrompting(t *testing.T) {
	bin := buildSaasgen(t)
	for _, ci := range []string{"true", "1"} {
		dir := filepath.Join(t.TempDir(), "acme")
		s := startPtyEnv(t, bin, []string{"CI=" + ci}, 100, 40, "new", "acme", "--dir", dir, "--skip-verify", "--no-git")
		select {
		case <-s.done:
		case <-time.After(ptyTimeout):
			t.Fatalf("CI=%s: still running, the wizard asked:\n%s", ci, s.screen())
		}
		<-s.read
		if code := s.exitCode(); code != ExitOK {
			t.Fatalf("CI=%s: exit %d:\n%s", ci, code, s.screen())
		}
		screen := s.screen()
		if strings.Contains(screen, "Go module path") || strings.Contains(screen, "Run the same without questions") {
			t.Errorf("CI=%s: the wizard ran:\n%s", ci, screen)
		}
		man, err := os.ReadFile(filepath.Join(dir, "saasgen.yaml"))
		if err != nil || !strings.Contains(string(man), "module: acme\n") {
			t.Errorf("CI=%s: project not created with the defaults: %v\n%s", ci, err, man)
		}
	}
}

// buildSaasgen builds the saasgen command into a temporary directory.
func buildSaasgen(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the saasgen binary on a pseudo-terminal; not in -short mode")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build saasgen: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "saasgen")
	cmd := exec.Command(gobin, "build", "-o", bin, "github.com/saasgen/saasgen/cmd/saasgen")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// ptySession is a process on a pseudo-terminal of a fixed size and the
// screen it has drawn so far.
type ptySession struct {
	t    *testing.T
	tty  *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	term *vterm
	done chan struct{} // closed when the process has exited
	read chan struct{} // closed when the terminal output is drained
	code int
}

const ptyTimeout = 20 * time.Second

func startPty(t *testing.T, bin string, cols, rows int, args ...string) *ptySession {
	t.Helper()
	return startPtyEnv(t, bin, nil, cols, rows, args...)
}

// startPtyEnv is startPty with variables added to the interactive user's
// environment.
func startPtyEnv(t *testing.T, bin string, env []string, cols, rows int, args ...string) *ptySession {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(ttyEnv(), env...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	if err != nil {
		t.Fatalf("start %s on a pty: %v", bin, err)
	}
	s := &ptySession{t: t, tty: tty, cmd: cmd, term: newVterm(cols, rows), done: make(chan struct{}), read: make(chan struct{})}
	go func() {
		defer close(s.read)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			s.mu.Lock()
			s.term.Write(buf[:n])
			s.mu.Unlock()
			if err != nil { // EIO once the process and its terminal are gone
				return
			}
		}
	}()
	go func() {
		defer close(s.done)
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			s.code = ee.ExitCode()
		default:
			s.code = -1
		}
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = cmd.Process.Kill()
			<-s.done
		}
		tty.Close()
	})
	return s
}

// ttyEnv is the test's environment as an interactive user's: a colour
// terminal, no CI, no accessibility or colour switches.
func ttyEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "CI", "ACCESSIBLE", "NO_COLOR", "TERM", "COLUMNS", "LINES":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "TERM=xterm-256color")
}

func (s *ptySession) send(keys string) {
	s.t.Helper()
	if _, err := s.tty.WriteString(keys); err != nil {
		s.t.Fatalf("send %q: %v", keys, err)
	}
}

func (s *ptySession) screen() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.term.String()
}

// waitFor waits until the screen shows every one of texts and returns it;
// it fails the test after ptyTimeout or when the process exits first.
func (s *ptySession) waitFor(texts ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(ptyTimeout)
	for {
		screen := s.screen()
		missing := ""
		for _, text := range texts {
			if !strings.Contains(screen, text) {
				missing = text
				break
			}
		}
		if missing == "" {
			return screen
		}
		select {
		case <-s.read:
			s.t.Fatalf("saasgen exited (code %d) before showing %q; screen:\n%s", s.code, missing, s.screen())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("after %s the screen does not show %q:\n%s", ptyTimeout, missing, screen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exitCode waits for the process to exit and its output to be drawn.
func (s *ptySession) exitCode() int {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(ptyTimeout):
		s.t.Fatalf("saasgen still runs after %s; screen:\n%s", ptyTimeout, s.screen())
	}
	select {
	case <-s.read:
	case <-time.After(ptyTimeout):
		s.t.Fatalf("terminal output not drained after %s", ptyTimeout)
	}
	return s.code
}

// vterm is the part of an xterm that terminal UIs draw with: printing with
// auto-wrap and insert mode, cursor movement, erasing, inserting and
// deleting characters and lines, scroll regions, the alternate screen. Colours and other
// attributes, modes it does not know, OSC/DCS/APC strings and queries are
// consumed and ignored. It keeps the text only.
type vterm struct {
	cols, rows     int
	cells          [][]rune
	row, col       int
	savedRow       int
	savedCol       int
	top, bottom    int // scroll region, inclusive
	wrapNext       bool
	autowrap       bool
	insert         bool
	last           rune
	main           [][]rune // the main screen while the alternate one shows
	mainRow        int
	mainCol        int
	state          int
	seq            []byte // CSI parameters and intermediates, or string body
	pending        []byte // an incomplete UTF-8 sequence
	stringEscaping bool
}

const (
	stGround = iota
	stEsc
	stEscCharset // ESC ( and friends: one more byte
	stCSI
	stString // OSC, DCS, APC, PM, SOS: until BEL or ST
)

func newVterm(cols, rows int) *vterm {
	v := &vterm{cols: cols, rows: rows, bottom: rows - 1, autowrap: true}
	v.cells = make([][]rune, rows)
	for i := range v.cells {
		v.cells[i] = blankLine(cols)
	}
	return v
}

func blankLine(cols int) []rune { return []rune(strings.Repeat(" ", cols)) }

// String returns the screen, one line per row, trailing blanks trimmed.
func (v *vterm) String() string {
	var b strings.Builder
	for _, line := range v.cells {
		b.WriteString(strings.TrimRight(string(line), " "))
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func (v *vterm) Write(p []byte) {
	p = append(v.pending, p...)
	v.pending = nil
	for len(p) > 0 {
		c := p[0]
		if v.state == stGround && c >= 0x80 {
			if !utf8.FullRune(p) {
				v.pending = append(v.pending, p...)
				return
			}
			r, n := utf8.DecodeRune(p)
			v.print(r)
			p = p[n:]
			continue
		}
		v.byte(c)
		p = p[1:]
	}
}

func (v *vterm) byte(c byte) {
	switch v.state {
	case stEsc:
		v.escape(c)
		return
	case stEscCharset:
		v.state = stGround
		return
	case stCSI:
		if c >= 0x40 && c <= 0x7e {
			v.csi(c)
			v.state = stGround
		} else {
			v.seq = append(v.seq, c)
		}
		return
	case stString:
		switch {
		case c == 0x07:
			v.state = stGround
		case v.stringEscaping && c == '\\':
			v.state = stGround
		}
		v.stringEscaping = c == 0x1b
		return
	}
	switch c {
	case 0x1b:
		v.state = stEsc
	case '\r':
		v.col, v.wrapNext = 0, false
	case '\n', 0x0b, 0x0c:
		v.lineFeed()
	case '\b':
		if v.col > 0 {
			v.col--
		}
		v.wrapNext = false
	case '\t':
		v.col = min((v.col/8+1)*8, v.cols-1)
	default:
		if c >= 0x20 && c != 0x7f {
			v.print(rune(c))
		}
	}
}

func (v *vterm) escape(c byte) {
	v.state = stGround
	switch c {
	case '[':
		v.state, v.seq = stCSI, v.seq[:0]
	case ']', 'P', '_', '^', 'X':
		v.state, v.stringEscaping = stString, false
	case '(', ')', '*', '+', '#', '%':
		v.state = stEscCharset
	case '7':
		v.savedRow, v.savedCol = v.row, v.col
	case '8':
		v.row, v.col, v.wrapNext = v.savedRow, v.savedCol, false
	case 'D':
		v.lineFeed()
	case 'E':
		v.col = 0
		v.lineFeed()
	case 'M':
		if v.row == v.top {
			v.scrollDown(1)
		} else if v.row > 0 {
			v.row--
		}
	case 'c':
		*v = *newVterm(v.cols, v.rows)
	}
}

func (v *vterm) print(r rune) {
	if v.wrapNext && v.autowrap {
		v.col = 0
		v.lineFeed()
	}
	v.wrapNext = false
	line := v.cells[v.row]
	if v.insert {
		copy(line[v.col+1:], line[v.col:])
	}
	line[v.col] = r
	v.last = r
	if v.col == v.cols-1 {
		v.wrapNext = true
	} else {
		v.col++
	}
}

func (v *vterm) lineFeed() {
	v.wrapNext = false
	if v.row == v.bottom {
		v.scrollUp(1)
	} else if v.row < v.rows-1 {
		v.row++
	}
}

func (v *vterm) scrollUp(n int) {
	for range n {
		copy(v.cells[v.top:v.bottom], v.cells[v.top+1:v.bottom+1])
		v.cells[v.bottom] = blankLine(v.cols)
	}
}

func (v *vterm) scrollDown(n int) {
	for range n {
		copy(v.cells[v.top+1:v.bottom+1], v.cells[v.top:v.bottom])
		v.cells[v.top] = blankLine(v.cols)
	}
}

func (v *vterm) csi(final byte) {
	raw := string(v.seq)
	private := strings.HasPrefix(raw, "?") || strings.HasPrefix(raw, ">") || strings.HasPrefix(raw, "<") || strings.HasPrefix(raw, "=")
	raw = strings.TrimLeft(raw, "?><=")
	if strings.ContainsAny(raw, " !\"#$%&'()*+,-./") { // intermediates: DECSCUSR and friends
		return
	}
	var params []int
	for f := range strings.SplitSeq(raw, ";") {
		f, _, _ = strings.Cut(f, ":")
		n, _ := strconv.Atoi(f)
		params = append(params, n)
	}
	arg := func(i, def int) int {
		if i < len(params) && params[i] > 0 {
			return params[i]
		}
		return def
	}
	clampRow := func(r int) int { return max(0, min(r, v.rows-1)) }
	clampCol := func(c int) int { return max(0, min(c, v.cols-1)) }
	if private {
		if final == 'h' || final == 'l' {
			for _, p := range params {
				switch p {
				case 7:
					v.autowrap = final == 'h'
				case 47, 1047, 1049:
					v.altScreen(final == 'h')
				}
			}
		}
		return
	}
	if final != 'm' {
		v.wrapNext = false
	}
	n := arg(0, 1)
	switch final {
	case 'A':
		v.row = max(v.row-n, 0)
	case 'B':
		v.row = clampRow(v.row + n)
	case 'C':
		v.col = clampCol(v.col + n)
	case 'D':
		v.col = max(v.col-n, 0)
	case 'E':
		v.row, v.col = clampRow(v.row+n), 0
	case 'F':
		v.row, v.col = max(v.row-n, 0), 0
	case 'G', '`':
		v.col = clampCol(n - 1)
	case 'd':
		v.row = clampRow(n - 1)
	case 'H', 'f':
		v.row, v.col = clampRow(arg(0, 1)-1), clampCol(arg(1, 1)-1)
	case 'I':
		v.col = min((v.col/8+n)*8, v.cols-1)
	case 'Z':
		v.col = max(((v.col-1)/8-n+1)*8, 0)
	case 'J':
		switch arg(0, 0) {
		case 0:
			v.eraseLine(v.row, v.col, v.cols)
			for r := v.row + 1; r < v.rows; r++ {
				v.cells[r] = blankLine(v.cols)
			}
		case 1:
			for r := range v.row {
				v.cells[r] = blankLine(v.cols)
			}
			v.eraseLine(v.row, 0, v.col+1)
		default:
			for r := range v.cells {
				v.cells[r] = blankLine(v.cols)
			}
		}
	case 'K':
		switch arg(0, 0) {
		case 0:
			v.eraseLine(v.row, v.col, v.cols)
		case 1:
			v.eraseLine(v.row, 0, v.col+1)
		default:
			v.eraseLine(v.row, 0, v.cols)
		}
	case 'X':
		v.eraseLine(v.row, v.col, min(v.col+n, v.cols))
	case '@':
		line := v.cells[v.row]
		n = min(n, v.cols-v.col)
		copy(line[v.col+n:], line[v.col:])
		v.eraseLine(v.row, v.col, v.col+n)
	case 'P':
		line := v.cells[v.row]
		n = min(n, v.cols-v.col)
		copy(line[v.col:], line[v.col+n:])
		v.eraseLine(v.row, v.cols-n, v.cols)
	case 'L', 'M':
		if v.row < v.top || v.row > v.bottom {
			return
		}
		top := v.top
		v.top = v.row
		if final == 'L' {
			v.scrollDown(min(n, v.bottom-v.row+1))
		} else {
			v.scrollUp(min(n, v.bottom-v.row+1))
		}
		v.top = top
		v.col = 0
	case 'S':
		v.scrollUp(n)
	case 'T':
		v.scrollDown(n)
	case 'b':
		for range n {
			v.print(v.last)
		}
	case 'r':
		v.top, v.bottom = clampRow(arg(0, 1)-1), clampRow(arg(1, v.rows)-1)
		v.row, v.col = 0, 0
	case 'h', 'l':
		for _, p := range params {
			if p == 4 {
				v.insert = final == 'h'
			}
		}
	}
}

func (v *vterm) altScreen(on bool) {
	switch {
	case on && v.main == nil:
		v.main, v.mainRow, v.mainCol = v.cells, v.row, v.col
		v.cells = make([][]rune, v.rows)
		for i := range v.cells {
			v.cells[i] = blankLine(v.cols)
		}
	case !on && v.main != nil:
		v.cells, v.row, v.col = v.main, v.mainRow, v.mainCol
		v.main = nil
	}
	v.wrapNext = false
}

func (v *vterm) eraseLine(row, from, to int) {
	line := v.cells[row]
	for i := from; i < to && i < len(line); i++ {
		line[i] = ' '
	}
}

// The emulator itself, on sequences whose result is known.
func TestPtyVterm(t *testing.T) {
	v := newVterm(10, 4)
	v.Write([]byte("hello\r\nworld"))
	v.Write([]byte("\x1b[1;3H\x1b[K"))              // row 1, col 3: erase to end of line
	v.Write([]byte("\x1b[2;1H\x1b[2@>>"))           // insert two blanks, print over them
	v.Write([]byte("\x1b[3;1Habcdefghijkl"))        // auto-wrap onto row 4
	v.Write([]byte("\x1b[4;1H\x1b[1P"))             // delete one character
	v.Write([]byte("\x1b[31m\x1b]0;title\x07\xe2")) // colour, OSC, half a rune
	v.Write([]byte("\x94\x83"))
	want := "he\n>>world\nabcdefghij\n┃\n"
	if got := v.String(); got != want {
		t.Errorf("screen:\n%q\nwant:\n%q", got, want)
	}
	v.Write([]byte("\x1b[?1049h\x1b[Halt"))
	if got := v.String(); got != "alt\n" {
		t.Errorf("alternate screen: %q", got)
	}
	v.Write([]byte("\x1b[?1049l"))
	if got := v.String(); got != want {
		t.Errorf("main screen not restored: %q", got)
	}
	v.Write(bytes.Repeat([]byte("\r\n"), 4)) // scrolls everything away
	if got := v.String(); strings.TrimSpace(got) != "" {
		t.Errorf("after scrolling: %q", got)
	}
}

// TestUpgradeTTYAsksNewAnswers: in a terminal, upgrade asks for each answer
// the current templates need that the project never gave (here the session
// store, removed from saasgen.yaml as a project from before that choice
// would lack it), instead of taking the default silently.
func TestUpgradeTTYAsksNewAnswers(t *testing.T) {
	bin := buildSaasgen(t)
	dir := filepath.Join(t.TempDir(), "acme")
	gitEnv := []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid"}
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), gitEnv...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run(bin, "new", "acme", "--dir", dir, "--yes", "--skip-verify")
	manifest := filepath.Join(dir, "saasgen.yaml")
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	without := strings.Replace(string(data), "sessions: redis\n", "", 1)
	if without == string(data) {
		t.Fatalf("saasgen.yaml has no sessions: redis line:\n%s", data)
	}
	if err := os.WriteFile(manifest, []byte(without), 0o644); err != nil {
		t.Fatal(err)
	}
	run("git", "-C", dir, "commit", "-q", "-am", "a project from before the session store choice")

	s := startPtyEnv(t, bin, gitEnv, 100, 40, "upgrade", dir, "--skip-verify")
	s.waitFor("Session store (new in this saasgen)", "postgres: sessions in a PostgreSQL table")
	s.send(keyDown + keyEnter)
	if code := s.exitCode(); code != ExitOK {
		t.Fatalf("exit code %d, want 0; screen:\n%s", code, s.screen())
	}
	after, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(after), "sessions: postgres\n") {
		t.Errorf("the answer chosen in the terminal is not recorded:\n%s", after)
	}
	// The PostgreSQL store's table exists only with that answer.
	if _, err := os.Stat(filepath.Join(dir, "internal/platform/database/migrations/00006_create_sessions.sql")); err != nil {
		t.Errorf("the chosen store's migration: %v", err)
	}
}
