package plots

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divres/divres/diversity"
)

// tinyReport computes the diversity of 3 members on 6 samples and writes it, with
// member names, as DIR/diversity.json.
func tinyReport(t *testing.T, dir string) *diversity.Report {
	t.Helper()
	p := []float32{}
	preds := [][]int{{0, 1, 0, 1, 0, 1}, {0, 1, 1, 1, 0, 0}, {1, 1, 0, 0, 0, 1}}
	for _, row := range preds {
		for _, c := range row {
			if c == 0 {
				p = append(p, 0.8, 0.2)
			} else {
				p = append(p, 0.3, 0.7)
			}
		}
	}
	rep, err := diversity.Compute(diversity.Inputs{M: 3, N: 6, C: 2, Probs: p, Labels: []int64{0, 1, 0, 1, 0, 1}},
		diversity.Options{Metrics: []string{"disagreement", "q_statistic", "double_fault"}})
	if err != nil {
		t.Fatal(err)
	}
	rep.Values["members"] = []string{"r18", "vgg", "lenet"}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "diversity.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestDiversityMatrices: the matrices read back from diversity.json are the
// report's (null diagonal as NaN, member names), and draw as PNG and SVG.
func TestDiversityMatrices(t *testing.T) {
	dir := t.TempDir()
	rep := tinyReport(t, dir)
	ms, err := ReadDiversityMatrices(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
		want := rep.Values[m.Name+"_matrix"].([][]float64)
		for i := range want {
			for j := range want[i] {
				a, b := m.Values[i][j], want[i][j]
				if (math.IsNaN(a) != math.IsNaN(b)) || (!math.IsNaN(a) && a != b) {
					t.Fatalf("%s[%d][%d] = %v, want %v", m.Name, i, j, a, b)
				}
			}
		}
		if strings.Join(m.Members, ",") != "r18,vgg,lenet" {
			t.Errorf("members %v", m.Members)
		}
	}
	// disagreement of members 0 and 1: samples 2 and 5 differ → 2/6.
	if ms[0].Name != "disagreement" || math.Abs(ms[0].Values[0][1]-2.0/6) > 1e-12 {
		t.Errorf("matrices %v, disagreement(0,1) = %v", names, ms[0].Values[0][1])
	}
	for _, ext := range []string{"png", "svg"} {
		path := filepath.Join(dir, "m."+ext)
		if err := DiversityHeatmaps(ms, path); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(path); err != nil || st.Size() < 1000 {
			t.Fatalf("%s: %v", path, err)
		}
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "m.svg"))
	if !strings.Contains(string(svg), "0.33") || !strings.Contains(string(svg), "lenet") {
		t.Error("the SVG lacks the disagreement value 0.33 or a member name")
	}
	if _, err := ReadDiversityMatrices(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file read")
	}
}

// TestLineFit: the least-squares line through exact points is that line.
func TestLineFit(t *testing.T) {
	x := []float64{0, 1, 2, 5}
	y := []float64{2, 5, 8, 17}
	if a, b := lineFit(x, y); math.Abs(a-2) > 1e-12 || math.Abs(b-3) > 1e-12 {
		t.Errorf("a %v b %v, want 2 and 3", a, b)
	}
	if _, b := lineFit([]float64{1, 1}, []float64{0, 1}); !math.IsNaN(b) {
		t.Errorf("constant x: slope %v", b)
	}
}

