package plots

import (
	"encoding/json"
	"fmt"
	"image/color"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Interval is an estimate with the bounds of its confidence interval; a bound
// that is not known is NaN.
type Interval struct {
	Value, Low, High float64
}

// known reports whether both bounds are finite.
func (iv Interval) known() bool {
	return !math.IsNaN(iv.Low) && !math.IsNaN(iv.High) && !math.IsInf(iv.Low, 0) && !math.IsInf(iv.High, 0)
}

// UnmarshalJSON reads {"value", "low", "high"}, null or absent fields as NaN.
func (iv *Interval) UnmarshalJSON(b []byte) error {
	var m struct{ Value, Low, High *float64 }
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	f := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	iv.Value, iv.Low, iv.High = f(m.Value), f(m.Low), f(m.High)
	return nil
}

// ModelIntervals are one model's headline numbers with their intervals, as
// fractions: error rates and accuracy in [0, 1], mCE and relative mCE as ratios
// to the baseline (1 = 100 %).
type ModelIntervals struct {
	CleanError         Interval `json:"clean_error"`
	CorruptionAccuracy Interval `json:"corruption_accuracy"`
	MCE                Interval `json:"mce"`
	RelativeMCE        Interval `json:"relative_mce"`
	// Seeds is the number of seeds the model's numbers are the mean of.
	Seeds int `json:"seeds"`
}

// Uncertainty is what the figures draw besides the means: per-model intervals
// (error bars) and the per-seed results behind each model's mean (bands on the
// severity curves). Either may be empty.
type Uncertainty struct {
	// Intervals maps a model name to its intervals.
	Intervals map[string]ModelIntervals
	// Level is the intervals' confidence level (0.95 for 95 %; 0 when unknown).
	Level float64
	// Seeds maps a model name to its results, one per seed.
	Seeds map[string][]Result
}

// ReadIntervals reads the per-model intervals of a study's statistics file
// (RUN/stats/individual.json: "level" and "models", each with "model" and
// "clean_error", "corruption_accuracy", "mce", "relative_mce" as
// {"value", "low", "high"}).
func ReadIntervals(path string) (map[string]ModelIntervals, float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("read intervals: %w", err)
	}
	var f struct {
		Level  float64           `json:"level"`
		Models []json.RawMessage `json:"models"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, 0, fmt.Errorf("read intervals %s: %w", path, err)
	}
	out := map[string]ModelIntervals{}
	unknown := Interval{math.NaN(), math.NaN(), math.NaN()}
	for i, raw := range f.Models {
		// An interval the file leaves out stays unknown.
		m := struct {
			Model string `json:"model"`
			ModelIntervals
		}{ModelIntervals: ModelIntervals{CleanError: unknown, CorruptionAccuracy: unknown, MCE: unknown, RelativeMCE: unknown}}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, 0, fmt.Errorf("read intervals %s: model %d: %w", path, i+1, err)
		}
		if m.Model == "" {
			return nil, 0, fmt.Errorf("read intervals %s: model %d has no name", path, i+1)
		}
		out[m.Model] = m.ModelIntervals
	}
	return out, f.Level, nil
}

// LoadSeedResults reads the result files (eval.json) under dir, one per trained
// seed, and groups them by model name in file order. Unlike LoadResults, a model
// may appear many times.
func LoadSeedResults(dir string) (map[string][]Result, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "eval.json" {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load seed results: %w", err)
	}
	sort.Strings(files)
	out := map[string][]Result{}
	for _, f := range files {
		rs, err := readResultFile(f, true)
		if err != nil {
			return nil, fmt.Errorf("load seed results: %w", err)
		}
		for _, r := range rs {
			out[r.Model] = append(out[r.Model], r)
		}
	}
	return out, nil
}

// interval returns model's interval of the field pick, scaled by 100 (percent);
// ok is false when it is not known.
func (u *Uncertainty) interval(model string, pick func(ModelIntervals) Interval) (lo, hi float64, ok bool) {
	if u == nil {
		return 0, 0, false
	}
	mi, found := u.Intervals[model]
	if !found {
		return 0, 0, false
	}
	iv := pick(mi)
	if !iv.known() {
		return 0, 0, false
	}
	return 100 * iv.Low, 100 * iv.High, true
}

// levelNote says what the error bars are, for a figure's subtitle.
func (u *Uncertainty) levelNote() string {
	if u == nil || len(u.Intervals) == 0 {
		return ""
	}
	if u.Level > 0 {
		return fmt.Sprintf("error bars: %.0f %% bootstrap intervals over test images and seeds", 100*u.Level)
	}
	return "error bars: bootstrap intervals over test images and seeds"
}

// errorBars draws an interval per point: a line from Low to High at X (vertical)
// or at Y (horizontal, with Horizontal set), capped at both ends, each bar one
// path.
type errorBars struct {
	// X and Y place each bar; Low and High are its ends along the bar's axis.
	X, Y, Low, High []float64
	Horizontal      bool
	Style           draw.LineStyle
	// Cap is the length of the end caps.
	Cap vg.Length
}

// add appends a bar at (x, y) from lo to hi.
func (e *errorBars) add(x, y, lo, hi float64) {
	e.X, e.Y, e.Low, e.High = append(e.X, x), append(e.Y, y), append(e.Low, lo), append(e.High, hi)
}

// Plot implements plot.Plotter.
func (e *errorBars) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	h := e.Cap / 2
	for i := range e.X {
		var a, b vg.Point
		if e.Horizontal {
			a, b = vg.Point{X: tx(e.Low[i]), Y: ty(e.Y[i])}, vg.Point{X: tx(e.High[i]), Y: ty(e.Y[i])}
		} else {
			a, b = vg.Point{X: tx(e.X[i]), Y: ty(e.Low[i])}, vg.Point{X: tx(e.X[i]), Y: ty(e.High[i])}
		}
		var path vg.Path
		path.Move(a)
		path.Line(b)
		for _, q := range []vg.Point{a, b} {
			if e.Horizontal {
				path.Move(vg.Point{X: q.X, Y: q.Y - h})
				path.Line(vg.Point{X: q.X, Y: q.Y + h})
			} else {
				path.Move(vg.Point{X: q.X - h, Y: q.Y})
				path.Line(vg.Point{X: q.X + h, Y: q.Y})
			}
		}
		c.SetLineStyle(e.Style)
		c.Stroke(path)
	}
}

// DataRange implements plot.DataRanger.
func (e *errorBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax, ymin, ymax = posInf, negInf, posInf, negInf
	for i := range e.X {
		lo, hi := e.Low[i], e.High[i]
		if e.Horizontal {
			xmin, xmax = math.Min(xmin, lo), math.Max(xmax, hi)
			ymin, ymax = math.Min(ymin, e.Y[i]), math.Max(ymax, e.Y[i])
		} else {
			xmin, xmax = math.Min(xmin, e.X[i]), math.Max(xmax, e.X[i])
			ymin, ymax = math.Min(ymin, lo), math.Max(ymax, hi)
		}
	}
	return
}

// band fills the area between Low and High along X (a seed-spread band).
type band struct {
	X, Low, High []float64
	Color        color.Color
}

// Plot implements plot.Plotter.
func (b *band) Plot(c draw.Canvas, p *plot.Plot) {
	if len(b.X) < 2 {
		return
	}
	tx, ty := p.Transforms(&c)
	pts := make([]vg.Point, 0, 2*len(b.X))
	for i := range b.X {
		pts = append(pts, vg.Point{X: tx(b.X[i]), Y: ty(b.High[i])})
	}
	for i := len(b.X) - 1; i >= 0; i-- {
		pts = append(pts, vg.Point{X: tx(b.X[i]), Y: ty(b.Low[i])})
	}
	c.FillPolygon(b.Color, c.ClipPolygonXY(pts))
}

// DataRange implements plot.DataRanger.
func (b *band) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax, ymin, ymax = posInf, negInf, posInf, negInf
	for i := range b.X {
		xmin, xmax = math.Min(xmin, b.X[i]), math.Max(xmax, b.X[i])
		ymin, ymax = math.Min(ymin, b.Low[i]), math.Max(ymax, b.High[i])
	}
	return
}

// translucent is the opaque colour c at the given opacity (0..1).
func translucent(c color.Color, alpha float64) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: uint8(math.Round(255 * alpha))}
}
