package plots

import (
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// NCLRow is one cell of a joint-training (NCL) sweep, or a reference ensemble
// evaluated the same way: the table `divres ncl` writes as ncl.json and ncl.csv.
// Errors and diversities are fractions; absent values are nil.
type NCLRow struct {
	// Kind is "ncl" for a sweep cell and "reference" for an ensemble of
	// independently trained models given for comparison.
	Kind      string  `json:"kind"`
	Heuristic string  `json:"heuristic"`
	Lambda    float64 `json:"lambda"`
	Gamma     float64 `json:"gamma"`
	// Members names the members ("lenet+resnet18_w0.5"); Dir is the cell's
	// directory.
	Members string `json:"members"`
	Dir     string `json:"dir"`
	// CleanError and CorruptionError (1 − corruption accuracy) of the mean-softmax
	// ensemble; MCE and RelativeMCE with a baseline.
	CleanError      float64  `json:"clean_error"`
	CorruptionError float64  `json:"corruption_error"`
	MCE             *float64 `json:"mce"`
	RelativeMCE     *float64 `json:"relative_mce"`
	// The three diversities on clean test images: the mean pairwise disagreement of
	// the members' predictions, 1 − the mean pairwise linear CKA of their
	// penultimate features, 1 − the mean pairwise cosine of their saliency maps.
	PredictionDiversity  *float64 `json:"prediction_diversity"`
	ActivationDiversity  *float64 `json:"activation_diversity"`
	AttributionDiversity *float64 `json:"attribution_diversity"`
}

// NCLColumns are the CSV columns of NCLRow, in order.
var NCLColumns = []string{"kind", "heuristic", "lambda", "gamma", "members", "clean_error", "corruption_error", "mce", "relative_mce",
	"prediction_diversity", "activation_diversity", "attribution_diversity", "dir"}

// CSV returns the row's CSV fields (NCLColumns); absent values are empty.
func (r NCLRow) CSV() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	o := func(v *float64) string {
		if v == nil {
			return ""
		}
		return f(*v)
	}
	return []string{r.Kind, r.Heuristic, f(r.Lambda), f(r.Gamma), r.Members, f(r.CleanError), f(r.CorruptionError), o(r.MCE),
		o(r.RelativeMCE), o(r.PredictionDiversity), o(r.ActivationDiversity), o(r.AttributionDiversity), r.Dir}
}

// LoadNCLTable reads an ncl.json table.
func LoadNCLTable(path string) ([]NCLRow, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read NCL table: %w", err)
	}
	var rows []NCLRow
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("read NCL table %s: %w", path, err)
	}
	return rows, nil
}

// nclSeries is one line of a figure: its label and points.
type nclSeries struct {
	label string
	xy    plotter.XYs
}

// NCLResilience draws the ensembles' resilience against λ, one line per
// heuristic and γ (γ = 0 is the balanced loss alone, "none"): mCE when every row
// has it, else the mean corruption error. Reference ensembles are dashed
// horizontal lines.
func NCLResilience(rows []NCLRow, path string) error {
	if _, err := formatOf(path); err != nil {
		return err
	}
	useMCE := true
	ncl := 0
	for _, r := range rows {
		useMCE = useMCE && r.MCE != nil
		if r.Kind != "reference" {
			ncl++
		}
	}
	if ncl == 0 {
		return fmt.Errorf("NCL resilience: no sweep cells in the table")
	}
	val := func(r NCLRow) float64 {
		if useMCE {
			return 100 * *r.MCE
		}
		return 100 * r.CorruptionError
	}
	groups := map[string]*nclSeries{}
	var refs []NCLRow
	for _, r := range rows {
		if r.Kind == "reference" {
			refs = append(refs, r)
			continue
		}
		key := r.Heuristic + ", γ = " + strconv.FormatFloat(r.Gamma, 'g', 4, 64)
		if r.Gamma == 0 {
			key = "none (balanced loss)"
		}
		g := groups[key]
		if g == nil {
			g = &nclSeries{label: key}
			groups[key] = g
		}
		g.xy = append(g.xy, plotter.XY{X: r.Lambda, Y: val(r)})
	}
	p := newPlot()
	p.X.Label.Text = "λ (1 = independent members, 0 = ensemble loss only)"
	p.Y.Label.Text = "mean corruption error (%)"
	if useMCE {
		p.Y.Label.Text = "mCE (%)"
	}
	p.Add(newGrid())
	if err := addSeries(p, sortedSeries(groups)); err != nil {
		return fmt.Errorf("NCL resilience: %w", err)
	}
	for i, r := range refs {
		st := draw.LineStyle{Color: refColour(i), Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(2.5)}}
		h := hline{Y: val(r), Style: st}
		p.Add(h)
		p.Legend.Add(r.Members+" (independent)", h)
	}
	p.Legend.Top = true
	f := frame{Title: "Joint training: resilience against λ", Subtitle: "mean-softmax ensembles; lower is more resilient"}
	return saveFigure(path, inches(6.4), inches(4.8), func(dc draw.Canvas) error {
		p.Draw(f.draw(dc))
		return nil
	})
}

