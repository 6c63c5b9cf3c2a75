package plots

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRenderForViewing writes the figures of two synthetic studies (6 and 24
// models) to $DIVRES_PLOTS_OUT/{small,large} for a person to look at; it is
// skipped without that variable.
func TestRenderForViewing(t *testing.T) {
	out := os.Getenv("DIVRES_PLOTS_OUT")
	if out == "" {
		t.Skip("set DIVRES_PLOTS_OUT=DIR to render the figures for viewing")
	}
	for name, n := range map[string]int{"small": 6, "large": 24} {
		run := t.TempDir()
		for _, r := range synthResults(t, n, 1) {
			writeJSON(t, run, filepath.Join("eval", r.Model, "eval.json"), r)
		}
		if err := Study(run, filepath.Join(out, name), "resnet50"); err != nil {
			t.Fatal(err)
		}
	}
}
