package nets

import (
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/divres/divres/torch"
)

// Test helpers of the nets-B families (inception, googlenet, mobilenet, shufflenet,
// efficientnet, regnet, squeezenet, mnasnet). The parity files under
// testdata/<family>/ are made by testdata/nets_b_gen.py (see its doc string).

// nbTol is the largest absolute difference accepted between our outputs and
// PyTorch's (float32, outputs of order 1; the observed differences are ~1e-7, the
// brief's bound is 1e-4).
const nbTol = 1e-5

// nbParityCase names one parity case: weights file and input/output file of an
// architecture in one style at one width.
type nbParityCase struct {
	family, arch string
	style        Style
	width        float64
	weights, io  string // file names under testdata/<family>/
	// trainBuffers selects the BatchNorm buffers compared after the training-mode
	// forward (nil: all).
	trainBuffers func(name string) bool
}

// nbParity runs nbCheckParity in both styles for the files nets_b_gen.py wrote for
// arch at width w (shared: one weights file for both styles).
func nbParity(t *testing.T, family, arch string, w float64, shared bool, trainBuffers func(string) bool) {
	for _, st := range []Style{CIFAR, ImageNet} {
		t.Run(string(st), func(t *testing.T) {
			ws := strconv.FormatFloat(w, 'g', -1, 64)
			weights := arch + "_w" + ws + ".safetensors"
			if !shared {
				weights = arch + "_" + string(st) + "_w" + ws + ".safetensors"
			}
			nbCheckParity(t, nbParityCase{family: family, arch: arch, style: st, width: w, weights: weights,
				io: arch + "_" + string(st) + "_w" + ws + "_io.safetensors", trainBuffers: trainBuffers})
		})
	}
}

// nbCheckParity loads PyTorch's weights into our model and compares, in evaluation
// mode, the logits and features for the recorded input (within nbTol); then, in
// training mode, the features (batch statistics) if recorded, and the BatchNorm
// running statistics and counters after that forward pass.
func nbCheckParity(t *testing.T, c nbParityCase) {
	t.Helper()
	dir := filepath.Join("testdata", c.family)
	cfg := Config{Style: c.style, Width: c.width, Classes: 10}
	checkParity(t, c.arch, cfg, filepath.Join(dir, c.weights), filepath.Join(dir, c.io), nbTol, false,
		func(n *Net, ref map[string]*torch.Tensor, s *torch.Scope) error {
			n.Store.SetTraining(true)
			defer n.Store.SetTraining(false)
			_, feats := n.Forward(ref["input"])
			if want, ok := ref["train_features"]; ok {
				// batch statistics of small maps (down to 2×2 with a batch of 2)
				// amplify rounding differences: the brief's 1e-4
				parityClose(t, "train features", feats, want, 1e-4, false)
			}
			checked := 0
			for name, want := range ref {
				key, ok := strings.CutPrefix(name, "after_train.")
				if !ok || (c.trainBuffers != nil && !c.trainBuffers(key)) {
					continue
				}
				v := n.Store.Get(key)
				if v == nil || !v.Buffer {
					t.Errorf("buffer %s missing", key)
					continue
				}
				if strings.HasSuffix(key, "num_batches_tracked") {
					got, err1 := v.T.ItemInt()
					exp, err2 := want.ItemInt()
					if err1 != nil || err2 != nil || got != exp {
						t.Errorf("%s = %d, PyTorch %d (%v %v)", key, got, exp, err1, err2)
					}
				} else {
					// running variances of wide layers reach the hundreds: relative
					// tolerance
					parityClose(t, key+" after a training forward", v.T.In(s), want, 1e-5, true)
				}
				checked++
			}
			hasBuffers := false
			for _, v := range n.Store.Vars() {
				hasBuffers = hasBuffers || v.Buffer
			}
			if hasBuffers && checked == 0 {
				t.Errorf("no BatchNorm buffers compared")
			}
			return nil
		})
}

