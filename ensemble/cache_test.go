package ensemble

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/divres/divres/data"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// writeTinyMember saves a freshly initialised LeNet for 1×28×28 inputs padded to 32
// with the given classes as a run directory.
func writeTinyMember(t *testing.T, dir string, seed uint64, classes []string) {
	t.Helper()
	torch.ManualSeed(seed)
	net, err := nets.New("lenet", nets.Config{Style: nets.CIFAR, Width: 1, InChannels: 1, Classes: int64(len(classes)), Size: 32}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	meta := Meta{Model: "lenet", Arch: "lenet", Style: "cifar", Width: 1, Classes: len(classes), ClassNames: classes,
		InChannels: 1, InputSize: 32, Fit: data.FitPad.String(), Mean: []float32{0.3}, Std: []float32{0.3},
		Dataset: "synthetic", Epoch: 1, Epochs: 1, Params: net.Store.NumParams()}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := net.Store.Save(filepath.Join(dir, ModelFile), meta.Strings()); err != nil {
		t.Fatal(err)
	}
}

func tinyImages(t *testing.T, n int, seed uint64, classes []string) data.Dataset {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	pix := make([]uint8, n*28*28)
	for i := range pix {
		pix[i] = uint8(rng.IntN(256))
	}
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(i % len(classes))
	}
	ds, err := data.NewMemory(1, 28, 28, pix, labels, classes)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestPredictionCache: the first pass runs the models and stores probabilities equal
// to Predict's; a second cache on the same directory returns the same arrays with no
// forward pass; features are kept for the clean slice; members with other classes
// are refused in one line.
func TestPredictionCache(t *testing.T) {
	root := t.TempDir()
	classes := []string{"a", "b", "c", "d"}
	dirs := []string{filepath.Join(root, "m1"), filepath.Join(root, "m2")}
	writeTinyMember(t, dirs[0], 1, classes)
	writeTinyMember(t, dirs[1], 2, classes)
	members, err := OpenPoolMembers(dirs)
	if err != nil {
		t.Fatal(err)
	}
	if members[0].Hash == members[1].Hash || len(members[0].Hash) != 64 {
		t.Fatalf("hashes %q %q", members[0].Hash, members[1].Hash)
	}
	clean := tinyImages(t, 20, 1, classes)
	other := tinyImages(t, 20, 2, classes)
	ins := []InputSlice{
		{Slice: CleanSlice, Load: func() (data.Dataset, error) { return clean, nil }},
		{Slice: Slice{"gaussian_noise", 3}, Load: func() (data.Dataset, error) { return other, nil }},
	}
	cdir := filepath.Join(root, "cache")
	c1, _ := NewPredictionCache(cdir)
	ctx := context.Background()
	o := OutputsOptions{Batch: 8, Logits: true, Features: true}
	out, err := c1.Outputs(ctx, members, ins, torch.CPU, o)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(2 * 2 * 3); c1.ForwardPasses() != want { // 2 members × 2 slices × 3 batches of ≤ 8
		t.Errorf("%d forward passes, want %d", c1.ForwardPasses(), want)
	}
	for m := range members {
		net, meta, err := LoadModel(dirs[m], torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		in, _ := meta.Input()
		p, err := Predict(ctx, net, clean, in, torch.CPU, PredictOptions{Batch: 8, Probs: true})
		net.Close()
		if err != nil {
			t.Fatal(err)
		}
		got := out[m][0]
		if got.N != 20 || got.Classes != 4 || got.D == 0 || len(got.Features) != 20*got.D {
			t.Fatalf("member %d clean: N %d C %d D %d", m, got.N, got.Classes, got.D)
		}
		if out[m][1].Features != nil {
			t.Errorf("member %d: features kept for a corrupted slice", m)
		}
		for i, v := range p.Probs {
			if math.Abs(float64(v-got.Probs[i])) > 1e-6 {
				t.Fatalf("member %d probability %d: cache %v, Predict %v", m, i, got.Probs[i], v)
			}
		}
		for i := range got.Labels {
			if got.Labels[i] != int64(clean.Label(i)) {
				t.Fatalf("label %d", i)
			}
		}
	}
	c2, _ := NewPredictionCache(cdir)
	again, err := c2.Outputs(ctx, members, ins, torch.CPU, o)
	if err != nil {
		t.Fatal(err)
	}
	if c2.ForwardPasses() != 0 {
		t.Errorf("cache hit ran %d forward passes", c2.ForwardPasses())
	}
	for m := range out {
		for s := range out[m] {
			a, b := out[m][s], again[m][s]
			if !slices.Equal(a.Probs, b.Probs) || !slices.Equal(a.Logits, b.Logits) || !slices.Equal(a.Features, b.Features) ||
				!slices.Equal(a.Labels, b.Labels) {
				t.Errorf("member %d slice %d differs after reading back", m, s)
			}
		}
	}
	// Other images are another fingerprint: a miss.
	ins[1].Load = func() (data.Dataset, error) { return tinyImages(t, 20, 3, classes), nil }
	c3, _ := NewPredictionCache(cdir)
	if _, err := c3.Outputs(ctx, members[:1], ins, torch.CPU, o); err != nil {
		t.Fatal(err)
	}
	if c3.ForwardPasses() != 3 {
		t.Errorf("new images: %d forward passes, want 3", c3.ForwardPasses())
	}

	odd := filepath.Join(root, "m3")
	writeTinyMember(t, odd, 3, []string{"a", "b", "c"})
	_, err = OpenPoolMembers([]string{dirs[0], odd})
	if err == nil || !strings.Contains(err.Error(), "different class sets") || strings.Contains(err.Error(), "\n") {
		t.Errorf("different classes: %v", err)
	}
	if _, err := OpenPoolMembers([]string{dirs[0], dirs[0]}); err == nil || !strings.Contains(err.Error(), "same checkpoint") {
		t.Errorf("the same member twice: %v", err)
	}
}

// TestPredictionCacheWorkers: on two intra-op threads Outputs shares the slices
// between two one-thread workers; every array equals a run on one thread, slice by
// slice, and the thread count is brought back afterwards.
func TestPredictionCacheWorkers(t *testing.T) {
	root := t.TempDir()
	classes := []string{"a", "b", "c"}
	dirs := []string{filepath.Join(root, "m1"), filepath.Join(root, "m2")}
	writeTinyMember(t, dirs[0], 5, classes)
	writeTinyMember(t, dirs[1], 6, classes)
	members, err := OpenPoolMembers(dirs)
	if err != nil {
		t.Fatal(err)
	}
	var ins []InputSlice
	for k := range 5 {
		ds := tinyImages(t, 24, uint64(10+k), classes)
		ins = append(ins, InputSlice{Slice: Slice{"s", k + 1}, Load: func() (data.Dataset, error) { return ds, nil }})
	}
	ins[0].Slice = CleanSlice
	prev := torch.NumThreads()
	defer torch.SetNumThreads(prev)
	run := func(threads int) ([][]*Outputs, []int) {
		torch.SetNumThreads(threads)
		c, _ := NewPredictionCache(filepath.Join(root, "cache", strconv.Itoa(threads)))
		var seen []int
		out, err := c.Outputs(context.Background(), members, ins, torch.CPU,
			OutputsOptions{Batch: 7, Logits: true, Features: true, Progress: func(done, total int) {
				if total != len(ins) {
					t.Errorf("progress total %d, want %d", total, len(ins))
				}
				seen = append(seen, done)
			}})
		if err != nil {
			t.Fatal(err)
		}
		if got := torch.NumThreads(); got != threads {
			t.Errorf("Outputs left %d threads, want %d", got, threads)
		}
		return out, seen
	}
	one, _ := run(1)
	two, seen := run(2)
	if !slices.Equal(seen, []int{1, 2, 3, 4, 5}) {
		t.Errorf("progress reports %v, want 1…5 in order", seen)
	}
	for m := range one {
		for s := range one[m] {
			a, b := one[m][s], two[m][s]
			if a.N != 24 || !slices.Equal(a.Probs, b.Probs) || !slices.Equal(a.Logits, b.Logits) ||
				!slices.Equal(a.Features, b.Features) || !slices.Equal(a.Labels, b.Labels) {
				t.Errorf("member %d slice %d: two workers differ from one thread", m, s)
			}
		}
	}
	if one[0][0].Features == nil || one[0][1].Features != nil {
		t.Error("features not kept for the clean slice only")
	}
}
