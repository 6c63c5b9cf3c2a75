package plots

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
)

// figureFunc is the common signature of the figure functions.
type figureFunc func([]Result, string, string) error

var figures = map[string]figureFunc{
	"bars": RelativeMCEBars, "severity": ErrorVsSeverity, "heatmap": Heatmap,
	"heatmap_ce": HeatmapCE, "scatter": AccuracyVsResilience,
}

// checkPNG decodes a PNG, checks its pixel size against w×h at pngDPI and that it
// is not blank: it must use many distinct colours, including the palette's blue.
func checkPNG(t *testing.T, path string, w, h vg.Length) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	wantW, wantH := int(float64(w/vg.Inch)*pngDPI+0.5), int(float64(h/vg.Inch)*pngDPI+0.5)
	if b.Dx() != wantW || b.Dy() != wantH {
		t.Errorf("%s: %d×%d pixels, want %d×%d", path, b.Dx(), b.Dy(), wantW, wantH)
	}
	if b.Dx() < 4*pngDPI || b.Dx() > 17*pngDPI {
		t.Errorf("%s: %d pixels wide: not a paper-sized figure", path, b.Dx())
	}
	colours := map[[3]uint32]bool{}
	white := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if r>>8 == 255 && g>>8 == 255 && bl>>8 == 255 {
				white++
			}
		}
	}
	if len(colours) < 20 {
		t.Errorf("%s: only %d distinct colours: blank?", path, len(colours))
	}
	if total := (b.Dx() / 2) * (b.Dy() / 2); white > total*98/100 {
		t.Errorf("%s: %d of %d sampled pixels white: blank?", path, white, total)
	}
	return img
}

// checkSVG parses an SVG document to its end and returns its text content.
func checkSVG(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	root, texts, paths := "", strings.Builder{}, 0
	inText := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: not valid XML: %v", path, err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tk.Name.Local
			}
			inText = tk.Name.Local == "text"
			if tk.Name.Local == "path" {
				paths++
			}
		case xml.CharData:
			if inText {
				texts.Write(tk)
				texts.WriteByte('\n')
			}
		case xml.EndElement:
			inText = false
		}
	}
	if root != "svg" || paths < 10 {
		t.Errorf("%s: root <%s>, %d paths; want an <svg> drawing", path, root, paths)
	}
	return texts.String()
}

// noTempFiles fails when a temporary file was left in dir.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestFiguresPNGAndSVG(t *testing.T) {
	rs := synthResults(t, 6, 5)
	dir := t.TempDir()
	sizes := map[string][2]vg.Length{}
	w, h := barsSize(6)
	sizes["bars"] = [2]vg.Length{w, h}
	w, h = severitySize(2, 6)
	sizes["severity"] = [2]vg.Length{w, h}
	w, h = heatmapSize(6, 19)
	sizes["heatmap"], sizes["heatmap_ce"] = [2]vg.Length{w, h}, [2]vg.Length{w, h}
	w, h = scatterSize(2)
	sizes["scatter"] = [2]vg.Length{w, h}
	for name, fig := range figures {
		p := filepath.Join(dir, name+".png")
		if err := fig(rs, "resnet50", p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkPNG(t, p, sizes[name][0], sizes[name][1])
		s := filepath.Join(dir, name+".svg")
		if err := fig(rs, "resnet50", s); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		text := checkSVG(t, s)
		if b, _ := os.ReadFile(s); !bytes.Contains(b, []byte("font-family:'Liberation Sans',Arial")) {
			t.Errorf("%s.svg: no font fallback", name)
		}
		for _, r := range rs {
			if !strings.Contains(text, r.Model) {
				t.Errorf("%s.svg does not name %s", name, r.Model)
			}
		}
		if !strings.Contains(text, "resnet50 (baseline)") && name != "scatter" {
			t.Errorf("%s.svg does not mark the baseline", name)
		}
	}
	noTempFiles(t, dir)
}