// nbStep runs one training-mode forward/backward pass of a fresh model (batch 2,
// random input and targets).
func nbStep(t *testing.T, name string, cfg Config, size int64) stepResult {
	t.Helper()
	torch.ManualSeed(7)
	n, err := New(name, cfg, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	return trainStep(t, n, size, 2)
}

// nbCheckSteps runs nbStep for both styles at the smallest and the default input
// size (width 0.25 for CIFAR, 0.125 for ImageNet at 224), with a grayscale input and
// 7 classes, and checks the shapes (features: feat[style]), the loss and the
// gradients.
func nbCheckSteps(t *testing.T, name string, feat map[Style]int64) {
	spec, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []Style{CIFAR, ImageNet} {
		for _, size := range []int64{spec.MinInput(st), st.DefaultSize()} {
			cfg := Config{Style: st, Width: nbStepWidth[st], InChannels: 1, Classes: 7}
			r := nbStep(t, name, cfg, size)
			if !slices.Equal(r.logits, []int64{2, 7}) || !slices.Equal(r.features, []int64{2, feat[st]}) {
				t.Errorf("%s/%s at %d: logits %v, features %v, want [2 7] and [2 %d]", name, st, size, r.logits, r.features, feat[st])
			}
			if math.IsNaN(r.loss) || math.IsInf(r.loss, 0) || r.loss <= 0 {
				t.Errorf("%s/%s at %d: loss %v", name, st, size, r.loss)
			}
			// At the smallest sizes (down to 1×1) a batch of 2 leaves BatchNorm two
			// values per channel, which it maps to ±1 whatever they are: gradients
			// through it vanish legitimately, so only finiteness is required there.
			bad := append(r.noGrad, r.nonFinite...)
			if size == st.DefaultSize() {
				bad = append(bad, r.zeroGrad...)
			}
			if len(bad) > 0 {
				t.Errorf("%s/%s at %d: %d parameters without a useful gradient: %v", name, st, size, len(bad), bad[:min(5, len(bad))])
			}
		}
	}
}

// nbStepWidth is the width of the nbCheckSteps models per style.
var nbStepWidth = map[Style]float64{CIFAR: 0.25, ImageNet: 0.125}

// nbCheckTorchvisionRows compares the CIFAR-style state_dict of a family that
// huyvnphan lacks with torchvision's (ImageNet) reference rows: the CIFAR changes
// are strides, paddings and pools only, so names and shapes must be identical.
func nbCheckTorchvisionRows(t *testing.T, name string) {
	refs := loadRefs(t, "torchvision_arch.json")
	raw, ok := refs[name]
	if !ok {
		t.Fatalf("%s not in torchvision_arch.json", name)
	}
	var ref refArch
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	n, err := NewUninitialized(name, Config{Style: CIFAR, Classes: 10}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if got := n.Store.NumParams(); got != ref.TotalParams {
		t.Errorf("%s/cifar: %d parameters, torchvision %d", name, got, ref.TotalParams)
	}
	if d := compareRows(ourRows(n), refRows(t, ref.StateDict)); len(d) > 0 {
		t.Errorf("%s/cifar: state_dict differs from torchvision's:\n  %s", name, strings.Join(d, "\n  "))
	}
}

// nbCheckMACs compares Net.MACs at width 1 with the count PyTorch forward hooks
// gave for the same model (testdata/nets_b_gen.py counts).
func nbCheckMACs(t *testing.T, name string, st Style, size, want int64) {
	t.Helper()
	n, err := NewUninitialized(name, Config{Style: st, Classes: 10}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	got, err := n.MACs(size)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("%s/%s at %d: %d MACs, PyTorch hooks count %d", name, st, size, got, want)
	}
}

// nbInitCheck describes the expected distribution of one parameter after New.
type nbInitCheck struct {
	param string
	// std is the expected standard deviation (0: not checked); bound is the largest
	// allowed |value| (0: not checked); zero requires all zeros.
	std, bound float64
	zero       bool
}

// nbCheckInit builds an architecture with fresh weights and checks the
// initialisation of selected parameters (the standard deviation within 10 %).
func nbCheckInit(t *testing.T, name string, cfg Config, checks []nbInitCheck) {
	t.Helper()
	torch.ManualSeed(3)
	n, err := New(name, cfg, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, c := range checks {
		v := n.Store.Get(c.param)
		if v == nil {
			t.Errorf("%s: no parameter %s", name, c.param)
			continue
		}
		err := torch.Do(func(s *torch.Scope) error {
			x := v.T.In(s).Detach()
			if c.zero {
				nz, err := x.CountNonzero().Item()
				if err != nil {
					return err
				}
				if nz != 0 {
					t.Errorf("%s %s: %v non-zero values, want all zero", name, c.param, nz)
				}
			}
			if c.std > 0 {
				sd, err := x.Flatten(0, -1).Std([]int64{0}, false, false).Item()
				if err != nil {
					return err
				}
				if math.Abs(sd-c.std) > 0.1*c.std {
					t.Errorf("%s %s: std %.4g, want %.4g", name, c.param, sd, c.std)
				}
			}
			if c.bound > 0 {
				m, err := x.Abs().Max().Item()
				if err != nil {
					return err
				}
				if m > c.bound {
					t.Errorf("%s %s: max |w| %.4g, want ≤ %.4g", name, c.param, m, c.bound)
				}
			}
			return nil
		}, torch.NoGrad())
		if err != nil {
			t.Fatal(err)
		}
	}
}