// TestDiversityScatter: accuracy a monotone function of disagreement gives ρ = 1
// in the legend; homogeneous and heterogeneous ensembles both appear.
func TestDiversityScatter(t *testing.T) {
	var ens []diversity.Ensemble
	for i := range 12 {
		d := 0.05 * float64(i+1)
		ens = append(ens, diversity.Ensemble{Name: "e", Homogeneous: i%3 == 0,
			Metrics:   map[string]float64{"accuracy": 0.5 + d*d, "relative_mce": 1 - d/2},
			Diversity: map[string]float64{"disagreement": d, "kappa": math.Sin(float64(i)), "constant": 1}})
	}
	if got := ScalarDiversityKeys(ens); strings.Join(got, ",") != "disagreement,kappa" {
		t.Errorf("measures %v, want disagreement and kappa (constant left out)", got)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "s.svg")
	if err := DiversityScatter(ens, "accuracy", nil, path, diversity.CorrOptions{Bootstrap: 200, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	svg, _ := os.ReadFile(path)
	for _, want := range []string{"ρ = 1.00 [1.00, 1.00], n = 12", "homogeneous", "heterogeneous", "disagreement", "kappa"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	if err := DiversityScatter(ens, "relative_mce", []string{"disagreement"}, filepath.Join(dir, "r.png"), diversity.CorrOptions{Bootstrap: 50}); err != nil {
		t.Fatal(err)
	}
	if err := DiversityScatter(ens, "no_such_target", nil, filepath.Join(dir, "x.png"), diversity.CorrOptions{}); err == nil {
		t.Error("a missing target drew")
	}
}

// TestEnsembleVsMembers: per column the best member is the most accurate one and
// the mean is the members' mean; the figure and DiversityFigures' discovery work
// on an ensemble eval directory.
func TestEnsembleVsMembers(t *testing.T) {
	rs := synthResults(t, 4, 3)
	ens := rs[0]
	ens.Model = "r18+vgg+lenet"
	members := rs[1:]
	mc, err := CompareMembers(ens, members)
	if err != nil {
		t.Fatal(err)
	}
	if mc.Columns[0] != "clean" || len(mc.Columns) != 20 {
		t.Fatalf("columns %v", mc.Columns)
	}
	for i, c := range mc.Columns {
		best, sum := math.Inf(-1), 0.0
		for _, m := range members {
			a := 100 * (1 - m.CleanError)
			if c != "clean" {
				a = 100 * (1 - meanEvaluated(m.Errors[c]))
			}
			best = math.Max(best, a)
			sum += a
		}
		if math.Abs(mc.Best[i]-best) > 1e-9 || math.Abs(mc.Mean[i]-sum/3) > 1e-9 {
			t.Errorf("%s: best %v mean %v, want %v and %v", c, mc.Best[i], mc.Mean[i], best, sum/3)
		}
	}
	dir := t.TempDir()
	writeJSON(t, dir, "eval.json", ens)
	for _, m := range members {
		writeJSON(t, dir, filepath.Join("members", m.Model, "eval.json"), m)
	}
	tinyReport(t, dir)
	out := filepath.Join(dir, "figs")
	written, skipped, err := DiversityFigures([]string{dir}, out, []string{"png"})
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 2 || len(skipped) != 0 {
		t.Errorf("written %v, skipped %v; want the heat maps and the member comparison", written, skipped)
	}
	if _, err := CompareMembers(ens, nil); err == nil {
		t.Error("no members accepted")
	}
}

// TestSpearmanInterval: the interval is the one diversity.Correlate gives for ρ
// with the same seed and resamples.
func TestSpearmanInterval(t *testing.T) {
	x := []float64{0.1, 0.4, 0.2, 0.8, 0.5, 0.9, 0.3, 0.7, 0.6, 0.05}
	y := []float64{1, 3, 2, 5, 6, 9, 2.5, 4, 8, 0}
	o := diversity.CorrOptions{Bootstrap: 300, Seed: 4}
	c, err := diversity.Correlate(x, y, o)
	if err != nil {
		t.Fatal(err)
	}
	rho, lo, hi := spearmanInterval(x, y, o)
	if rho != c.Spearman.Value || math.Abs(lo-c.Spearman.Low) > 1e-12 || math.Abs(hi-c.Spearman.High) > 1e-12 {
		t.Errorf("ρ %v [%v, %v], Correlate %v [%v, %v]", rho, lo, hi, c.Spearman.Value, c.Spearman.Low, c.Spearman.High)
	}
}
