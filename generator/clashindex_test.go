package generator

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"github.com/saasgen/saasgen/templates"
)

// TestGoldenClashIndex: the shipped module-name index is what
// buildClashIndex computes from the embedded template trees, and decodes to
// the same index. SAASGEN_UPDATE=1 rewrites it (with the golden trees) and
// fails, so that an update is never mistaken for a pass.
func TestGoldenClashIndex(t *testing.T) {
	g := &Generator{Templates: templates.FS}
	if err := g.Parse(); err != nil {
		t.Fatal(err)
	}
	digest := treesDigest(g.project, g.module)
	built, err := buildClashIndex(g.project, g.module)
	if err != nil {
		t.Fatal(err)
	}
	want, err := marshalClashIndex(built, digest)
	if err != nil {
		t.Fatal(err)
	}
	checkShipped(t, ClashIndexFile, want, shippedClashIndex, "the analysis")
	shipped, ok, err := unmarshalClashIndex(shippedClashIndex, digest)
	if err != nil || !ok {
		t.Fatalf("the shipped index does not decode for the embedded trees: ok=%v, %v", ok, err)
	}
	if !reflect.DeepEqual(shipped, built) {
		t.Error("the shipped index decodes to another index than the one built")
	}
}

// checkShipped fails unless the shipped file (a generated index in this
// package's directory) holds want, computed from the embedded templates by
// what (the analysis that builds it). SAASGEN_UPDATE=1 rewrites it and
// fails, so that an update is never mistaken for a pass.
func checkShipped(t *testing.T, file string, want, shipped []byte, what string) {
	t.Helper()
	if bytes.Equal(want, shipped) {
		return
	}
	if os.Getenv("SAASGEN_UPDATE") != "" {
		if err := os.WriteFile(file, want, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Fatalf("SAASGEN_UPDATE: generator/%s rewritten; read the diff and run the tests again without SAASGEN_UPDATE", file)
	}
	t.Fatalf("generator/%s does not match the embedded templates (they or %s changed): run SAASGEN_UPDATE=1 go test ./generator -run TestGolden and read the diff", file, what)
}
