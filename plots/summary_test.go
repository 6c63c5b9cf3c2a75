package plots

import (
	"math"
	"strings"
	"testing"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/diversity"
)

// flat returns five equal errors.
func flat(e float64) []float64 { return []float64{e, e, e, e, e} }

// ramp5 returns a, a+d, …, a+4d.
func ramp5(a, d float64) []float64 { return []float64{a, a + d, a + 2*d, a + 3*d, a + 4*d} }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestFamilyErrorsAveragesBenchmarkCorruptions(t *testing.T) {
	r := Result{Model: "m", CleanError: 0.05, Errors: map[string][]float64{
		"gaussian_noise": ramp5(0.1, 0.1),   // 0.1 … 0.5
		"shot_noise":     ramp5(0.2, 0.1),   // 0.2 … 0.6
		"impulse_noise":  ramp5(0.3, 0.1),   // 0.3 … 0.7
		"speckle_noise":  flat(0.9),         // extra: must not count
		"brightness":     ramp5(0.06, 0.01), // weather in the benchmark grouping
		"spatter":        flat(0.5),         // extra weather: must not count
		"saturate":       ramp5(0.1, 0.05),  // the only digital one: extra, counts
	}}
	noise, ok := FamilyErrors(r, "noise")
	if !ok {
		t.Fatal("noise: not found")
	}
	want := [6]float64{0.05, 0.2, 0.3, 0.4, 0.5, 0.6}
	for s := range want {
		if !near(noise[s], want[s]) {
			t.Errorf("noise[%d] = %v, want %v", s, noise[s], want[s])
		}
	}
	weather, _ := FamilyErrors(r, "weather")
	if !near(weather[3], 0.08) {
		t.Errorf("weather at severity 3 = %v, want 0.08 (brightness only)", weather[3])
	}
	digital, ok := FamilyErrors(r, "digital")
	if !ok || !near(digital[5], 0.3) {
		t.Errorf("digital = %v, %v; want the extra saturate (0.3 at severity 5)", digital, ok)
	}
	if _, ok := FamilyErrors(r, "blur"); ok {
		t.Error("blur: found in a result without blur corruptions")
	}
}

func TestFamilyErrorsSkipsUnevaluated(t *testing.T) {
	ne := corrupt.NotEvaluated
	r := Result{Model: "m", CleanError: 0.1, Errors: map[string][]float64{
		"snow": {0.2, ne, 0.4, ne, ne},
		"fog":  {0.4, ne, 0.6, 0.7, ne},
	}}
	// The result is evaluated at severities 1, 3 and 4; fog has them all, snow
	// lacks 4, so the family curve is fog's.
	got, _ := FamilyErrors(r, "weather")
	if !near(got[1], 0.4) || !math.IsNaN(got[2]) || !near(got[3], 0.6) || !near(got[4], 0.7) || !math.IsNaN(got[5]) {
		t.Errorf("weather = %v, want [0.1 0.4 NaN 0.6 0.7 NaN]", got)
	}
	// Evaluated at severity 3 only, both rows are complete.
	r3 := Result{Model: "m", CleanError: 0.1, Errors: map[string][]float64{"snow": {ne, ne, 0.4, ne, ne}, "fog": {ne, ne, 0.6, ne, ne}}}
	if got, _ := FamilyErrors(r3, "weather"); !near(got[3], 0.5) || !math.IsNaN(got[1]) {
		t.Errorf("weather at severity 3 only = %v, want 0.5 at 3", got)
	}
	if m := meanCorruptionError(r); !near(m, (0.2+0.4+0.4+0.6+0.7)/5) {
		t.Errorf("mean corruption error = %v", m)
	}
	// A complete row is preferred to incomplete ones.
	r.Errors["brightness"] = ramp5(0.2, 0.05)
	got, _ = FamilyErrors(r, "weather")
	if !near(got[5], 0.4) || !near(got[2], 0.25) {
		t.Errorf("weather with a complete row = %v, want brightness alone", got)
	}
}

