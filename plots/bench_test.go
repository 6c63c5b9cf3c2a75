package plots

import (
	"path/filepath"
	"testing"
)

// BenchmarkFigures draws each figure of a 24-model study, PNG and SVG.
func BenchmarkFigures(b *testing.B) {
	rs := synthResults(b, 24, 1)
	dir := b.TempDir()
	for _, name := range []string{"bars", "severity", "heatmap", "heatmap_ce", "scatter"} {
		for _, ext := range []string{"png", "svg"} {
			b.Run(name+"_"+ext, func(b *testing.B) {
				p := filepath.Join(dir, name+"."+ext)
				for b.Loop() {
					if err := figures[name](rs, "resnet50", p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkLoadResults reads a run folder of 24 results.
func BenchmarkLoadResults(b *testing.B) {
	dir := b.TempDir()
	for _, r := range synthResults(b, 24, 1) {
		writeJSON(b, dir, filepath.Join("eval", r.Model, "eval.json"), r)
	}
	for b.Loop() {
		if _, err := LoadResults(dir); err != nil {
			b.Fatal(err)
		}
	}
}
