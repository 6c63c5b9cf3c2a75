package nets

import "testing"

func TestShuffleNetV2Widths(t *testing.T) {
	// Stage channels stay even (each block splits them in halves).
	for _, w := range []float64{0.1, 0.25, 0.3, 0.5, 0.77, 1, 1.5} {
		ch := shuffleNetChannels(Builder{Width: w})
		for i := 1; i <= 3; i++ {
			if ch[i]%2 != 0 || ch[i] < 2 {
				t.Errorf("width %g: stage %d has %d channels", w, i+1, ch[i])
			}
		}
	}
	if got := shuffleNetChannels(Builder{Width: 1}); got != [5]int64{24, 116, 232, 464, 1024} {
		t.Errorf("width 1 channels %v", got)
	}
}