// TestBarsSortedAndBaselineGrey checks the bar chart's content in the pixels:
// bars ascend from left to right, the baseline's are grey, and the others use the
// palette's blue and orange.
func TestBarsSortedAndBaselineGrey(t *testing.T) {
	rs := synthResults(t, 5, 9)
	path := filepath.Join(t.TempDir(), "bars.png")
	if err := RelativeMCEBars(rs, "resnet50", path); err != nil {
		t.Fatal(err)
	}
	w, h := barsSize(5)
	img := checkPNG(t, path, w, h)
	blue := okabeIto[0]
	// Scan rows from the bottom up; the first row with blue pixels gives the bar
	// positions, and each bar's height is where its blue column ends.
	b := img.Bounds()
	isColour := func(x, y int, c interface{ RGBA() (r, g, b, a uint32) }) bool {
		r1, g1, b1, _ := img.At(x, y).RGBA()
		r2, g2, b2, _ := c.RGBA()
		return r1>>8 == r2>>8 && g1>>8 == g2>>8 && b1>>8 == b2>>8
	}
	var tops []int
	yBase := -1
	for y := b.Max.Y - 1; y >= 0 && yBase < 0; y-- {
		for x := 0; x < b.Max.X; x++ {
			if isColour(x, y, blue) {
				yBase = y
				break
			}
		}
	}
	if yBase < 0 {
		t.Fatal("no blue bar")
	}
	greyFound := false
	for x := 0; x < b.Max.X; x++ {
		if isColour(x, yBase, darkGrey) {
			greyFound = true
		}
		if !isColour(x, yBase, blue) || (x > 0 && isColour(x-1, yBase, blue)) {
			continue
		}
		// Left edge of a blue bar: measure a column a few pixels in.
		y := yBase
		for y > 0 && isColour(x+3, y-1, blue) {
			y--
		}
		tops = append(tops, yBase-y)
	}
	if !greyFound {
		t.Error("baseline bar is not dark grey")
	}
	if len(tops) != 4 {
		t.Fatalf("found %d blue bars, want 4 (5 models, one of them the grey baseline)", len(tops))
	}
	for i := 1; i < len(tops); i++ {
		if tops[i] < tops[i-1]-2 {
			t.Errorf("bar heights %v not ascending", tops)
		}
	}
	// The heights follow the relative mCE values.
	var rel []float64
	all := Summarize(rs, 0)
	SortSummaries(all)
	for _, s := range all {
		if !s.IsBaseline {
			rel = append(rel, s.RelativeMCE)
		}
	}
	ratio := float64(tops[3]) / float64(tops[0])
	want := rel[3] / rel[0]
	if math.Abs(ratio-want) > 0.05*want {
		t.Errorf("tallest/shortest bar %.3f, relative mCE ratio %.3f", ratio, want)
	}
}

func TestFiguresPDF(t *testing.T) {
	rs := synthResults(t, 3, 2)
	p := filepath.Join(t.TempDir(), "bars.pdf")
	if err := RelativeMCEBars(rs, "", p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF")) {
		t.Errorf("not a PDF: %v", err)
	}
}

func TestFigureErrors(t *testing.T) {
	rs := synthResults(t, 3, 2)
	dir := t.TempDir()
	noBase := synthResults(t, 3, 2)[1:] // no resnet50, nothing stored
	for name, fig := range figures {
		for _, tc := range []struct {
			rs   []Result
			base string
			path string
			want string
		}{
			{rs, "resnet50", filepath.Join(dir, name+".gif"), "unsupported format"},
			{rs, "resnet50", filepath.Join(dir, name), "no extension"},
			{nil, "", filepath.Join(dir, name+".png"), "no results"},
			{rs, "alexnet", filepath.Join(dir, name+".png"), "not among the results"},
			{rs, "resnet50", filepath.Join(dir, "missing", name+".png"), "no such file"},
		} {
			err := fig(tc.rs, tc.base, tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s(%s): error %v, want %q", name, tc.path, err, tc.want)
			}
		}
		err := fig(noBase, "", filepath.Join(dir, name+".png"))
		needsBase := name == "bars" || name == "heatmap_ce" || name == "scatter"
		if needsBase && (err == nil || !strings.Contains(err.Error(), "name the baseline")) {
			t.Errorf("%s without a baseline: %v", name, err)
		}
		if !needsBase && err != nil {
			t.Errorf("%s without a baseline: %v", name, err)
		}
	}
	noTempFiles(t, dir)
}

// TestFiguresFromStoredValues draws the baseline figures from the CE values the
// results carry when the baseline itself is not among them.
func TestFiguresFromStoredValues(t *testing.T) {
	rs := synthResults(t, 4, 4)
	ss := Summarize(rs, 0)
	for i := range rs {
		m, r := ss[i].MCE, ss[i].RelativeMCE
		rs[i].MCE, rs[i].RelativeMCE, rs[i].CE = &m, &r, ss[i].CE
	}
	dir := t.TempDir()
	for name, fig := range figures {
		if err := fig(rs[1:], "", filepath.Join(dir, name+".png")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestFiguresPartialResults draws results with a few corruptions, one of them
// with unevaluated severities, and a family missing.
func TestFiguresPartialResults(t *testing.T) {
	rs := synthResults(t, 3, 8)
	for i := range rs {
		for c := range rs[i].Errors {
			if f, _ := FamilyOf(c); f == "blur" || c == "frost" {
				delete(rs[i].Errors, c)
			}
		}
		rs[i].Errors["fog"][4] = -1
	}
	dir := t.TempDir()
	for name, fig := range figures {
		if err := fig(rs, "", filepath.Join(dir, name+".png")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	w, h := severitySize(2, 3)
	checkPNG(t, filepath.Join(dir, "severity.png"), w, h)
	if note := coverageNote(Summarize(rs, 0)); note != "means over 9 of the 15 benchmark corruptions" {
		t.Errorf("coverage note %q", note)
	}
}

func TestManyModelsBars(t *testing.T) {
	rs := synthResults(t, len(archNames), 6)
	p := filepath.Join(t.TempDir(), "bars.png")
	if err := RelativeMCEBars(rs, "resnet50", p); err != nil {
		t.Fatal(err)
	}
	w, h := barsSize(len(archNames))
	checkPNG(t, p, w, h)
}
