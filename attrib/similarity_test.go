package attrib

import (
	"math"
	"testing"

	"github.com/divres/divres/torch"
)

func TestSimilarityValues(t *testing.T) {
	// Two maps per batch: sample 0 and sample 1.
	a := []float64{1, 0, 0, 0 /**/, 1, 2, 2, 3}
	b := []float64{1, 1, 0, 0 /**/, 1, 3, 2, 4}
	s, err := SimilarityValues(a, b, 2, Compare{Metric: Cosine})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(s.PerSample[0]-1/math.Sqrt2) > 1e-15 {
		t.Errorf("cosine sample 0 = %g, want 1/√2", s.PerSample[0])
	}
	// Global: the whole batch as one vector: a·b = 1+0+1+6+4+12 = 24, |a|² = 19, |b|² = 32.
	if want := 24 / math.Sqrt(19*32); math.Abs(s.Global-want) > 1e-15 {
		t.Errorf("global cosine %g, want %g", s.Global, want)
	}
	sp, err := SimilarityValues(a, b, 2, Compare{Metric: Spearman})
	if err != nil {
		t.Fatal(err)
	}
	// Sample 1: ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4): 4.5 / √(4.5·5).
	if want := 4.5 / math.Sqrt(4.5*5); math.Abs(sp.PerSample[1]-want) > 1e-15 {
		t.Errorf("spearman with ties %g, want %g", sp.PerSample[1], want)
	}
	// Sample 0: ranks (4, 2, 2, 2) and (3.5, 3.5, 1.5, 1.5): 2 / √(3·4).
	if want := 2 / math.Sqrt(3*4); math.Abs(sp.PerSample[0]-want) > 1e-15 {
		t.Errorf("spearman sample 0 %g, want %g", sp.PerSample[0], want)
	}
	tk, err := SimilarityValues([]float64{5, -4, 1, 0}, []float64{0, 4, 5, 1}, 1, Compare{Metric: TopK, Fraction: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if tk.PerSample[0] != 0.5 {
		t.Errorf("top-50%% overlap %g, want 0.5 ({0,1} vs {2,1})", tk.PerSample[0])
	}
	if _, err := SimilarityValues(a, b[:4], 2, Compare{}); err == nil {
		t.Error("different lengths: no error")
	}
	if _, err := SimilarityValues(a, b, 2, Compare{Metric: TopK, Fraction: 1.5}); err == nil {
		t.Error("fraction 1.5: no error")
	}
	if _, err := SimilarityValues([]float64{math.NaN()}, []float64{1}, 1, Compare{}); err == nil {
		t.Error("NaN: no error")
	}
	if _, err := ParseMetric("pearson"); err == nil {
		t.Error("unknown metric: no error")
	}
}

func TestSimilarityMatrixAndTensor(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	torch.ManualSeed(11)
	maps := []*torch.Tensor{torch.Randn(s, []int64{3, 1, 4, 4}, torch.Float64), torch.Randn(s, []int64{3, 1, 4, 4}, torch.Float64)}
	maps = append(maps, maps[0].MulScalar(2).Add(maps[1].MulScalar(0.1)))
	for _, metric := range []Metric{Cosine, Spearman, TopK} {
		mat, err := Matrix(maps, Compare{Metric: metric, Fraction: 0.25})
		if err != nil {
			t.Fatal(err)
		}
		for i := range mat {
			if math.Abs(mat[i][i]-1) > 1e-12 {
				t.Errorf("%s: diagonal %d = %g", metric, i, mat[i][i])
			}
			for j := range mat {
				if mat[i][j] != mat[j][i] {
					t.Errorf("%s: not symmetric at %d,%d", metric, i, j)
				}
			}
		}
		one, err := Similarity(maps[0], maps[2], Compare{Metric: metric, Fraction: 0.25})
		if err != nil {
			t.Fatal(err)
		}
		if one.Mean != mat[0][2] {
			t.Errorf("%s: matrix entry %g, Similarity mean %g", metric, mat[0][2], one.Mean)
		}
		if metric == Cosine && mat[0][2] < 0.9 {
			t.Errorf("cosine of x and 2x+0.1y is %g, want near 1", mat[0][2])
		}
	}
	host, _ := Similarity(maps[0], maps[1], Compare{})
	dev := values(t, CosineTensor(maps[0], maps[1], 0))
	if d := maxAbsDiff(t, host.PerSample, dev); d > 1e-12 {
		t.Errorf("CosineTensor differs from the host cosine by %g", d)
	}
	if err := CosineTensor(maps[0], maps[1].View([]int64{3, 16}), 0).Err(); err == nil {
		t.Error("CosineTensor of different shapes: no error")
	}
}
