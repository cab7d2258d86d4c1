package merge

import (
	"bytes"
	"fmt"
)

// Unified returns the unified diff (three lines of context) that turns a
// into b, with the file names from and to; nothing when they are equal.
// /dev/null names a missing side, as in git's diffs.
func Unified(a, b []byte, from, to string) []byte {
	la, lb := Lines(a), Lines(b)
	hunks := diff(la, lb)
	if len(hunks) == 0 {
		return nil
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "--- %s\n+++ %s\n", from, to)
	const ctx = 3
	for i := 0; i < len(hunks); {
		// Join hunks whose contexts meet.
		j := i
		for j+1 < len(hunks) && hunks[j+1].A0-hunks[j].A1 <= 2*ctx {
			j++
		}
		a0, b0 := max(0, hunks[i].A0-ctx), max(0, hunks[i].B0-ctx)
		a1, b1 := min(len(la), hunks[j].A1+ctx), min(len(lb), hunks[j].B1+ctx)
		fmt.Fprintf(&buf, "@@ -%s +%s @@\n", span(a0, a1), span(b0, b1))
		pa := a0
		for _, h := range hunks[i : j+1] {
			writePrefixed(&buf, " ", la[pa:h.A0])
			writePrefixed(&buf, "-", la[h.A0:h.A1])
			writePrefixed(&buf, "+", lb[h.B0:h.B1])
			pa = h.A1
		}
		writePrefixed(&buf, " ", la[pa:a1])
		i = j + 1
	}
	return buf.Bytes()
}

func span(start, end int) string {
	if end-start == 1 {
		return fmt.Sprint(start + 1)
	}
	if end == start {
		return fmt.Sprintf("%d,0", start)
	}
	return fmt.Sprintf("%d,%d", start+1, end-start)
}

func writePrefixed(buf *bytes.Buffer, prefix string, lines [][]byte) {
	for _, l := range lines {
		buf.WriteString(prefix)
		buf.Write(l)
		if !bytes.HasSuffix(l, []byte("\n")) {
			buf.WriteString("\n\\ No newline at end of file\n")
		}
	}
}
