package plots

import (
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

func tickLabels(ts []plot.Tick) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.Label)
	}
	return strings.Join(s, " ")
}

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		target int
		want   string
	}{
		{0, 270, 6, "0 50 100 150 200 250"},
		{0, 1, 5, "0.0 0.2 0.4 0.6 0.8 1.0"},
		{7, 16, 5, "8 10 12 14 16"},
		{7, 16, 4, "7.5 10.0 12.5 15.0"},
		{-3, 3, 6, "-3 -2 -1 0 1 2 3"},
		{95, 105, 5, "96 98 100 102 104"},
		{5, 5, 5, ""},
	} {
		if got := tickLabels(niceTicks{Target: tc.target}.Ticks(tc.lo, tc.hi)); got != tc.want {
			t.Errorf("niceTicks(%v, %v) = %q, want %q", tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestLogTicks(t *testing.T) {
	if got := tickLabels(logTicks{}.Ticks(0.8, 30)); got != "1 2 5 10 20" {
		t.Errorf("log ticks %q", got)
	}
	if got := tickLabels(logTicks{}.Ticks(0.05, 200)); got != "0.1 1 10 100" {
		t.Errorf("log ticks over decades %q", got)
	}
}

func TestColorMaps(t *testing.T) {
	seq := sequential{Lo: 10, Hi: 90}
	prev := -1.0
	for v := 10.0; v <= 90; v += 8 {
		l := luminance(seq.At(v))
		if l <= prev {
			t.Errorf("viridis luminance not increasing at %v: %v after %v", v, l, prev)
		}
		prev = l
	}
	div := diverging{Lo: 50, Center: 100, Hi: 200}
	if luminance(div.At(100)) < 0.9 {
		t.Error("diverging map is not light at its centre")
	}
	// Half and double the centre are equally deep (log scale), and at the ends.
	lb, lr := luminance(div.At(50)), luminance(div.At(200))
	if c := div.At(50); c != blueSide[3] {
		t.Errorf("At(50) = %v, want the deepest blue", c)
	}
	if c := div.At(200); c != redSide[3] {
		t.Errorf("At(200) = %v, want the deepest red", c)
	}
	if lb > 0.3 || lr > 0.3 {
		t.Errorf("ends too light: %v %v", lb, lr)
	}
}

func TestLabelGeometry(t *testing.T) {
	a := rect(0, 0, 10, 10)
	if overlap(a, rect(5, 5, 20, 20)) != 25 || overlap(a, rect(10, 0, 20, 10)) != 0 {
		t.Error("overlap")
	}
	if outside(rect(-5, 0, 5, 10), a) != 50 || outside(rect(1, 1, 2, 2), a) != 0 {
		t.Error("outside")
	}
	spots := labelSpots(pt(100, 100), 30, 8, 5)
	for _, s := range spots {
		if overlap(s, rect(95, 95, 105, 105)) != 0 {
			t.Errorf("label spot %v covers its own point", s)
		}
	}
	if spots[0].Min.X != 105 || spots[0].Min.Y != 96 {
		t.Errorf("first spot %v, want right of the point, centred", spots[0])
	}
}

func rect(x0, y0, x1, y1 float64) vg.Rectangle {
	return vg.Rectangle{Min: pt(x0, y0), Max: pt(x1, y1)}
}

func pt(x, y float64) vg.Point { return vg.Point{X: vg.Length(x), Y: vg.Length(y)} }
