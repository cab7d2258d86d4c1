// Package merge owns saasgen's line-based comparison of files: the diff of
// two versions (Myers' algorithm) and the three-way merge of a base with two
// changed versions (diff3, with git merge-file's conflict markers and its
// refinement of conflicts), so that upgrade merges as git would, without
// running git.
package merge

import (
	"bytes"
)

// Lines splits data into lines, each with its "\n" (the last may lack it).
func Lines(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			out = append(out, data)
			break
		}
		out = append(out, data[:i+1])
		data = data[i+1:]
	}
	return out
}

// hunk is one change between a (lines [A0, A1)) and b (lines [B0, B1)).
type hunk struct {
	A0, A1, B0, B1 int
	lines          [][]byte // b, for comparing changes (set by Merge)
}

// diff returns the changes that turn a into b, in order: a shortest edit
// script (Myers), each run of changed lines one hunk.
func diff(a, b [][]byte) []hunk {
	// Common prefix and suffix are not part of any change.
	pre := 0
	for pre < len(a) && pre < len(b) && bytes.Equal(a[pre], b[pre]) {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && bytes.Equal(a[len(a)-1-suf], b[len(b)-1-suf]) {
		suf++
	}
	matches := myers(a[pre:len(a)-suf], b[pre:len(b)-suf])
	var hunks []hunk
	i, j := 0, 0
	for _, m := range append(matches, [2]int{len(a) - pre - suf, len(b) - pre - suf}) {
		if m[0] > i || m[1] > j {
			hunks = append(hunks, hunk{A0: pre + i, A1: pre + m[0], B0: pre + j, B1: pre + m[1]})
		}
		i, j = m[0]+1, m[1]+1
	}
	return compact(a, b, hunks)
}

// compact moves each insertion or deletion as far down as it can go among
// equal lines, as git's diff does, so that a run of equal lines ("}",
// blank lines) is attributed as git attributes it.
func compact(a, b [][]byte, hunks []hunk) []hunk {
	for i := len(hunks) - 1; i >= 0; i-- {
		h := &hunks[i]
		nextA, nextB := len(a), len(b)
		if i+1 < len(hunks) {
			nextA, nextB = hunks[i+1].A0, hunks[i+1].B0
		}
		switch {
		case h.B0 == h.B1: // deletion
			for h.A1 < nextA && bytes.Equal(a[h.A0], a[h.A1]) {
				h.A0, h.A1, h.B0, h.B1 = h.A0+1, h.A1+1, h.B0+1, h.B1+1
			}
		case h.A0 == h.A1: // insertion
			for h.B1 < nextB && bytes.Equal(b[h.B0], b[h.B1]) {
				h.A0, h.A1, h.B0, h.B1 = h.A0+1, h.A1+1, h.B0+1, h.B1+1
			}
		}
	}
	return hunks
}

// myers returns the matched line pairs of a shortest edit script from a to
// b, in order.
func myers(a, b [][]byte) [][2]int {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return nil
	}
	total := n + m
	off := total + 1
	v := make([]int, 2*total+3)
	var trace [][]int
	var dFinal int
found:
	for d := 0; d <= total; d++ {
		snap := make([]int, 2*d+3)
		copy(snap, v[off-d-1:off+d+2])
		trace = append(trace, snap)
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || k != d && v[off+k-1] < v[off+k+1] {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && bytes.Equal(a[x], b[y]) {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				dFinal = d
				break found
			}
		}
	}
	// Walk back through the snapshots (trace[d] is V before step d, for
	// diagonals -d-1..d+1) collecting the diagonal runs.
	var matches [][2]int
	x, y := n, m
	for d := dFinal; d > 0; d-- {
		vd := trace[d]
		get := func(k int) int { return vd[k+d+1] }
		k := x - y
		var prevK int
		if k == -d || k != d && get(k-1) < get(k+1) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevX := get(prevK)
		prevY := prevX - prevK
		startX, startY := prevX, prevY+1 // a line of b inserted
		if prevK == k-1 {
			startX, startY = prevX+1, prevY // a line of a deleted
		}
		for x > startX && y > startY {
			x--
			y--
			matches = append(matches, [2]int{x, y})
		}
		x, y = prevX, prevY
	}
	for x > 0 && y > 0 {
		x--
		y--
		matches = append(matches, [2]int{x, y})
	}
	for i, j := 0, len(matches)-1; i < j; i, j = i+1, j-1 {
		matches[i], matches[j] = matches[j], matches[i]
	}
	return matches
}