func TestFamilyOfUsesBenchmarkGrouping(t *testing.T) {
	for c, want := range map[string]string{
		"brightness": "weather", "contrast": "digital", "elastic_transform": "digital",
		"zoom_blur": "blur", "spatter": "weather", "speckle_noise": "noise", "nope": "",
	} {
		if f, _ := FamilyOf(c); f != want {
			t.Errorf("FamilyOf(%s) = %q, want %q", c, f, want)
		}
	}
	n := 0
	for _, c := range corrupt.Names {
		if _, bench := FamilyOf(c); bench {
			n++
		}
		if f, _ := FamilyOf(c); f == "" {
			t.Errorf("%s has no family", c)
		}
	}
	if n != 15 {
		t.Errorf("%d benchmark corruptions, want 15", n)
	}
}

// TestSummaryKnownNumbers checks CE and relative CE on numbers worked by hand.
func TestSummaryKnownNumbers(t *testing.T) {
	base := Result{Model: "base", CleanError: 0.1, Errors: map[string][]float64{
		"gaussian_noise": flat(0.3), "fog": flat(0.2), "saturate": flat(0.1),
	}}
	m := Result{Model: "m", CleanError: 0.05, Errors: map[string][]float64{
		"gaussian_noise": flat(0.15), "fog": flat(0.3), "saturate": flat(0.2),
	}}
	ss := Summarize([]Result{base, m}, 0)
	s := ss[1]
	// CE: 0.15/0.3 = 0.5 and 0.3/0.2 = 1.5 → mCE 1.0 (saturate, extra, not in the mean).
	// relative: (0.15−0.05)/(0.3−0.1) = 0.5 and (0.3−0.05)/(0.2−0.1) = 2.5 → 1.5.
	// saturate does not hurt the baseline (0.1 − 0.1 = 0): relative CE undefined.
	if !near(s.CE["gaussian_noise"], 0.5) || !near(s.CE["fog"], 1.5) || !near(s.CE["saturate"], 2) {
		t.Errorf("CE = %v", s.CE)
	}
	if !near(s.MCE, 1) || !near(s.RelativeMCE, 1.5) || s.Scored != 2 {
		t.Errorf("mCE = %v, relative mCE = %v over %d; want 1, 1.5 over 2", s.MCE, s.RelativeMCE, s.Scored)
	}
	if _, ok := s.RelativeCE["saturate"]; ok {
		t.Error("relative CE of a corruption that does not hurt the baseline is defined")
	}
	if !ss[0].IsBaseline || !near(ss[0].MCE, 1) || !near(ss[0].RelativeMCE, 1) {
		t.Errorf("baseline summary = %+v", ss[0])
	}
	if !near(s.CorruptionError, 0.225) || !near(s.CorruptionAccuracy, 0.775) {
		t.Errorf("corruption error %v, accuracy %v; want 0.225, 0.775", s.CorruptionError, s.CorruptionAccuracy)
	}
}

// TestSummaryAgreesWithCorrupt checks the plots' CE against corrupt.ComputeCE on
// complete results, where both are defined the same way.
func TestSummaryAgreesWithCorrupt(t *testing.T) {
	rs := synthResults(t, 8, 3)
	ss := Summarize(rs, 0)
	for i := range rs {
		r := rs[i]
		if err := corrupt.ComputeCE(&r, &rs[0]); err != nil {
			t.Fatal(err)
		}
		s := ss[i]
		if r.MCE == nil || !near(*r.MCE, s.MCE) || r.RelativeMCE == nil || !near(*r.RelativeMCE, s.RelativeMCE) {
			t.Errorf("%s: mCE %v / %v, relative %v / %v", r.Model, *r.MCE, s.MCE, *r.RelativeMCE, s.RelativeMCE)
		}
		for c, v := range r.CE {
			if !near(v, s.CE[c]) {
				t.Errorf("%s: CE[%s] %v / %v", r.Model, c, v, s.CE[c])
			}
		}
		if len(r.RelativeCE) != len(s.RelativeCE) {
			t.Errorf("%s: %d relative CEs, corrupt has %d", r.Model, len(s.RelativeCE), len(r.RelativeCE))
		}
		if s.Scored != 15 {
			t.Errorf("%s: scored %d corruptions, want 15", r.Model, s.Scored)
		}
	}
}

