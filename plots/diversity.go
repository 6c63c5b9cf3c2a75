package plots

import (
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/divres/divres/diversity"
)

// Figure names of the ensemble and diversity figures (plus the format's extension).
const (
	FigDiversityMatrices    = "diversity_matrices"
	FigDiversityAccuracy    = "ensemble_accuracy_vs_diversity"
	FigDiversityRelativeMCE = "ensemble_relative_mce_vs_diversity"
	FigEnsembleVsMembers    = "ensemble_vs_members"
)

// DiversityMatrix is one pairwise diversity measure between an ensemble's members
// (NaN on the diagonal and where undefined).
type DiversityMatrix struct {
	Name    string
	Members []string
	Values  [][]float64
}

// ReadDiversityMatrices reads the M×M matrices ("<name>_matrix" keys) of a
// diversity.json written by divres diversity (a file or its directory), in name
// order; member names come from its "members" list (m0, m1, … without one).
func ReadDiversityMatrices(path string) ([]DiversityMatrix, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "diversity.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read diversity: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("read diversity %s: %w", path, err)
	}
	var members []string
	if m, ok := raw["members"]; ok {
		if err := json.Unmarshal(m, &members); err != nil {
			return nil, fmt.Errorf("read diversity %s: members: %w", path, err)
		}
	}
	var out []DiversityMatrix
	for k, v := range raw {
		name, ok := strings.CutSuffix(k, "_matrix")
		if !ok {
			continue
		}
		var rows [][]*float64
		if err := json.Unmarshal(v, &rows); err != nil {
			return nil, fmt.Errorf("read diversity %s: %s: %w", path, k, err)
		}
		m := DiversityMatrix{Name: name, Values: make([][]float64, len(rows))}
		for i, r := range rows {
			if len(r) != len(rows) {
				return nil, fmt.Errorf("read diversity %s: %s row %d has %d values, want %d", path, k, i, len(r), len(rows))
			}
			m.Values[i] = make([]float64, len(r))
			for j, x := range r {
				m.Values[i][j] = math.NaN()
				if x != nil {
					m.Values[i][j] = *x
				}
			}
		}
		if members != nil && len(members) != len(rows) {
			return nil, fmt.Errorf("read diversity %s: %d members for a %d×%d %s", path, len(members), len(rows), len(rows), k)
		}
		m.Members = members
		if m.Members == nil {
			for i := range rows {
				m.Members = append(m.Members, fmt.Sprintf("m%d", i))
			}
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("read diversity %s: no pairwise matrices", path)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// matrixCells draws an M×M matrix (row 0 at the top) with its values written in
// the cells when they are large enough.
type matrixCells struct {
	Vals [][]float64
	Map  colorMap
}

// Plot implements plot.Plotter.
func (mc *matrixCells) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	n := len(mc.Vals)
	cw, ch := tx(1)-tx(0), ty(1)-ty(0)
	annotate := cw >= vg.Points(20) && ch >= vg.Points(10)
	size := vg.Length(math.Min(7.5, float64(ch)*0.35))
	gap := vg.Points(0.5)
	for i, row := range mc.Vals {
		y := float64(n - 1 - i)
		for j, v := range row {
			x0, x1 := tx(float64(j)-0.5)+gap, tx(float64(j)+0.5)-gap
			y0, y1 := ty(y-0.5)+gap, ty(y+0.5)-gap
			fill := lightGrey
			if !math.IsNaN(v) {
				fill = mc.Map.At(v)
			}
			c.FillPolygon(fill, []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
			if !annotate || i == j {
				continue
			}
			txt := "n/a"
			if !math.IsNaN(v) {
				txt = fmt.Sprintf("%.2f", v)
			}
			clr := black
			if luminance(fill) < 0.35 {
				clr = white
			}
			sty := textStyle(size, clr)
			sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
			c.FillText(sty, vg.Point{X: (x0 + x1) / 2, Y: (y0 + y1) / 2}, txt)
		}
	}
}

// offDiagonalRange returns the smallest and largest defined off-diagonal values.
func offDiagonalRange(v [][]float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for i, r := range v {
		for j, x := range r {
			if i != j && !math.IsNaN(x) && !math.IsInf(x, 0) {
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
		}
	}
	return lo, hi
}

// gridShape returns rows × cols for n panels, at most maxCols wide.
func gridShape(n, maxCols int) (rows, cols int) {
	cols = min(maxCols, int(math.Ceil(math.Sqrt(float64(n)))))
	cols = max(cols, 1)
	return (n + cols - 1) / cols, cols
}

// DiversityHeatmaps draws each pairwise diversity matrix as a heat map (viridis
// over the matrix's own range, values in the cells), one panel per measure.
func DiversityHeatmaps(ms []DiversityMatrix, path string) error {
	if _, err := formatOf(path); err != nil {
		return err
	}
	if len(ms) == 0 {
		return errors.New("diversity heat maps: no matrices")
	}
	var panels []*plot.Plot
	for _, m := range ms {
		n := len(m.Values)
		if n < 2 || len(m.Members) != n {
			return fmt.Errorf("diversity heat maps: %s is %d×%d with %d member names", m.Name, n, n, len(m.Members))
		}
		lo, hi := offDiagonalRange(m.Values)
		if math.IsInf(lo, 1) {
			lo, hi = 0, 1
		}
		if hi-lo < 1e-12 {
			lo, hi = lo-0.5, hi+0.5
		}
		p := newPlot()
		p.Title.Text = m.Name
		p.Title.TextStyle = textStyle(labelSize, black)
		p.Title.TextStyle.XAlign, p.Title.TextStyle.YAlign = draw.XCenter, draw.YTop
		p.Add(&matrixCells{Vals: m.Values, Map: sequential{Lo: lo, Hi: hi}})
		var xt, yt []plot.Tick
		for i, name := range m.Members {
			xt = append(xt, plot.Tick{Value: float64(i), Label: name})
			yt = append(yt, plot.Tick{Value: float64(n - 1 - i), Label: name})
		}
		p.X.Tick.Marker, p.Y.Tick.Marker = plot.ConstantTicks(xt), plot.ConstantTicks(yt)
		p.X.Min, p.X.Max = -0.5, float64(n)-0.5
		p.Y.Min, p.Y.Max = -0.5, float64(n)-0.5
		for _, a := range []*plot.Axis{&p.X, &p.Y} {
			a.Padding, a.Tick.Length, a.LineStyle.Width = 0, vg.Points(2), 0
			a.Tick.Color = midGrey
		}
		p.X.Tick.Label.Rotation = math.Pi / 4
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YTop
		panels = append(panels, p)
	}
	rows, cols := gridShape(len(panels), 4)
	side := math.Max(2.6, 0.45*float64(len(ms[0].Values))+1.3)
	w, h := inches(side*float64(cols)+0.4), inches(side*float64(rows)+0.6)
	f := frame{Title: "Pairwise diversity between the members", Subtitle: "each panel coloured over its own range (viridis: low dark, high light)"}
	return saveFigure(path, w, h, func(dc draw.Canvas) error {
		c := f.draw(dc)
		grid := make([][]*plot.Plot, rows)
		for i := range grid {
			grid[i] = make([]*plot.Plot, cols)
			for j := range grid[i] {
				if k := i*cols + j; k < len(panels) {
					grid[i][j] = panels[k]
				}
			}
		}
		tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(14), PadY: vg.Points(14)}
		cs := plot.Align(grid, tiles, c)
		for i := range grid {
			for j, p := range grid[i] {
				if p != nil {
					p.Draw(cs[i][j])
				}
			}
		}
		return nil
	})
}

// ScalarDiversityKeys returns the diversity keys that have a finite value for at
// least 3 ensembles and are not constant, sorted: the measures worth a panel.
func ScalarDiversityKeys(ens []diversity.Ensemble) []string {
	vals := map[string][]float64{}
	for _, e := range ens {
		for k, v := range e.Diversity {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				vals[k] = append(vals[k], v)
			}
		}
	}
	var out []string
	for k, v := range vals {
		if len(v) < 3 {
			continue
		}
		lo, hi := rangeOf(v)
		if hi > lo {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// lineFit returns the least-squares line y = a + b x (NaN when x is constant).
func lineFit(x, y []float64) (a, b float64) {
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	n := float64(len(x))
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	if sxx == 0 {
		return math.NaN(), math.NaN()
	}
	b = sxy / sxx
	return my - b*mx, b
}

// targetLabel is the axis label of an ensembles-table target, and the factor its
// values are drawn with.
func targetLabel(t string) (string, float64) {
	switch {
	case t == "accuracy":
		return "ensemble accuracy (%)", 100
	case t == "relative_mce":
		return "ensemble relative mCE (% of baseline)", 100
	case t == "mce":
		return "ensemble mCE (% of baseline)", 100
	case strings.HasPrefix(t, "accuracy") || t == "corruption_accuracy":
		return strings.ReplaceAll(t, "_", " ") + " (%)", 100
	}
	return t, 1
}

// DiversityScatter draws, for each diversity measure (nil: ScalarDiversityKeys), the
// ensembles' target (a metrics key such as "accuracy" or "relative_mce") against
// the measure: one point per ensemble, homogeneous ensembles (one architecture) and
// heterogeneous ones in two colours, the least-squares line, and the Spearman ρ with
// its bootstrap interval (o) in the panel's legend.
func DiversityScatter(ens []diversity.Ensemble, target string, measures []string, path string, o diversity.CorrOptions) error {
	if _, err := formatOf(path); err != nil {
		return err
	}
	if measures == nil {
		measures = ScalarDiversityKeys(ens)
	}
	if len(measures) == 0 {
		return fmt.Errorf("diversity scatter: no diversity measure varies over %d ensembles", len(ens))
	}
	ylabel, scale := targetLabel(target)
	homC, hetC := okabeIto[0], okabeIto[1]
	glyph := func(c color.Color, shape draw.GlyphDrawer) draw.GlyphStyle {
		return draw.GlyphStyle{Color: c, Radius: vg.Points(2.3), Shape: shape}
	}
	homG, hetG := glyph(homC, draw.CircleGlyph{}), glyph(hetC, draw.TriangleGlyph{})
	fitStyle := draw.LineStyle{Color: darkGrey, Width: vg.Points(1)}
	var panels []*plot.Plot
	anyHom, anyHet := false, false
	for _, m := range measures {
		var x, y []float64
		var hom, het plotter.XYs
		for _, e := range ens {
			dv, ok1 := e.Diversity[m]
			tv, ok2 := e.Metrics[target]
			if !ok1 || !ok2 || math.IsNaN(dv) || math.IsNaN(tv) || math.IsInf(dv, 0) || math.IsInf(tv, 0) {
				continue
			}
			x, y = append(x, dv), append(y, scale*tv)
			if e.Homogeneous {
				hom = append(hom, plotter.XY{X: dv, Y: scale * tv})
			} else {
				het = append(het, plotter.XY{X: dv, Y: scale * tv})
			}
		}
		if len(x) == 0 {
			continue
		}
		p := newPlot()
		p.X.Label.Text = m
		p.Y.Label.Text = ylabel
		p.Add(newGrid())
		for _, s := range []struct {
			pts plotter.XYs
			g   draw.GlyphStyle
		}{{het, hetG}, {hom, homG}} {
			if len(s.pts) == 0 {
				continue
			}
			sc, err := plotter.NewScatter(s.pts)
			if err != nil {
				return fmt.Errorf("diversity scatter %s: %w", m, err)
			}
			sc.GlyphStyle = s.g
			p.Add(sc)
		}
		anyHom, anyHet = anyHom || len(hom) > 0, anyHet || len(het) > 0
		xlo, xhi := rangeOf(x)
		label := fmt.Sprintf("ρ n/a, n = %d", len(x))
		if len(x) >= 3 {
			if rho, lo, hi := spearmanInterval(x, y, o); !math.IsNaN(rho) {
				label = fmt.Sprintf("ρ = %.2f [%.2f, %.2f], n = %d", rho, lo, hi, len(x))
			} else {
				label = fmt.Sprintf("ρ undefined (constant), n = %d", len(x))
			}
		}
		if a, b := lineFit(x, y); !math.IsNaN(b) {
			l, err := plotter.NewLine(plotter.XYs{{X: xlo, Y: a + b*xlo}, {X: xhi, Y: a + b*xhi}})
			if err == nil {
				l.LineStyle = fitStyle
				p.Add(l)
				p.Legend.Add(label, l)
			}
		} else {
			p.Legend.Add(label)
		}
		p.Legend.Top, p.Legend.Left = true, false
		p.Legend.TextStyle = textStyle(noteSize+0.5, black)
		p.X.Tick.Marker, p.Y.Tick.Marker = niceTicks{Target: 4}, niceTicks{Target: 5}
		pad := math.Max((xhi-xlo)*0.08, 1e-6)
		p.X.Min, p.X.Max = xlo-pad, xhi+pad
		ylo, yhi := rangeOf(y)
		ypad := math.Max((yhi-ylo)*0.25, 0.5)
		p.Y.Min, p.Y.Max = ylo-ypad*0.4, yhi+ypad
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return fmt.Errorf("diversity scatter: no ensemble has both %s and a diversity value", target)
	}
	rows, cols := gridShape(len(panels), 4)
	w, h := inches(3.3*float64(cols)+0.3), inches(2.9*float64(rows)+0.7)
	t, _ := targetLabel(target)
	f := frame{Title: strings.ToUpper(t[:1]) + t[1:] + " against diversity", Subtitle: fmt.Sprintf("%d ensembles; line: least squares; ρ: Spearman with %.0f%% bootstrap interval",
		len(ens), 100*levelOf(o))}
	if anyHom {
		f.Legend = append(f.Legend, legendItem{Label: "homogeneous (one architecture)", Thumb: glyphThumb{homG}})
	}
	if anyHet {
		f.Legend = append(f.Legend, legendItem{Label: "heterogeneous", Thumb: glyphThumb{hetG}})
	}
	return saveFigure(path, w, h, func(dc draw.Canvas) error {
		c := f.draw(dc)
		grid := make([][]*plot.Plot, rows)
		for i := range grid {
			grid[i] = make([]*plot.Plot, cols)
			for j := range grid[i] {
				if k := i*cols + j; k < len(panels) {
					grid[i][j] = panels[k]
				}
			}
		}
		cs := plot.Align(grid, draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(14), PadY: vg.Points(12)}, c)
		for i := range grid {
			for j, p := range grid[i] {
				if p != nil {
					p.Draw(cs[i][j])
				}
			}
		}
		return nil
	})
}

// spearmanInterval returns Spearman's ρ of (x, y) and its seeded bootstrap
// percentile interval (o.Bootstrap resamples, default 1000, at o.Level, default
// 0.95), as diversity.Correlate computes it for ρ, without the other
// coefficients: Kendall's τ-b costs O(n²) per resample, too much for a figure of
// thousands of ensembles.
func spearmanInterval(x, y []float64, o diversity.CorrOptions) (rho, lo, hi float64) {
	rho = diversity.Spearman(x, y)
	b := o.Bootstrap
	if b == 0 {
		b = 1000
	}
	if math.IsNaN(rho) || b < 0 {
		return rho, math.NaN(), math.NaN()
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	n := len(x)
	bx, by := make([]float64, n), make([]float64, n)
	var vs []float64
	for range b {
		for i := range n {
			j := rng.IntN(n)
			bx[i], by[i] = x[j], y[j]
		}
		if v := diversity.Spearman(bx, by); !math.IsNaN(v) {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return rho, math.NaN(), math.NaN()
	}
	sort.Float64s(vs)
	q := func(p float64) float64 {
		pos := p * float64(len(vs)-1)
		i := int(math.Floor(pos))
		if i+1 >= len(vs) {
			return vs[len(vs)-1]
		}
		return vs[i] + (pos-float64(i))*(vs[i+1]-vs[i])
	}
	a := (1 - levelOf(o)) / 2
	return rho, q(a), q(1 - a)
}

func levelOf(o diversity.CorrOptions) float64 {
	if o.Level == 0 {
		return 0.95
	}
	return o.Level
}

// glyphThumb is a legend entry showing one glyph.
type glyphThumb struct{ g draw.GlyphStyle }

// Thumbnail implements plot.Thumbnailer.
func (t glyphThumb) Thumbnail(c *draw.Canvas) {
	c.DrawGlyphNoClip(t.g, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: (c.Min.Y + c.Max.Y) / 2})
}

// MemberComparison is the accuracy of an ensemble, of its best member and the mean
// of its members on the clean test set and on each corruption (mean over the
// evaluated severities), as EnsembleVsMembers draws it.
type MemberComparison struct {
	Columns              []string // "clean", then the corruptions in benchmark order
	Ensemble, Best, Mean []float64
	BestName             []string
	EnsembleName         string
	Members              int
}

// CompareMembers computes the MemberComparison of an ensemble's result and its
// members' results over the corruptions that all of them have.
func CompareMembers(ens Result, members []Result) (*MemberComparison, error) {
	if len(members) == 0 {
		return nil, errors.New("ensemble vs members: no member results")
	}
	var cols []string
	for c, es := range ens.Errors {
		if meanEvaluated(es) != meanEvaluated(es) { // NaN: nothing evaluated
			continue
		}
		ok := true
		for _, m := range members {
			mes, has := m.Errors[c]
			ok = ok && has && !math.IsNaN(meanEvaluated(mes))
		}
		if ok {
			cols = append(cols, c)
		}
	}
	cols = append([]string{"clean"}, corruptionOrder(cols)...)
	mc := &MemberComparison{Columns: cols, EnsembleName: ens.Model, Members: len(members)}
	acc := func(r Result, c string) float64 {
		if c == "clean" {
			return 100 * (1 - r.CleanError)
		}
		return 100 * (1 - meanEvaluated(r.Errors[c]))
	}
	for _, c := range cols {
		mc.Ensemble = append(mc.Ensemble, acc(ens, c))
		best, bestName, sum := math.Inf(-1), "", 0.0
		for _, m := range members {
			a := acc(m, c)
			sum += a
			if a > best {
				best, bestName = a, m.Model
			}
		}
		mc.Best, mc.BestName = append(mc.Best, best), append(mc.BestName, bestName)
		mc.Mean = append(mc.Mean, sum/float64(len(members)))
	}
	return mc, nil
}

// EnsembleVsMembers draws the accuracy of the ensemble, its best member and the
// mean member per corruption (and clean) as grouped bars.
func EnsembleVsMembers(ens Result, members []Result, path string) error {
	if _, err := formatOf(path); err != nil {
		return err
	}
	mc, err := CompareMembers(ens, members)
	if err != nil {
		return err
	}
	const w = 0.27
	series := []struct {
		label string
		vals  []float64
		clr   color.Color
	}{
		{"ensemble " + mc.EnsembleName, mc.Ensemble, okabeIto[0]},
		{"best member (per column)", mc.Best, okabeIto[1]},
		{fmt.Sprintf("mean of the %d members", mc.Members), mc.Mean, okabeIto[2]},
	}
	p := newPlot()
	p.Y.Label.Text = "accuracy (%)"
	p.Y.Tick.Marker = niceTicks{}
	p.Add(yGrid())
	f := frame{Title: "Ensemble against its members, per corruption (mean over severities)"}
	for k, s := range series {
		b := &bars{Width: w, Outline: draw.LineStyle{Color: white, Width: vg.Points(0.4)}}
		for i, v := range s.vals {
			b.X, b.Y = append(b.X, float64(i)+(float64(k)-1)*w), append(b.Y, v)
			b.Colors = append(b.Colors, s.clr)
		}
		p.Add(b)
		f.Legend = append(f.Legend, legendItem{Label: s.label, Thumb: swatch{Fill: s.clr}})
	}
	var ticks []plot.Tick
	for i, c := range mc.Columns {
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: c})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Tick.Length = vg.Points(3)
	p.X.Min, p.X.Max = -0.6, float64(len(mc.Columns))-0.4
	p.Y.Min, p.Y.Max = 0, math.Min(100, maxOf(mc.Ensemble, mc.Best, mc.Mean)*1.08+1)
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YTop
	width := inches(math.Max(5, 0.42*float64(len(mc.Columns))+1.6))
	return saveFigure(path, width, inches(4.4), func(dc draw.Canvas) error {
		p.Draw(f.draw(dc))
		return nil
	})
}

// DiversityFigures finds, under paths (files or directories searched
// recursively), the outputs of divres ensemble pool (ensembles.json), divres
// diversity (diversity.json with matrices) and divres ensemble eval (eval.json
// beside members/*/eval.json), and draws their figures into out: the ensemble
// accuracy and relative mCE against every diversity measure, the diversity heat
// maps and the ensemble against its members. With several inputs of a kind the
// file names get the input directory's name as a suffix. It returns the files
// written and, by figure, why one was not drawn.
func DiversityFigures(paths []string, out string, formats []string) ([]string, map[string]string, error) {
	formats, err := checkFormats(formats)
	if err != nil {
		return nil, nil, err
	}
	var ensFiles, divFiles, evalDirs []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, fmt.Errorf("diversity figures: %w", err)
		}
		files := []string{p}
		if st.IsDir() {
			if files, err = jsonFiles(p); err != nil {
				return nil, nil, err
			}
		}
		for _, f := range files {
			switch filepath.Base(f) {
			case "ensembles.json":
				ensFiles = append(ensFiles, f)
			case "diversity.json":
				divFiles = append(divFiles, f)
			case "eval.json":
				dir := filepath.Dir(f)
				if ms, _ := filepath.Glob(filepath.Join(dir, "members", "*", "eval.json")); len(ms) > 0 {
					evalDirs = append(evalDirs, dir)
				}
			}
		}
	}
	if len(ensFiles)+len(divFiles)+len(evalDirs) == 0 {
		return nil, nil, nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, nil, fmt.Errorf("diversity figures: %w", err)
	}
	var written []string
	skipped := map[string]string{}
	name := func(base, src string, many bool) string {
		if !many {
			return base
		}
		return base + "_" + strings.ReplaceAll(filepath.Base(filepath.Dir(src)), " ", "_")
	}
	drawFig := func(fig string, f func(path string) error) {
		for _, ext := range formats {
			path := filepath.Join(out, fig+"."+ext)
			if err := f(path); err != nil {
				skipped[fig] = err.Error()
				return
			}
			written = append(written, path)
		}
	}
	for _, f := range ensFiles {
		ens, err := diversity.ReadEnsembles(f)
		if err != nil {
			return written, skipped, err
		}
		co := diversity.CorrOptions{Bootstrap: 1000, Seed: 1}
		for _, t := range []struct{ fig, target string }{{FigDiversityAccuracy, "accuracy"}, {FigDiversityRelativeMCE, "relative_mce"}} {
			fig := name(t.fig, f, len(ensFiles) > 1)
			target := t.target
			drawFig(fig, func(path string) error { return DiversityScatter(ens, target, nil, path, co) })
		}
	}
	for _, f := range divFiles {
		ms, err := ReadDiversityMatrices(f)
		fig := name(FigDiversityMatrices, f, len(divFiles) > 1)
		if err != nil {
			skipped[fig] = err.Error()
			continue
		}
		drawFig(fig, func(path string) error { return DiversityHeatmaps(ms, path) })
	}
	for _, d := range evalDirs {
		ens, err := LoadResults(filepath.Join(d, "eval.json"))
		if err != nil {
			return written, skipped, err
		}
		members, err := LoadResults(filepath.Join(d, "members"))
		if err != nil {
			return written, skipped, err
		}
		fig := name(FigEnsembleVsMembers, filepath.Join(d, "eval.json"), len(evalDirs) > 1)
		drawFig(fig, func(path string) error { return EnsembleVsMembers(ens[0], members, path) })
	}
	return written, skipped, nil
}
