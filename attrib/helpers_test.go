package attrib

import (
	"math"
	"testing"

	"github.com/divres/divres/internal/npyfile"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// attrCNN is the reference net of the Captum vectors: conv1 (1→8, 3×3) → ReLU →
// 2×2 max-pool → conv2 (8→16, 3×3) → ReLU → global average pool → fc (16→10).
type attrCNN struct {
	conv1, conv2 *nets.Conv2d
	fc           *nets.Linear
}

func (m *attrCNN) Forward(x *torch.Tensor) (logits, features *torch.Tensor) {
	y := torch.Relu(m.conv1.Forward(x))
	y = torch.MaxPool2d(y, []int64{2, 2}, []int64{2, 2}, []int64{0, 0}, []int64{1, 1}, false)
	y = torch.Relu(m.conv2.Forward(y))
	f := torch.AdaptiveAvgPool2d(y, []int64{1, 1}).Flatten(1, -1)
	return m.fc.Forward(f), f
}

// newAttrCNN builds the net in dtype with the reference weights (or fresh random
// ones when weights is ""), in evaluation mode.
func newAttrCNN(t testing.TB, dtype torch.DType, weights string) Model {
	t.Helper()
	store := torch.NewStore(dtype)
	t.Cleanup(store.Close)
	hooks := nets.NewHooks()
	b := nets.Builder{Path: store.Root(), Width: 1, Hooks: hooks}
	m := &attrCNN{
		conv1: nets.NewConv2d(b.Sub("conv1"), 1, 8, 3, nets.ConvOpts{Bias: true}),
		conv2: nets.NewConv2d(b.Sub("conv2"), 8, 16, 3, nets.ConvOpts{Bias: true}),
		fc:    nets.NewLinear(b.Sub("fc"), 16, 10, nets.LinearOpts{}),
	}
	if err := store.Err(); err != nil {
		t.Fatal(err)
	}
	if weights != "" {
		if _, err := store.Load(weights, true); err != nil {
			t.Fatal(err)
		}
	}
	store.SetTraining(false)
	return Model{Net: m, Store: store, Hooks: hooks, InChannels: 1}
}

const refPath = "testdata/attr_reference.npz"

// refArray reads an array of the reference archive as float64 with its shape.
func refArray(t testing.TB, name string) ([]float64, []int64) {
	t.Helper()
	a, err := npyfile.OpenNpz(refPath)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	f, err := a.Array(name)
	if err != nil {
		t.Fatal(err)
	}
	var v []float64
	if f.Kind == 'f' {
		v, err = f.ReadFloat64s(0, f.Elems())
	} else {
		var iv []int64
		iv, err = f.ReadInts(0, f.Elems())
		for _, x := range iv {
			v = append(v, float64(x))
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	sh := make([]int64, len(f.Shape))
	for i, d := range f.Shape {
		sh[i] = int64(d)
	}
	return v, sh
}

// refTensor reads a reference float array as a tensor of dtype in s.
func refTensor(t testing.TB, s *torch.Scope, name string, dtype torch.DType) *torch.Tensor {
	v, sh := refArray(t, name)
	return torch.FromSlice(s, v, sh).ToDType(dtype)
}

// refTargets are the reference targets.
func refTargets(t testing.TB) []int64 {
	v, _ := refArray(t, "targets")
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// values copies a tensor to the host as float64.
func values(t testing.TB, x *torch.Tensor) []float64 {
	t.Helper()
	v, err := x.To(torch.CPU).Float64s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// maxAbsDiff is the largest |a_i − b_i|; lengths must match.
func maxAbsDiff(t testing.TB, a, b []float64) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("lengths %d and %d differ", len(a), len(b))
	}
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

// maxAbs is the largest |a_i|.
func maxAbs(a []float64) float64 {
	d := 0.0
	for _, x := range a {
		d = math.Max(d, math.Abs(x))
	}
	return d
}
