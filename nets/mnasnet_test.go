package nets

import "testing"

func TestRoundToMultipleOf(t *testing.T) {
	// MNASNet's depths use makeDivisible: torchvision's _round_to_multiple_of(val, 8)
	// (round-up bias 0.9) examples: (83, 8) → 80 but
	// (84, 8) → 88; depths of mnasnet0_5 (alpha 0.5) and mnasnet0_75.
	for _, c := range []struct {
		v    float64
		want int64
	}{{83, 80}, {84, 88}, {16, 16}, {8, 8}, {12, 16}, {60, 64}, {1.6, 8}, {72, 72}, {240, 240}} {
		if got := makeDivisible(c.v, 8); got != c.want {
			t.Errorf("makeDivisible(%g, 8) = %d, want %d", c.v, got, c.want)
		}
	}
}
