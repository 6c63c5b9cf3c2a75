package nets

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/divres/divres/torch"
)

// Helpers of the vit, mixer and convnext tests.

// ncParity loads the PyTorch state_dict testdata/<file>.safetensors into the
// architecture built at the given width and checks that, in evaluation mode, the
// input of testdata/<file>_io.safetensors gives PyTorch's logits and features within
// 1e-4 (see testdata/nets_c_gen.py).
func ncParity(t *testing.T, name string, st Style, width float64, file string) {
	t.Helper()
	base := filepath.Join("testdata", file)
	checkParity(t, name, Config{Style: st, Width: width, Classes: 10}, base+".safetensors", base+"_io.safetensors", 1e-4, false, nil)
}

// ncTrain runs a training step with every parameter given a non-zero value first (and
// stochastic depth off) and checks shapes, a finite loss and a non-zero, finite
// gradient for every parameter.
func ncTrain(t *testing.T, name string, cfg Config, size int64) {
	t.Helper()
	torch.ManualSeed(3)
	n, err := New(name, cfg, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	randomizeZeroParams(t, n)
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
	r := trainStep(t, n, size, 2)
	classes := n.Config.Classes
	if !slices.Equal(r.logits, []int64{2, classes}) {
		t.Errorf("%s/%s at %d: logits %v, want [2 %d]", name, cfg.Style, size, r.logits, classes)
	}
	w, _ := classifierWeight(n)
	if w == nil || !slices.Equal(r.features, []int64{2, w.T.Size(1)}) {
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
