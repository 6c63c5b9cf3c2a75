package nets

import "testing"

func TestMakeDivisible(t *testing.T) {
	// torchvision's _make_divisible(v, 8) values.
	for _, c := range []struct {
		v    float64
		want int64
	}{{32, 32}, {8, 8}, {3.2, 8}, {12, 16}, {11.9, 16}, {20, 24}, {35, 32}, {36, 40}, {1280, 1280}, {90, 88}, {100, 104}, {57, 56}} {
		if got := makeDivisible(c.v, 8); got != c.want {
			t.Errorf("makeDivisible(%g, 8) = %d, want %d", c.v, got, c.want)
		}
	}
}
