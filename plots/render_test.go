package plots

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRenderForViewing writes the figures of two synthetic studies (6 and 24
// models) to $DIVRES_PLOTS_OUT/{small,large}, and of a partial one (blur and frost
// missing, fog without severity 5) to $DIVRES_PLOTS_OUT/partial, for a person to
// look at; it is skipped without that variable.
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
	rs := synthResults(t, 3, 8)
	for i := range rs {
		for c := range rs[i].Errors {
			if f, _ := FamilyOf(c); f == "blur" || c == "frost" {
				delete(rs[i].Errors, c)
			}
		}
		rs[i].Errors["fog"][4] = -1
	}
	dir := filepath.Join(out, "partial")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, fig := range figures {
		if err := fig(rs, "", filepath.Join(dir, name+".png")); err != nil {
			t.Fatal(err)
		}
	}
}
