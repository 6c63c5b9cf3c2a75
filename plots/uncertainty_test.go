package plots

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// synthIntervals gives every model of rs (baseline resnet50) intervals of ±10 %
// around its relative mCE and mCE and ±20 % around its clean error, except that
// skip's relative mCE has no upper bound.
func synthIntervals(rs []Result, skip string) *Uncertainty {
	u := &Uncertainty{Intervals: map[string]ModelIntervals{}, Level: 0.95}
	for _, s := range Summarize(rs, 0) {
		mi := ModelIntervals{RelativeMCE: Interval{s.RelativeMCE, 0.9 * s.RelativeMCE, 1.1 * s.RelativeMCE},
			MCE: Interval{s.MCE, 0.9 * s.MCE, 1.1 * s.MCE}, CleanError: Interval{s.CleanError, 0.8 * s.CleanError, 1.2 * s.CleanError}}
		if s.Model == skip {
			mi.RelativeMCE.High = math.NaN()
		}
		u.Intervals[s.Model] = mi
	}
	return u
}

// errorBarPaths counts the SVG paths drawn as error bars: one path of three
// strokes (the bar and its two caps) each.
func errorBarPaths(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range regexp.MustCompile(`<path d="([^"]*)"`).FindAllStringSubmatch(string(b), -1) {
		if strings.Count(p[1], "M") == 3 && strings.Count(p[1], "L") == 3 {
			n++
		}
	}
	return n
}

// TestIntervalBarsExtents: the bar chart's error bars sit at the centre of their
// bars (relative mCE left, mCE right of the model's slot, in sorted order) and
// span the interval in percent; a model whose interval lacks a bound gets none.
func TestIntervalBarsExtents(t *testing.T) {
	rs := synthResults(t, 5, 11)
	u := synthIntervals(rs, "vgg16_bn")
	ss := Summarize(rs, 0)
	SortSummaries(ss)
	const w = 0.38
	e := intervalBars(ss, u, w)
	if len(e.X) != 2*len(ss)-1 || e.Horizontal {
		t.Fatalf("%d bars (horizontal %v), want %d vertical", len(e.X), e.Horizontal, 2*len(ss)-1)
	}
	k := 0
	for i, s := range ss {
		if s.Model != "vgg16_bn" {
			if e.X[k] != float64(i)-w/2 || !closeTo(e.Low[k], 90*s.RelativeMCE, 1e-9) || !closeTo(e.High[k], 110*s.RelativeMCE, 1e-9) {
				t.Errorf("%s relative mCE bar at %v from %v to %v", s.Model, e.X[k], e.Low[k], e.High[k])
			}
			k++
		}
		if e.X[k] != float64(i)+w/2 || !closeTo(e.Low[k], 90*s.MCE, 1e-9) || !closeTo(e.High[k], 110*s.MCE, 1e-9) {
			t.Errorf("%s mCE bar at %v from %v to %v", s.Model, e.X[k], e.Low[k], e.High[k])
		}
		k++
	}
	if got := intervalBars(ss, nil, w); len(got.X) != 0 {
		t.Errorf("%d bars without intervals", len(got.X))
	}
}

// TestFiguresDrawErrorBars: the bar chart draws one error bar per bar whose
// interval is known, the scatter plot a vertical and a horizontal one per point
// in its first panel and a vertical one in its second; without intervals there
// are none.
func TestFiguresDrawErrorBars(t *testing.T) {
	rs := synthResults(t, 6, 4)
	u := synthIntervals(rs, "vgg16_bn")
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		u    *Uncertainty
		bars int
		fig  func([]Result, string, string, *Uncertainty) error
	}{
		{"bars", u, 2*6 - 1, relativeMCEBars},
		{"bars_plain", nil, 0, relativeMCEBars},
		{"scatter", u, (6 - 1) + 6 + (6 - 1), accuracyVsResilience},
		{"scatter_plain", &Uncertainty{}, 0, accuracyVsResilience},
	} {
		p := filepath.Join(dir, c.name+".svg")
		if err := c.fig(rs, "resnet50", p, c.u); err != nil {
			t.Fatal(err)
		}
		if n := errorBarPaths(t, p); n != c.bars {
			t.Errorf("%s: %d error bars drawn, want %d", c.name, n, c.bars)
		}
	}
}

