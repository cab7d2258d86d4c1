package cli

import (
	"context"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkNew runs `saasgen new --config examples/full.yaml --yes
// --skip-verify --no-git` in process, parsing included, as a user's run
// does: profile it with -cpuprofile (bench/generate.sh times the binary).
func BenchmarkNew(b *testing.B) {
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		streams := &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard, Getenv: func(string) string { return "" }}
		args := []string{"new", "acme", "--config", "../../../examples/full.yaml", "--yes", "--skip-verify", "--no-git", "--dir", filepath.Join(dir, strconv.Itoa(i))}
		if code := Execute(context.Background(), args, streams, "bench"); code != ExitOK {
			b.Fatalf("exit %d", code)
		}
	}
}
