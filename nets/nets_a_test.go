package nets

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/divres/divres/torch"
)

// Shared helpers of the tests of the resnet, vgg, densenet, lenet and preact_resnet
// families: a training step at the smallest and the default input size, parameter
// counts against numbers measured with PyTorch, and output parity with PyTorch.

// naWidth is the width of the forward/backward tests: small enough for 224×224
// ImageNet-style passes on a laptop CPU (all_test.go covers width 0.25 at the
// smallest input size).
const naWidth = 0.125

// naCheckSteps builds every (name, style) pair at a small width and runs a
// training forward/backward pass with batch 2 at the smallest supported and at the
// default input size: the logits must be (2, classes), the features (2, F) with F the
// classifier's input size, the loss finite, and every trainable parameter must get a
// finite, non-zero gradient, except those matched by exempt (whose gradient is zero
// in exact arithmetic, e.g. a conv bias followed by BatchNorm).
func naCheckSteps(t *testing.T, names []string, exempt func(name string) bool) {
	for _, name := range names {
		head := naHeadInputs(t, name)
		spec, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range spec.Styles {
			sizes := []int64{spec.MinInput(st)}
			if st.DefaultSize() != sizes[0] {
				sizes = append(sizes, st.DefaultSize())
			}
			for _, size := range sizes {
				size, st := size, st
				t.Run(name+"/"+string(st)+"/"+naItoa(size), func(t *testing.T) {
					torch.ManualSeed(3)
					n, err := New(name, Config{Style: st, Width: naWidth, Classes: 10}, torch.CPU)
					if err != nil {
						t.Fatal(err)
					}
					defer n.Close()
					r := trainStep(t, n, size, 2)
					if len(r.logits) != 2 || r.logits[0] != 2 || r.logits[1] != 10 {
						t.Errorf("logits %v, want [2 10]", r.logits)
					}
					if len(r.features) != 2 || r.features[0] != 2 || r.features[1] != head[name+"/"+string(st)] {
						t.Errorf("features %v, want [2 %d]", r.features, head[name+"/"+string(st)])
					}
					if r.loss != r.loss || r.loss <= 0 || r.loss > 1e3 {
						t.Errorf("loss %v", r.loss)
					}
					var zero []string
					for _, p := range r.zeroGrad {
						if exempt == nil || !exempt(p) {
							zero = append(zero, p)
						}
					}
					if len(r.noGrad)+len(r.nonFinite)+len(zero) > 0 {
						t.Errorf("gradients: none for %v, non-finite for %v, zero for %v", r.noGrad, r.nonFinite, zero)
					}
				})
			}
		}
	}
}

func naItoa(v int64) string { return strconv.FormatInt(v, 10) }

