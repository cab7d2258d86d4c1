package generator_test

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/saasgen/saasgen/generator"
)

func fullExample(b *testing.B) generator.Options {
	opts, ok := examples(b)["full"]
	if !ok {
		b.Fatal("examples/full.yaml is missing")
	}
	return opts
}

// BenchmarkRender renders the full example in memory.
func BenchmarkRender(b *testing.B) {
	opts := fullExample(b)
	g := newGenerator()
	if err := g.Parse(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Render(opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderWrite renders the full example and lands it on disk through
// the staging directory, as `saasgen new --skip-verify --no-git` does.
func BenchmarkRenderWrite(b *testing.B) {
	opts := fullExample(b)
	g := newGenerator()
	if err := g.Parse(); err != nil {
		b.Fatal(err)
	}
	root := b.TempDir()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		files, err := g.Render(opts)
		if err != nil {
			b.Fatal(err)
		}
		i++
		if err := generator.WriteNew(files, filepath.Join(root, strconv.Itoa(i))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseTemplates measures start-up: parsing both embedded trees.
func BenchmarkParseTemplates(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		g := newGenerator()
		if err := g.Parse(); err != nil {
			b.Fatal(err)
		}
	}
}

// manyModules returns options with n modules m0 … m<n-1>.
func manyModules(n int) generator.Options {
	opts := generator.DefaultOptions()
	opts.Name = "big"
	opts.Modules = nil
	for i := range n {
		opts.Modules = append(opts.Modules, "m"+strconv.Itoa(i))
	}
	return opts
}

// BenchmarkRenderModules renders projects of growing module counts, as
// `saasgen new --dry-run` does (validation included), up to four times the
// bound (MaxModules): the time per module must stay flat.
func BenchmarkRenderModules(b *testing.B) {
	for _, n := range []int{250, 1000, 4000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			opts := manyModules(n)
			g := newGenerator()
			if err := g.Parse(); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := g.RenderUnbounded(opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1e6, "ms/module")
		})
	}
}