func TestSummaryUsesStoredValuesWithoutBaseline(t *testing.T) {
	v, w := 0.8, 0.9
	rs := []Result{{Model: "a", Errors: map[string][]float64{"fog": flat(0.2)}, MCE: &v, RelativeMCE: &w}}
	s := Summarize(rs, -1)[0]
	if s.MCE != 0.8 || s.RelativeMCE != 0.9 || s.IsBaseline {
		t.Errorf("summary = %+v", s)
	}
	rs[0].MCE, rs[0].RelativeMCE = nil, nil
	s = Summarize(rs, -1)[0]
	if !math.IsNaN(s.MCE) || !math.IsNaN(s.RelativeMCE) {
		t.Errorf("unknown mCE gave %v, %v; want NaN", s.MCE, s.RelativeMCE)
	}
}

func TestSortSummaries(t *testing.T) {
	nan := math.NaN()
	ss := []Summary{
		{Model: "d", RelativeMCE: nan, MCE: nan, CorruptionError: 0.1},
		{Model: "c", RelativeMCE: 1.2, MCE: 1.1},
		{Model: "b", RelativeMCE: 0.9, MCE: 1.3},
		{Model: "a", RelativeMCE: 1.2, MCE: 1.0},
		{Model: "e", RelativeMCE: nan, MCE: nan, CorruptionError: 0.05},
	}
	SortSummaries(ss)
	var got []string
	for _, s := range ss {
		got = append(got, s.Model)
	}
	if strings.Join(got, "") != "baced" {
		t.Errorf("order %v, want b a c e d", got)
	}
}

func TestFindBaseline(t *testing.T) {
	rs := []Result{
		{Model: "r18", Arch: "resnet18", Baseline: "big"},
		{Model: "big", Arch: "resnet50", Baseline: "big"},
		{Model: "v1", Arch: "vgg16_bn"},
		{Model: "v2", Arch: "vgg16_bn"},
	}
	for _, tc := range []struct {
		name string
		want int
		err  string
	}{
		{"v1", 2, ""},
		{"resnet18", 0, ""},
		{"", 1, ""},
		{"vgg16_bn", -1, "2 results have that architecture"},
		{"nope", -1, "not among the results"},
	} {
		got, err := FindBaseline(rs, tc.name)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("FindBaseline(%q) = %d, %v; want %d, %q", tc.name, got, err, tc.want, tc.err)
		}
	}
	rs[0].Baseline, rs[1].Baseline = "", ""
	if got, _ := FindBaseline(rs, ""); got != 1 {
		t.Errorf("default baseline = %d, want the resnet50 (1)", got)
	}
	if got, err := FindBaseline(rs[2:], ""); got != -1 || err != nil {
		t.Errorf("no baseline: %d, %v; want -1, nil", got, err)
	}
}

func TestRanksAndCorrelations(t *testing.T) {
	r := diversity.Ranks([]float64{10, 30, 20, 30})
	if want := []float64{1, 3.5, 2, 3.5}; !equalFloats(r, want) {
		t.Errorf("ranks = %v, want %v", r, want)
	}
	x := []float64{1, 2, 3, 4, 5}
	if v := spearman(x, []float64{1, 4, 9, 16, 100}); !near(v, 1) {
		t.Errorf("spearman of a monotone map = %v, want 1", v)
	}
	if v := pearson(x, []float64{5, 4, 3, 2, 1}); !near(v, -1) {
		t.Errorf("pearson = %v, want -1", v)
	}
	// Worked example: x = 1..5, y = 2 1 4 3 5: Σdxdy = 8, Σdx² = Σdy² = 10 → 0.8.
	if v := pearson(x, []float64{2, 1, 4, 3, 5}); !near(v, 0.8) {
		t.Errorf("pearson = %v, want 0.8", v)
	}
	if v := pearson(x, []float64{1, 1, 1, 1, 1}); !math.IsNaN(v) {
		t.Errorf("pearson with a constant = %v, want NaN", v)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !near(a[i], b[i]) {
			return false
		}
	}
	return true
}
