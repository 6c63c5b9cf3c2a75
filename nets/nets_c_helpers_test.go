package nets

import (
	"path/filepath"
	"testing"

	"github.com/divres/divres/torch"
)

// Helpers of the vit, mixer and convnext tests.

// ncParity loads the PyTorch state_dict testdata/<file>.safetensors into the
// architecture built at the given width and checks that, in evaluation mode, the
// input of testdata/<file>_io.safetensors gives PyTorch's logits and features (see
// testdata/nets_c_gen.py).
func ncParity(t *testing.T, name string, st Style, width float64, file string) {
	t.Helper()
	base := filepath.Join("testdata", file)
	n, err := NewUninitialized(name, Config{Style: st, Width: width, Classes: 10}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if _, err := n.Store.Load(base+".safetensors", true); err != nil {
		t.Fatal(err)
	}
	n.Store.SetTraining(false)
	err = torch.Do(func(s *torch.Scope) error {
		io, _, err := torch.LoadSafetensors(base+"_io.safetensors", s, torch.CPU)
		if err != nil {
			return err
		}
		logits, feats := n.Forward(io["input"])
		for _, c := range []struct {
			what      string
			got, want *torch.Tensor
		}{{"logits", logits, io["logits"]}, {"features", feats, io["features"]}} {
			if err := c.got.Err(); err != nil {
				return err
			}
			if g, w := c.got.Shape(), c.want.Shape(); !ncEqualShapes(g, w) {
				t.Errorf("%s: %s shape %v, PyTorch %v", file, c.what, g, w)
				continue
			}
			diff, err := c.got.Sub(c.want).Abs().Max().Item()
			if err != nil {
				return err
			}
			if diff > 1e-4 {
				t.Errorf("%s: %s differ from PyTorch's by %g (max abs)", file, c.what, diff)
			}
			t.Logf("%s: %s max abs diff %.3g", file, c.what, diff)
		}
		return nil
	}, torch.NoGrad())
	if err != nil {
		t.Fatal(err)
	}
}

func ncEqualShapes(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ncTrain runs a training step with every parameter given a non-zero value first (and
// stochastic depth off) and checks shapes, a finite loss and a non-zero, finite gradient for every parameter.
func ncTrain(t *testing.T, name string, cfg Config, size int64) {
	t.Helper()
	torch.ManualSeed(3)
	n, err := New(name, cfg, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	allRandomizeZeroParams(t, n)
	// Stochastic depth may drop a block for the whole batch, leaving it without
	// gradient; its randomness is tested on its own.
	if m, ok := n.Model.(*ConvNeXt); ok {
		for _, stage := range m.features {
			for _, x := range stage.(Seq) {
				if blk, ok := x.(*cnBlock); ok {
					blk.drop.P = 0
				}
			}
		}
	}
	r := allTrainStep(t, n, size, 2)
	classes := n.Config.Classes
	if !ncEqualShapes(r.logits, []int64{2, classes}) {
		t.Errorf("%s/%s at %d: logits %v, want [2 %d]", name, cfg.Style, size, r.logits, classes)
	}
	w, _ := allClassifierWeight(n)
	if w == nil || !ncEqualShapes(r.features, []int64{2, w.T.Size(1)}) {
		t.Errorf("%s/%s at %d: features %v", name, cfg.Style, size, r.features)
	}
	if r.loss != r.loss || r.loss > 1e6 {
		t.Errorf("%s/%s at %d: loss %v", name, cfg.Style, size, r.loss)
	}
	if len(r.noGrad)+len(r.zeroGrad)+len(r.nonFinite) > 0 {
		t.Errorf("%s/%s at %d: no gradient %v, zero gradient %v, non-finite %v", name, cfg.Style, size,
			r.noGrad, r.zeroGrad, r.nonFinite)
	}
}

// ncCount builds an architecture uninitialised and returns its parameter count.
func ncCount(t *testing.T, name string, cfg Config) int64 {
	t.Helper()
	n, err := NewUninitialized(name, cfg, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	return n.Store.NumParams()
}
