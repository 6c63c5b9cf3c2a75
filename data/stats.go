package data

import (
	"fmt"
	"math"
)

// PixelStats are per-channel statistics of the pixels of a dataset.
type PixelStats struct {
	// Pixels is the number of pixels per channel.
	Pixels int64
	// Mean and Std are on the [0, 1] scale (value/255); Std is the population
	// standard deviation.
	Mean, Std []float64
	// Min and Max are raw 8-bit values.
	Min, Max []uint8
	// Hist counts each 8-bit value per channel.
	Hist [][256]int64
}

// Norm returns the statistics as normalisation constants.
func (s *PixelStats) Norm() Norm {
	n := Norm{}
	for c := range s.Mean {
		n.Mean = append(n.Mean, float32(s.Mean[c]))
		n.Std = append(n.Std, float32(s.Std[c]))
	}
	return n
}

// ComputePixelStats reads every image of d and gathers per-channel statistics.
// progress, if not nil, is called after each image with the number done.
func ComputePixelStats(d Dataset, progress func(done int)) (*PixelStats, error) {
	c, h, w := d.Shape()
	plane := h * w
	hist := make([][256]int64, c)
	buf := make([]uint8, c*plane)
	for i := range d.Len() {
		if _, err := d.Image(i, buf); err != nil {
			return nil, fmt.Errorf("pixel statistics: image %d: %w", i, err)
		}
		for ch := range c {
			hs := &hist[ch]
			for _, v := range buf[ch*plane : (ch+1)*plane] {
				hs[v]++
			}
		}
		if progress != nil {
			progress(i + 1)
		}
	}
	return statsFromHist(hist), nil
}

func statsFromHist(hist [][256]int64) *PixelStats {
	s := &PixelStats{Hist: hist}
	for ch := range hist {
		var n int64
		var sum, sq float64
		lo, hi := -1, -1
		for v, k := range hist[ch] {
			if k == 0 {
				continue
			}
			if lo < 0 {
				lo = v
			}
			hi = v
			n += k
			x := float64(v) / 255
			sum += float64(k) * x
			sq += float64(k) * x * x
		}
		mean, std := 0.0, 0.0
		if n > 0 {
			mean = sum / float64(n)
			std = math.Sqrt(max(0, sq/float64(n)-mean*mean))
		}
		s.Pixels = n
		s.Mean = append(s.Mean, mean)
		s.Std = append(s.Std, std)
		s.Min = append(s.Min, uint8(max(lo, 0)))
		s.Max = append(s.Max, uint8(max(hi, 0)))
	}
	return s
}