// NCLDiversity draws the three diversities against γ, one panel each, one line
// per heuristic (the mean over λ at each γ; γ = 0 is the balanced loss alone),
// with reference ensembles (architecture-diverse, independently trained) as
// dashed horizontal lines. Panels without values are left out.
func NCLDiversity(rows []NCLRow, path string) error {
	if _, err := formatOf(path); err != nil {
		return err
	}
	kinds := []struct {
		title string
		get   func(NCLRow) *float64
	}{
		{"prediction (disagreement)", func(r NCLRow) *float64 { return r.PredictionDiversity }},
		{"activation (1 − linear CKA)", func(r NCLRow) *float64 { return r.ActivationDiversity }},
		{"attribution (1 − saliency cosine)", func(r NCLRow) *float64 { return r.AttributionDiversity }},
	}
	var panels []*plot.Plot
	for _, k := range kinds {
		type acc struct{ sum, n float64 }
		cells := map[string]map[float64]*acc{}
		var none []NCLRow
		any := false
		for _, r := range rows {
			v := k.get(r)
			if v == nil || math.IsNaN(*v) || r.Kind == "reference" {
				continue
			}
			any = true
			if r.Gamma == 0 {
				none = append(none, r)
				continue
			}
			if cells[r.Heuristic] == nil {
				cells[r.Heuristic] = map[float64]*acc{}
			}
			a := cells[r.Heuristic][r.Gamma]
			if a == nil {
				a = &acc{}
				cells[r.Heuristic][r.Gamma] = a
			}
			a.sum += *v
			a.n++
		}
		if !any {
			continue
		}
		var base float64
		for _, r := range none {
			base += *k.get(r) / float64(len(none))
		}
		groups := map[string]*nclSeries{}
		for h, byG := range cells {
			s := &nclSeries{label: h}
			if len(none) > 0 {
				s.xy = append(s.xy, plotter.XY{X: 0, Y: base})
			}
			for g, a := range byG {
				s.xy = append(s.xy, plotter.XY{X: g, Y: a.sum / a.n})
			}
			groups[h] = s
		}
		if len(groups) == 0 && len(none) > 0 {
			groups["none"] = &nclSeries{label: "none", xy: plotter.XYs{{X: 0, Y: base}}}
		}
		p := newPlot()
		p.Title.Text = k.title
		p.Title.TextStyle = textStyle(labelSize, black)
		p.Title.TextStyle.XAlign, p.Title.TextStyle.YAlign = draw.XCenter, draw.YTop
		p.X.Label.Text = "γ"
		p.Add(newGrid())
		if err := addSeries(p, sortedSeries(groups)); err != nil {
			return fmt.Errorf("NCL diversity: %w", err)
		}
		ri := 0
		for _, r := range rows {
			if v := k.get(r); r.Kind == "reference" && v != nil && !math.IsNaN(*v) {
				h := hline{Y: *v, Style: draw.LineStyle{Color: refColour(ri), Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(2.5)}}}
				p.Add(h)
				p.Legend.Add(r.Members, h)
				ri++
			}
		}
		p.Legend.Top = true
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return fmt.Errorf("NCL diversity: no diversity values in the table")
	}
	f := frame{Title: "Diversity that joint training buys", Subtitle: "mean over λ; dashed: independently trained reference ensembles"}
	return saveFigure(path, inches(4.2*float64(len(panels))), inches(4.4), func(dc draw.Canvas) error {
		c := f.draw(dc)
		tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Points(18)}
		cs := plot.Align([][]*plot.Plot{panels}, tiles, c)
		for i, p := range panels {
			p.Draw(cs[0][i])
		}
		return nil
	})
}

// sortedSeries returns the series by label, each sorted by x.
func sortedSeries(groups map[string]*nclSeries) []*nclSeries {
	var out []*nclSeries
	for _, g := range groups {
		sort.Slice(g.xy, func(i, j int) bool { return g.xy[i].X < g.xy[j].X })
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *nclSeries) int {
		switch {
		case a.label < b.label:
			return -1
		case a.label > b.label:
			return 1
		}
		return 0
	})
	return out
}

// addSeries draws each series as a line with points in the palette's colours.
func addSeries(p *plot.Plot, ss []*nclSeries) error {
	for i, s := range ss {
		l, pts, err := plotter.NewLinePoints(s.xy)
		if err != nil {
			return fmt.Errorf("series %s: %w", s.label, err)
		}
		c := okabeIto[i%len(okabeIto)]
		l.Color, l.Width = c, vg.Points(1.4)
		pts.Color = c
		pts.Shape = glyphShapes[(i/len(okabeIto))%len(glyphShapes)]
		pts.Radius = vg.Points(2.6)
		p.Add(l, pts)
		p.Legend.Add(s.label, l, pts)
	}
	return nil
}

// refColour is the colour of the i-th reference line.
func refColour(i int) color.Color {
	return [...]color.Color{black, darkGrey, midGrey}[i%3]
}