// naHeadInputs returns, per registered name, the input size of the final classifier
// layer at the test width: the second dimension of its weight.
func naHeadInputs(t *testing.T, name string) map[string]int64 {
	out := map[string]int64{}
	spec, _ := Lookup(name)
	for _, st := range spec.Styles {
		n, err := NewUninitialized(name, Config{Style: st, Width: naWidth, Classes: 10}, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		if w, _ := classifierWeight(n); w != nil {
			out[name+"/"+string(st)] = w.T.Size(1)
		}
		n.Close()
	}
	return out
}

// naCount is a parameter count measured with PyTorch.
type naCount struct {
	name   string
	style  Style
	in     int64 // input channels
	params int64
}

func naCheckCounts(t *testing.T, counts []naCount) {
	for _, c := range counts {
		n, err := NewUninitialized(c.name, Config{Style: c.style, InChannels: c.in, Classes: 10}, torch.CPU)
		if err != nil {
			t.Errorf("%s/%s: %v", c.name, c.style, err)
			continue
		}
		if got := n.Store.NumParams(); got != c.params {
			t.Errorf("%s/%s (%d input channels): %d parameters, PyTorch %d", c.name, c.style, c.in, got, c.params)
		}
		n.Close()
	}
}

// naCheckKuangliu compares our state_dict with a kuangliu-style entry of
// ../shared/nets/cifar_kuangliu_arch.json (names, shapes, order, parameter counts).
func naCheckKuangliu(t *testing.T, name, key string) {
	refs := loadRefs(t, "cifar_kuangliu_arch.json")
	var ref struct {
		In3 struct {
			TotalParams int64 `json:"total_params"`
		} `json:"in3_32"`
		In1 struct {
			TotalParams int64 `json:"total_params"`
		} `json:"in1_28"`
		Rows [][]any `json:"state_dict_in3"`
	}
	if err := json.Unmarshal(refs[key], &ref); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	for _, in := range []int64{3, 1} {
		n, err := NewUninitialized(name, Config{Style: CIFAR, InChannels: in, Classes: 10}, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		want := ref.In3.TotalParams
		if in == 1 {
			want = ref.In1.TotalParams
		} else if d := compareRows(ourRows(n), refRows(t, ref.Rows)); len(d) > 0 {
			t.Errorf("%s: state_dict differs from %s:\n  %s", name, key, strings.Join(d, "\n  "))
		}
		if got := n.Store.NumParams(); got != want || want == 0 {
			t.Errorf("%s with %d input channels: %d parameters, reference %d", name, in, got, want)
		}
		n.Close()
	}
}

// naCheckParity loads weights written by testdata/nets_a_gen.py into arch and
// compares its logits and features in evaluation mode with PyTorch's and, where the
// file has them, the training-mode logits and the updated BatchNorm buffers: absolute
// differences below 1e-4 for values of order 1, relative to the largest reference
// value beyond.
func naCheckParity(t *testing.T, family, file, arch string, cfg Config) {
	t.Helper()
	base := filepath.Join("testdata", family, file)
	checkParity(t, arch, cfg, base+".safetensors", base+"_io.safetensors", 1e-4, true,
		func(n *Net, io map[string]*torch.Tensor, s *torch.Scope) error {
			want, ok := io["train_logits"]
			if !ok {
				return nil
			}
			n.Store.SetTraining(true)
			logits, _ := n.Forward(io["input"])
			parityClose(t, file+": train logits", logits, want, 1e-4, true)
			for k, want := range io {
				name, ok := strings.CutPrefix(k, "after_train:")
				if !ok {
					continue
				}
				v := n.Store.Get(name)
				if v == nil {
					t.Errorf("no %s", name)
					continue
				}
				if strings.HasSuffix(name, "num_batches_tracked") {
					continue // TestNetsABatchNormCounter
				}
				parityClose(t, file+": "+name+" after a training step", v.T, want, 1e-4, true)
			}
			return nil
		})
}

// TestNetsABatchNormCounter checks that a training-mode forward pass increments
// num_batches_tracked, as PyTorch does (the parity files hold PyTorch's value after
// one step: 7 → 8).
func TestNetsABatchNormCounter(t *testing.T) {
	n, err := NewUninitialized("resnet18", Config{Width: 0.0625}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if _, err := n.Store.Load(filepath.Join("testdata", "resnet", "resnet18_cifar_w0.0625.safetensors"), true); err != nil {
		t.Fatal(err)
	}
	err = torch.Do(func(s *torch.Scope) error {
		n.Forward(torch.Randn(s, []int64{2, 3, 32, 32}))
		return nil
	}, torch.NoGrad())
	if err != nil {
		t.Fatal(err)
	}
	got, err := n.Store.Get("bn1.num_batches_tracked").T.ItemInt()
	if err != nil {
		t.Fatal(err)
	}
	if got != 8 {
		t.Errorf("num_batches_tracked = %d after one training step from 7, want 8 "+
			"(BatchNorm2d.Forward: AddScalar_(1) on the int64 counter fails in libtorch)", got)
	}
}

// naInit names an initialisation scheme whose statistics a test can check.
type naInit int

const (
	naKaimingFanOut naInit = iota // N(0, 2/fan_out)
	naKaimingFanIn                // N(0, 2/fan_in)
	naDefault                     // PyTorch's default: U(±1/√fan_in)
	naNormal001                   // N(0, 0.01²)
	naZero
	naOne
)

// naCheckInit builds name with fresh weights and checks the listed parameters'
// statistics: mean and standard deviation (within a tolerance that accounts for the
// sample size), uniform bounds, and constants.
func naCheckInit(t *testing.T, name string, cfg Config, want map[string]naInit) {
	t.Helper()
	torch.ManualSeed(5)
	n, err := New(name, cfg, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for key, scheme := range want {
		v := n.Store.Get(key)
		if v == nil {
			t.Errorf("%s: no %s", name, key)
			continue
		}
		data, err := v.T.Float64s()
		if err != nil {
			t.Fatal(err)
		}
		var sum, sq, maxAbs float64
		for _, x := range data {
			sum += x
			sq += x * x
			maxAbs = max(maxAbs, math.Abs(x))
		}
		mean := sum / float64(len(data))
		std := math.Sqrt(sq/float64(len(data)) - mean*mean)
		// Fans of the weight (a bias uses those of its layer's weight).
		wv := v
		if strings.HasSuffix(key, ".bias") {
			wv = n.Store.Get(strings.TrimSuffix(key, "bias") + "weight")
		}
		var fanIn, fanOut int64 = 1, 1
		if sh := wv.T.Shape(); len(sh) >= 2 {
			fanIn, fanOut, _ = torch.Fans(sh)
		}
		// Four standard errors of the sample standard deviation, at least 10 %.
		tol := max(0.1, 4/math.Sqrt(2*float64(len(data))))
		checkStd := func(s float64) {
			if math.Abs(std-s) > tol*s || math.Abs(mean) > 2*tol*s {
				t.Errorf("%s %s: mean %.3g std %.4g, want 0 and %.4g", name, key, mean, std, s)
			}
		}
		switch scheme {
		case naKaimingFanOut:
			checkStd(math.Sqrt(2 / float64(fanOut)))
		case naKaimingFanIn:
			checkStd(math.Sqrt(2 / float64(fanIn)))
		case naNormal001:
			checkStd(0.01)
		case naDefault:
			bound := 1 / math.Sqrt(float64(fanIn))
			checkStd(bound / math.Sqrt(3))
			if maxAbs > bound {
				t.Errorf("%s %s: |value| up to %g, beyond the bound %g", name, key, maxAbs, bound)
			}
		case naZero, naOne:
			c := float64(scheme - naZero)
			if maxAbs != c || std != 0 {
				t.Errorf("%s %s: not all %g (max |v| %g, std %g)", name, key, c, maxAbs, std)
			}
		}
	}
}
