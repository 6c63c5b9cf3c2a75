package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divres/divres/data"
)

// A model named by its checkpoint (--model) and by its architecture and weights
// (--arch, --classes, --weights) gives the same logits; the two ways cannot be
// mixed, and one of them must be given.
func TestPredictModelOrArch(t *testing.T) {
	if _, err := os.Stat(filepath.Join(data.FashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Fatal("Fashion-MNIST is not installed (build.sh installs dataset-fashion-mnist)")
	}
	dir := t.TempDir()
	run := filepath.Join(dir, "lenet")
	if out, err := runDivres(t, "train", "--arch", "lenet", "--width", "0.5", "--data", "fashion-mnist", "--out", run,
		"--epochs", "1", "--batch", "16", "--subset", "32", "--val-limit", "16", "--device", "cpu", "--progress", "off"); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	x := make([]float32, 3*1*32*32)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	in := filepath.Join(dir, "x.npy")
	writeF32NPY(t, in, x, []int64{3, 1, 32, 32})
	byModel, byArch := filepath.Join(dir, "a.npy"), filepath.Join(dir, "b.npy")
	if out, err := runDivres(t, "predict", "--model", run, "--in", in, "--out", byModel, "--batch", "2"); err != nil {
		t.Fatalf("predict --model: %v\n%s", err, out)
	}
	if out, err := runDivres(t, "predict", "--arch", "lenet", "--width", "0.5", "--classes", "10",
		"--weights", filepath.Join(run, "model.safetensors"), "--in", in, "--out", byArch); err != nil {
		t.Fatalf("predict --arch: %v\n%s", err, out)
	}
	a, shapeA := readF32NPY(t, byModel)
	b, shapeB := readF32NPY(t, byArch)
	if len(shapeA) != 2 || shapeA[0] != 3 || shapeA[1] != 10 || len(shapeB) != 2 || shapeB[0] != 3 || shapeB[1] != 10 {
		t.Fatalf("shapes %v and %v, want [3 10]", shapeA, shapeB)
	}
	if d := maxAbsDiff(a, b); d != 0 {
		t.Errorf("the logits differ by up to %g", d)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", run, "--arch", "lenet"}, "--arch cannot be given"},
		{[]string{"--arch", "lenet"}, "name the model with --model"},
		{[]string{"--arch", "lenet", "--weights", filepath.Join(run, "model.safetensors")}, "--classes"},
		{[]string{"--model", filepath.Join(dir, "none")}, "none"},
	} {
		_, err := runDivres(t, append([]string{"predict", "--in", in, "--out", filepath.Join(dir, "c.npy")}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
}