// TestSeedBand: a model's band runs from the lowest to the highest of its seeds'
// family errors at every severity, enclosing the mean curve; one seed gives no
// band; the severity figure fills one band per model and family.
func TestSeedBand(t *testing.T) {
	rs := synthResults(t, 3, 5)
	u := &Uncertainty{Seeds: map[string][]Result{}}
	for _, r := range rs {
		for k, d := range []float64{-0.02, 0.01, 0.03} {
			s := r
			s.Errors = map[string][]float64{}
			for c, row := range r.Errors {
				s.Errors[c] = make([]float64, len(row))
				for i, e := range row {
					s.Errors[c][i] = e + d
				}
			}
			s.CleanError = r.CleanError + d
			if r.Model != "resnet18" || k == 0 {
				u.Seeds[r.Model] = append(u.Seeds[r.Model], s)
			}
		}
	}
	b := seedBand(u, "resnet50", "noise", black)
	mean, _ := FamilyErrors(rs[0], "noise")
	if b == nil || len(b.X) != severities+1 {
		t.Fatalf("band %+v", b)
	}
	for k := range b.X {
		if !closeTo(b.Low[k], 100*mean[k]-2, 1e-9) || !closeTo(b.High[k], 100*mean[k]+3, 1e-9) {
			t.Errorf("severity %d: band %v..%v around %v", k, b.Low[k], b.High[k], 100*mean[k])
		}
	}
	if seedBand(u, "resnet18", "noise", black) != nil {
		t.Error("a band from one seed")
	}
	p := filepath.Join(t.TempDir(), "sev.svg")
	if err := errorVsSeverity(rs, "resnet50", p, u); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// Two models with bands in four family panels, filled at opacity 0.16.
	if n := strings.Count(string(svg), "fill-opacity:0.16"); n != 2*len(Families) {
		t.Errorf("%d translucent bands, want %d", n, 2*len(Families))
	}
}

// TestRunStudyReadsIntervals: RunStudy reads a statistics file in the study's
// format (null for an unknown bound) and per-seed results, and the figures it
// writes carry the error bars.
func TestRunStudyReadsIntervals(t *testing.T) {
	run := t.TempDir()
	rs := synthResults(t, 4, 9)
	for _, r := range rs {
		writeJSON(t, run, filepath.Join("eval", r.Model, "eval.json"), r)
		for k := range 2 {
			s := r
			s.CleanError += 0.01 * float64(k)
			writeJSON(t, run, filepath.Join("seeds", r.Model+"_s"+string(rune('0'+k)), "eval.json"), s)
		}
	}
	stats := `{"level": 0.9, "models": [
	  {"model": "resnet50", "seeds": 2, "relative_mce": {"value": 1, "low": 1, "high": 1}, "mce": {"value": 1, "low": 0.9, "high": 1.1},
	   "clean_error": {"value": 0.1, "low": 0.08, "high": 0.12}, "corruption_accuracy": {"value": 0.7, "low": null, "high": null}},
	  {"model": "resnet18", "seeds": 2, "relative_mce": {"value": 1.2, "low": 1.1, "high": null}, "mce": {"value": 1.1, "low": 1.0, "high": 1.2},
	   "clean_error": {"value": 0.1, "low": 0.08, "high": 0.12}}]}`
	sp := filepath.Join(run, "stats", "individual.json")
	if err := os.MkdirAll(filepath.Dir(sp), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sp, []byte(stats), 0o644); err != nil {
		t.Fatal(err)
	}
	ivs, level, err := ReadIntervals(sp)
	if err != nil {
		t.Fatal(err)
	}
	if level != 0.9 || len(ivs) != 2 || !math.IsNaN(ivs["resnet18"].RelativeMCE.High) || ivs["resnet18"].MCE.Low != 1.0 ||
		ivs["resnet18"].Seeds != 2 || !math.IsNaN(ivs["resnet18"].CorruptionAccuracy.Value) {
		t.Fatalf("intervals %+v, level %v", ivs, level)
	}
	out := filepath.Join(run, "figures")
	if _, err := RunStudy(StudyOptions{Results: []string{filepath.Join(run, "eval")}, Out: out, Baseline: "resnet50",
		Intervals: sp, Seeds: filepath.Join(run, "seeds"), Formats: []string{"svg"}}); err != nil {
		t.Fatal(err)
	}
	// Bars: resnet50's two and resnet18's mCE; scatter: resnet50's two in the
	// first panel and one in the second, resnet18's clean error.
	if n := errorBarPaths(t, filepath.Join(out, FigRelativeMCE+".svg")); n != 3 {
		t.Errorf("%d error bars in the bar chart, want 3", n)
	}
	if n := errorBarPaths(t, filepath.Join(out, FigScatter+".svg")); n != 4 {
		t.Errorf("%d error bars in the scatter plot, want 4", n)
	}
	if _, err := RunStudy(StudyOptions{Results: []string{filepath.Join(run, "eval")}, Out: out,
		Intervals: filepath.Join(run, "missing.json")}); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("a missing statistics file: %v", err)
	}
}
