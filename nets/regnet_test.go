package nets

import (
	"slices"
	"testing"
)

func TestRegNetWidths(t *testing.T) {
	// Values of torchvision's BlockParams._adjust_widths_groups_compatibilty for the
	// scaled widths (see regnet_widths in testdata/gen_reference.py).
	for _, c := range []struct {
		w              float64
		widths, groups []int64
	}{
		{1, []int64{32, 64, 160, 400}, []int64{16, 16, 16, 16}},
		{0.25, []int64{8, 16, 48, 96}, []int64{8, 16, 16, 16}},
		{0.0625, []int64{2, 4, 10, 32}, []int64{2, 4, 10, 16}},
	} {
		w, g := regNetWidths(Builder{Width: c.w})
		if !slices.Equal(w, c.widths) || !slices.Equal(g, c.groups) {
			t.Errorf("width %g: widths %v groups %v, want %v %v", c.w, w, g, c.widths, c.groups)
		}
	}
}
