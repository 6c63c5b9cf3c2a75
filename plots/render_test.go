package plots

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRenderForViewing writes every figure of a synthetic study to
// $DIVRES_PLOTS_OUT for a person to look at; it is skipped without that variable.
func TestRenderForViewing(t *testing.T) {
	out := os.Getenv("DIVRES_PLOTS_OUT")
	if out == "" {
		t.Skip("set DIVRES_PLOTS_OUT=DIR to render the figures for viewing")
	}
	for _, n := range []int{6, 24} {
		rs := synthResults(t, n, 1)
		dir := filepath.Join(out, map[int]string{6: "small", 24: "large"}[n])
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, fig := range map[string]func([]Result, string, string) error{
			"relative_mce": RelativeMCEBars, "error_vs_severity": ErrorVsSeverity,
			"heatmap_error": Heatmap, "heatmap_ce": HeatmapCE,
			"accuracy_vs_resilience": AccuracyVsResilience,
		} {
			if err := fig(rs, "resnet50", filepath.Join(dir, name+".png")); err != nil {
				t.Fatal(err)
			}
		}
	}
}
