package nas

import (
	"math"
	"testing"

	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// tinySpace is the ResNet50 space with a divisor small enough that width choices
// change the inner widths of a width-0.125 network (8, 16, 32, 64 channels).
func tinySpace() Space {
	s := ResNet50Space()
	s.Divisor = 2
	return s
}

// newSuper builds a seeded super-network.
func newSuper(t testing.TB, style nets.Style, width float64, inC, classes int64, seed uint64) (*nets.Net, *Elastic) {
	t.Helper()
	torch.ManualSeed(seed)
	n, err := nets.New(SupernetArch, nets.Config{Style: style, Width: width, InChannels: inC, Classes: classes}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n, n.Model.(*Elastic)
}

// randomizeBN gives every BatchNorm non-trivial affine parameters and running
// statistics, so that eval-mode comparisons exercise them.
func randomizeBN(t testing.TB, e *Elastic) {
	t.Helper()
	err := torch.Do(func(s *torch.Scope) error {
		for _, bn := range e.batchNorms() {
			c := bn.W.Shape()
			for _, p := range []struct {
				t      *torch.Tensor
				lo, hi float64
			}{{bn.W, 0.5, 1.5}, {bn.B, -0.2, 0.2}, {bn.Mean, -0.3, 0.3}, {bn.Var, 0.5, 2}} {
				r := torch.Rand(s, c).MulScalar(p.hi - p.lo).AddScalar(p.lo)
				if err := p.t.In(s).Copy_(r); err != nil {
					return err
				}
			}
		}
		return nil
	}, torch.NoGrad())
	if err != nil {
		t.Fatal(err)
	}
}

// forward runs a net on x in the given mode and returns the logits as floats.
func forward(t testing.TB, m nets.Model, store *torch.Store, x []float32, shape []int64, training bool) []float32 {
	t.Helper()
	store.SetTraining(training)
	var out []float32
	err := torch.Do(func(s *torch.Scope) error {
		lg, _ := m.Forward(torch.FromSlice(s, x, shape))
		v, err := lg.Float32s()
		out = v
		return err
	}, torch.NoGrad())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func randImages(n, c, side int, seed uint64) ([]float32, []int64) {
	x := make([]float32, n*c*side*side)
	s := seed*2654435761 + 1
	for i := range x {
		s ^= s << 13
		s ^= s >> 7
		s ^= s << 17
		x[i] = float32(s%2001)/1000 - 1
	}
	return x, []int64{int64(n), int64(c), int64(side), int64(side)}
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}
