package ensemble

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/divres/divres/data"
	"github.com/divres/divres/diversity"
	"github.com/divres/divres/torch"
)

// gpuTestData is the dataset of the CUDA training tests: $DIVRES_TEST_DATA
// (scripts/gpu-check.sh carries a small Fashion-MNIST subset there) or the
// installed Fashion-MNIST.
func gpuTestData(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("DIVRES_TEST_DATA"); d != "" {
		return d
	}
	needFashionMNIST(t)
	return "fashion-mnist"
}

// TestOutputsOnCUDA (GPU machines only; scripts/gpu-check.sh runs it): members'
// cached outputs, layer outputs and the diversity computed from them are the
// CPU's, to GPU float32 rounding.
func TestOutputsOnCUDA(t *testing.T) {
	if !torch.CUDAAvailable() {
		t.Skip("no CUDA device")
	}
	root := t.TempDir()
	classes := []string{"a", "b", "c", "d"}
	var dirs []string
	for seed := range uint64(2) {
		dirs = append(dirs, filepath.Join(root, fmt.Sprintf("m%d", seed)))
		writeTinyMember(t, dirs[seed], seed+1, classes)
	}
	members, err := OpenPoolMembers(dirs)
	if err != nil {
		t.Fatal(err)
	}
	clean := tinyImages(t, 40, 1, classes)
	ins := []InputSlice{{Slice: CleanSlice, Load: func() (data.Dataset, error) { return clean, nil }}}
	ctx := context.Background()
	o := OutputsOptions{Batch: 16, Logits: true, Features: true}
	byDev := map[string][][]*Outputs{}
	for name, dev := range map[string]torch.Device{"cpu": torch.CPU, "cuda": torch.CUDA(0)} {
		c, err := NewPredictionCache(filepath.Join(root, "cache-"+name))
		if err != nil {
			t.Fatal(err)
		}
		if byDev[name], err = c.Outputs(ctx, members, ins, dev, o); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		f, d, err := c.LayerFeatures(ctx, members[0], clean, "conv2", dev, 16, 0)
		if err != nil || d == 0 || len(f) != 40*d {
			t.Fatalf("%s: layer features D = %d, %d values, %v", name, d, len(f), err)
		}
	}
	for m := range members {
		a, b := byDev["cpu"][m][0], byDev["cuda"][m][0]
		for _, pair := range [][2][]float32{{a.Probs, b.Probs}, {a.Logits, b.Logits}, {a.Features, b.Features}} {
			if len(pair[0]) == 0 || len(pair[0]) != len(pair[1]) {
				t.Fatalf("member %d: %d and %d values", m, len(pair[0]), len(pair[1]))
			}
			for i := range pair[0] {
				if d := math.Abs(float64(pair[0][i] - pair[1][i])); d > 1e-3*(1+math.Abs(float64(pair[0][i]))) {
					t.Fatalf("member %d value %d: CPU %v, CUDA %v", m, i, pair[0][i], pair[1][i])
				}
			}
		}
	}
	var reps []*diversity.Report
	for _, name := range []string{"cpu", "cuda"} {
		col := []*Outputs{byDev[name][0][0], byDev[name][1][0]}
		r, err := diversity.Compute(DiversityInputs(col), diversity.Options{Metrics: []string{"disagreement", "linear_cka"}})
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, r)
	}
	for _, k := range []string{"disagreement", "linear_cka"} {
		a, _ := reps[0].Float(k)
		b, _ := reps[1].Float(k)
		if math.IsNaN(a) || math.Abs(a-b) > 1e-3 {
			t.Errorf("%s: CPU %v, CUDA %v", k, a, b)
		}
	}
}

// TestJointStepOnCUDA (GPU machines only): one epoch of NCL joint training of two
// LeNets runs on the GPU and gives finite losses and loadable members.
func TestJointStepOnCUDA(t *testing.T) {
	if !torch.CUDAAvailable() {
		t.Skip("no CUDA device")
	}
	cfg := tinyJoint(HeuristicPrediction, 0.5, 0.1)
	cfg.Train.Data, cfg.Train.Device, cfg.Train.Epochs, cfg.Train.Subset = gpuTestData(t), "cuda", 1, 64
	res, err := TrainJoint(context.Background(), cfg, t.TempDir(), testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.History) != 1 || math.IsNaN(res.History[0].TrainLoss) || math.IsInf(res.History[0].TrainLoss, 0) {
		t.Fatalf("history %+v", res.History)
	}
	for _, md := range res.MemberDirs {
		net, _, err := LoadModel(md, torch.CUDA(0))
		if err != nil {
			t.Fatal(err)
		}
		net.Close()
	}
}
