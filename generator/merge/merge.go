package merge

import (
	"bytes"
	"unicode"
)

// Labels name the versions in conflict markers.
type Labels struct {
	Ours, Theirs string
}

// Result is a three-way merge.
type Result struct {
	Content   []byte
	Conflicts int // conflict regions written with markers
}

// Conflict markers, as git writes them.
const (
	MarkerOurs   = "<<<<<<<"
	MarkerSep    = "======="
	MarkerTheirs = ">>>>>>>"
)

// region is one stretch of the merge: lines of base [B0, B1), ours [O0, O1)
// and theirs [T0, T1). Outside regions the three agree.
type region struct {
	mode           int // modeOurs, modeTheirs, modeBoth or modeConflict
	B0, B1         int
	O0, O1, T0, T1 int
}

const (
	modeConflict = iota
	modeOurs     // only ours changed: take ours
	modeTheirs   // only theirs changed: take theirs
	modeBoth     // both made the same change
)

// Merge merges the changes from base to ours and from base to theirs. Where
// they touch or overlap and differ, the result holds both between git's
// conflict markers; as git merge-file does, a conflict is narrowed to the
// lines that differ, and conflicts separated by at most three lines, or by
// lines with no letter or digit, are joined.
func Merge(base, ours, theirs []byte, labels Labels) Result {
	b, o, t := Lines(base), Lines(ours), Lines(theirs)
	ho, ht := diff(b, o), diff(b, t)
	for i := range ho {
		ho[i].lines = o
	}
	for i := range ht {
		ht[i].lines = t
	}
	regions := combine(ho, ht, len(b), len(o), len(t))
	regions = refine(regions, o, t)
	regions = simplify(regions, o)
	return output(regions, o, t, labels)
}

// combine merges the two change lists into regions, as git's xdl_merge
// does: changes of the two sides that overlap or touch in base form one
// conflict region, unless they are the same change.
func combine(ho, ht []hunk, nb, no, nt int) []region {
	var out []region
	add := func(r region) {
		if n := len(out); n > 0 {
			p := &out[n-1]
			if r.O0 <= p.O1 || r.T0 <= p.T1 {
				if r.mode != p.mode {
					p.mode = modeConflict
				}
				p.B1, p.O1, p.T1 = r.B1, r.O1, r.T1
				return
			}
		}
		out = append(out, r)
	}
	i, j := 0, 0
	for i < len(ho) && j < len(ht) {
		x, y := ho[i], ht[j]
		switch {
		case x.A1 < y.A0: // ours strictly before theirs
			d := y.B0 - y.A0
			add(region{mode: modeOurs, B0: x.A0, B1: x.A1, O0: x.B0, O1: x.B1, T0: x.A0 + d, T1: x.A1 + d})
			i++
			continue
		case y.A1 < x.A0:
			d := x.B0 - x.A0
			add(region{mode: modeTheirs, B0: y.A0, B1: y.A1, O0: y.A0 + d, O1: y.A1 + d, T0: y.B0, T1: y.B1})
			j++
			continue
		}
		if x.A0 != y.A0 || x.A1 != y.A1 || !sameLines(x, y) {
			b0, b1 := min(x.A0, y.A0), max(x.A1, y.A1)
			add(region{mode: modeConflict, B0: b0, B1: b1,
				O0: x.B0 - (x.A0 - b0), O1: x.B1 + (b1 - x.A1),
				T0: y.B0 - (y.A0 - b0), T1: y.B1 + (b1 - y.A1)})
		}
		if x.A1 >= y.A1 {
			j++
		}
		if y.A1 >= x.A1 {
			i++
		}
	}
	for ; i < len(ho); i++ {
		x, d := ho[i], nt-nb
		add(region{mode: modeOurs, B0: x.A0, B1: x.A1, O0: x.B0, O1: x.B1, T0: x.A0 + d, T1: x.A1 + d})
	}
	for ; j < len(ht); j++ {
		y, d := ht[j], no-nb
		add(region{mode: modeTheirs, B0: y.A0, B1: y.A1, O0: y.A0 + d, O1: y.A1 + d, T0: y.B0, T1: y.B1})
	}
	return out
}

// refine narrows each conflict to the lines in which ours and theirs
// differ, splitting it where they agree; a conflict whose sides are equal
// is no conflict.
func refine(regions []region, o, t [][]byte) []region {
	var out []region
	for _, r := range regions {
		if r.mode != modeConflict || r.O0 == r.O1 || r.T0 == r.T1 {
			out = append(out, r)
			continue
		}
		hs := diff(o[r.O0:r.O1], t[r.T0:r.T1])
		if len(hs) == 0 {
			r.mode = modeBoth
			out = append(out, r)
			continue
		}
		for _, h := range hs {
			out = append(out, region{mode: modeConflict, B0: r.B0, B1: r.B1,
				O0: r.O0 + h.A0, O1: r.O0 + h.A1, T0: r.T0 + h.B0, T1: r.T0 + h.B1})
		}
	}
	return out
}

// simplify joins consecutive conflicts separated by at most three lines,
// or by lines without a letter or digit.
func simplify(regions []region, o [][]byte) []region {
	var out []region
	for _, r := range regions {
		if n := len(out); n > 0 {
			p := &out[n-1]
			between := o[p.O1:r.O0]
			if p.mode == modeConflict && r.mode == modeConflict && (len(between) <= 3 || !containsAlnum(between)) {
				p.B1, p.O1, p.T1 = r.B1, r.O1, r.T1
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

func containsAlnum(lines [][]byte) bool {
	for _, l := range lines {
		for _, c := range string(l) {
			if unicode.IsLetter(c) || unicode.IsDigit(c) {
				return true
			}
		}
	}
	return false
}

func output(regions []region, o, t [][]byte, labels Labels) Result {
	var buf bytes.Buffer
	res := Result{}
	oi := 0
	writeLines := func(lines [][]byte) {
		for _, l := range lines {
			buf.Write(l)
		}
	}
	endLine := func() {
		if n := buf.Len(); n > 0 && buf.Bytes()[n-1] != '\n' {
			buf.WriteByte('\n')
		}
	}
	for _, r := range regions {
		writeLines(o[oi:r.O0])
		oi = r.O1
		switch r.mode {
		case modeTheirs:
			writeLines(t[r.T0:r.T1])
		case modeConflict:
			res.Conflicts++
			endLine()
			buf.WriteString(MarkerOurs + label(labels.Ours))
			writeLines(o[r.O0:r.O1])
			endLine()
			buf.WriteString(MarkerSep + "\n")
			writeLines(t[r.T0:r.T1])
			endLine()
			buf.WriteString(MarkerTheirs + label(labels.Theirs))
		default:
			writeLines(o[r.O0:r.O1])
		}
	}
	writeLines(o[oi:])
	res.Content = buf.Bytes()
	return res
}

func label(l string) string {
	if l == "" {
		return "\n"
	}
	return " " + l + "\n"
}

// IsBinary reports whether data is binary as git decides it: a NUL byte in
// its first 8000 bytes.
func IsBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0
}

// sameLines reports whether two changes of the same base lines put the same
// lines in their place.
func sameLines(x, y hunk) bool {
	if x.B1-x.B0 != y.B1-y.B0 {
		return false
	}
	for k := range x.B1 - x.B0 {
		if !bytes.Equal(x.lines[x.B0+k], y.lines[y.B0+k]) {
			return false
		}
	}
	return true
}
