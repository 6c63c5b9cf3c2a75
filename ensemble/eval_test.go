package ensemble

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/data"
	"github.com/divres/divres/torch"
)

// TestEvaluateGeneratedCorruptions: a small model evaluated on a corruption set
// generated from 40 Fashion-MNIST test images gives a complete Result (15 benchmark
// + 4 extra corruptions × 5 severities, errors in [0, 1], corruption accuracy the
// mean); the set is grayscale, cached and reused; against itself as the baseline
// CE and mCE are 1.
func TestEvaluateGeneratedCorruptions(t *testing.T) {
	needFashionMNIST(t)
	ctx := context.Background()
	dir := t.TempDir()
	cfg := TrainConfig{Arch: "lenet", Data: "fashion-mnist", Subset: 512, ValLimit: 64, Epochs: 1, Batch: 32, LR: 0.05, Device: "cpu"}
	if _, err := Train(ctx, cfg, dir, testOpts(t)); err != nil {
		t.Fatal(err)
	}
	net, meta, err := LoadModel(filepath.Join(dir, ModelFile), torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	_, test, err := data.Open("fashion-mnist", data.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	test = data.FirstK(test, 40)
	cache := t.TempDir()
	gen := GenerateOptions{Dataset: "fashion-mnist", Seed: 5, CacheDir: cache}
	set, source, err := GenerateSet(ctx, test, gen)
	if err != nil {
		t.Fatal(err)
	}
	if set.Info.N != 40 || set.Info.Channels != 1 || set.Info.Height != 28 || len(set.Info.Corruptions) != 19 {
		t.Fatalf("set info %+v", set.Info)
	}
	setDir, _ := SetDir(gen, 40, corrupt.CIFAR)
	if set.Dir != setDir {
		t.Errorf("set in %s, SetDir says %s", set.Dir, setDir)
	}
	// Reused: nothing is rewritten.
	st, _ := os.Stat(filepath.Join(set.Dir, "fog.npy"))
	time.Sleep(10 * time.Millisecond)
	set2, _, err := GenerateSet(ctx, test, gen)
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(filepath.Join(set2.Dir, "fog.npy"))
	if set2.Dir != set.Dir || !st.ModTime().Equal(st2.ModTime()) {
		t.Error("the cached set was regenerated")
	}
	// Another seed is another set.
	if d, _ := SetDir(GenerateOptions{Dataset: "fashion-mnist", Seed: 6, CacheDir: cache}, 40, corrupt.CIFAR); d == set.Dir {
		t.Error("seeds 5 and 6 share a cache directory")
	}

	r, err := EvaluateCorruptions(ctx, net, meta, test, set, torch.CPU, EvalOptions{Source: source, Batch: 16})
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "lenet" || r.Arch != "lenet" || r.Dataset != "fashion-mnist" || r.Params != net.Store.NumParams() || r.Corruptions != source {
		t.Errorf("result fields %+v", r)
	}
	if len(r.Errors) != 19 {
		t.Fatalf("%d corruptions in the result", len(r.Errors))
	}
	var sum float64
	for c, row := range r.Errors {
		for s, e := range row {
			if e < 0 || e > 1 || math.Round(e*40) != e*40 {
				t.Errorf("%s severity %d: error %v is not a count out of 40", c, s+1, e)
			}
		}
		if isBench(c) {
			for _, e := range row {
				sum += e
			}
		}
	}
	if want := 1 - sum/75; math.Abs(r.CorruptionAccuracy-want) > 1e-12 {
		t.Errorf("corruption accuracy %v, want %v", r.CorruptionAccuracy, want)
	}
	in, _ := meta.Input()
	p, err := Predict(ctx, net, test, in, torch.CPU, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.CleanError != p.ErrorRate() {
		t.Errorf("clean error %v, Predict says %v", r.CleanError, p.ErrorRate())
	}
	base := *r
	if err := corrupt.ComputeCE(r, &base); err != nil {
		t.Fatal(err)
	}
	if r.MCE == nil || math.Abs(*r.MCE-1) > 1e-12 {
		t.Errorf("mCE against itself: %v", r.MCE)
	}

	// A subset of corruptions and severities: the rest is marked NotEvaluated.
	// The Slice callback sees every slice, clean first, with the errors of the result.
	slices := map[string]float64{}
	var order []string
	r, err = EvaluateCorruptions(ctx, net, meta, test, set, torch.CPU,
		EvalOptions{Corruptions: []string{"fog", "contrast"}, Severities: []int{2, 5}, N: 20,
			Slice: func(c string, s int, p *Predictions) {
				key := fmt.Sprintf("%s/%d", c, s)
				if len(p.Pred) != 20 {
					t.Errorf("slice %s: %d predictions, want 20", key, len(p.Pred))
				}
				slices[key] = p.ErrorRate()
				order = append(order, key)
			}})
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 5 || order[0] != "/0" || slices["/0"] != r.CleanError || slices["fog/2"] != r.Errors["fog"][1] ||
		slices["contrast/5"] != r.Errors["contrast"][4] {
		t.Errorf("slices %v (order %v), result clean %v errors %v", slices, order, r.CleanError, r.Errors)
	}
	if len(r.Errors) != 2 || r.Errors["fog"][0] != corrupt.NotEvaluated || r.Errors["fog"][1] < 0 || r.Errors["contrast"][4] < 0 {
		t.Errorf("partial result %v", r.Errors)
	}
	if _, err := EvaluateCorruptions(ctx, net, meta, test, set, torch.CPU, EvalOptions{Corruptions: []string{"rain"}}); err == nil {
		t.Error("an absent corruption was accepted")
	}
}

func isBench(name string) bool {
	for _, n := range corrupt.BenchmarkNames() {
		if n == name {
			return true
		}
	}
	return false
}

// TestDatasetSourceRoundTrip: the CHW ↔ HWC conversions between data and corrupt
// are inverse.
func TestDatasetSourceRoundTrip(t *testing.T) {
	c, h, w := 3, 4, 5
	pix := make([]uint8, 2*c*h*w)
	for i := range pix {
		pix[i] = uint8(i * 7)
	}
	m, err := data.NewMemory(c, h, w, pix, []int32{0, 1}, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	src := datasetSource{m}
	img, err := src.Image(1)
	if err != nil {
		t.Fatal(err)
	}
	// channel 2, row 3, column 4 of image 1
	if got, want := img.At(3, 4, 2), pix[c*h*w+2*h*w+3*w+4]; got != want {
		t.Errorf("HWC pixel %d, want %d", got, want)
	}
	img0, _ := src.Image(0)
	back, err := data.FromImages([]corrupt.Image{img0, img}, []int32{0, 1}, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if string(back.Pix(i)) != string(m.Pix(i)) {
			t.Errorf("image %d changed in the round trip", i)
		}
	}
}
