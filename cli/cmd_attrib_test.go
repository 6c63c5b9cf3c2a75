package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divres/divres/attrib"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

func TestAttribCommand(t *testing.T) {
	dir := t.TempDir()
	torch.ManualSeed(17)
	cfg := nets.Config{Style: nets.CIFAR, Width: 0.125, InChannels: 1, Classes: 3, Size: 16}
	net, err := nets.New("resnet18", cfg, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	weights := filepath.Join(dir, "w.safetensors")
	if err := net.Store.Save(weights, nil); err != nil {
		t.Fatal(err)
	}
	net.Store.SetTraining(false)
	x := make([]float64, 3*16*16)
	for i := range x {
		x[i] = math.Sin(float64(i) * 0.37)
	}
	in := filepath.Join(dir, "x.npy")
	writeNPY(t, in, "<f4", []int{3, 1, 16, 16}, x)
	tg := filepath.Join(dir, "t.npy")
	writeNPY(t, tg, "<i8", []int{3}, []float64{2, 0, 1})
	model := []string{"attrib", "--arch", "resnet18", "--width", "0.125", "--classes", "3", "--weights", weights,
		"--in", in, "--device", "cpu"}
	run := func(extra ...string) error {
		_, err := runDivres(t, append(append([]string{}, model...), extra...)...)
		return err
	}
	out := filepath.Join(dir, "a.npy")
	if err := run("--targets", tg, "--method", "saliency_signed", "--out", out, "--batch", "2", "--png", filepath.Join(dir, "a.png")); err != nil {
		t.Fatal(err)
	}
	got, shape := readF32NPY(t, out)
	if len(shape) != 4 || shape[0] != 3 || shape[1] != 1 || shape[2] != 16 {
		t.Fatalf("saliency shape %v", shape)
	}
	// The same maps through the package.
	s := torch.NewScope()
	defer s.Close()
	xt := torch.FromSlice(s, x, []int64{3, 1, 16, 16}).ToDType(torch.Float32)
	r, err := attrib.Attribute(s, attrib.FromNet(net), xt, attrib.Labels([]int64{2, 0, 1}), attrib.Options{Method: attrib.SaliencySigned})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := r.Maps.Float32s()
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("map value %d: command %g, package %g", i, got[i], want[i])
		}
	}
	// IG with its delta; Grad-CAM at layer4 (1×1 at 16×16 input) and upsampled.
	delta := filepath.Join(dir, "d.npy")
	if err := run("--method", "ig", "--steps", "8", "--baseline", "blur", "--out", out, "--delta", delta); err != nil {
		t.Fatal(err)
	}
	if d, sh := readF32NPY(t, delta); len(sh) != 1 || sh[0] != 3 || math.IsNaN(float64(d[0])) {
		t.Fatalf("delta %v shape %v", d, sh)
	}
	if err := run("--method", "gradcam", "--layer", "layer3", "--out", out); err != nil {
		t.Fatal(err)
	}
	if _, sh := readF32NPY(t, out); len(sh) != 4 || sh[1] != 1 || sh[2] != 2 || sh[3] != 2 {
		t.Fatalf("grad-cam at layer3 shape %v, want (3, 1, 2, 2)", sh)
	}
	if err := run("--method", "gradcam", "--layer", "layer3", "--upsample", "bilinear", "--relu", "--out", out); err != nil {
		t.Fatal(err)
	}
	if v, sh := readF32NPY(t, out); sh[2] != 16 || sh[3] != 16 || v[0] < 0 {
		t.Fatalf("upsampled grad-cam shape %v", sh)
	}
	if err := run("--method", "vargrad", "--nt-samples", "2", "--seed", "3", "--out", out); err != nil {
		t.Fatal(err)
	}
	// Bad input: one clear error each.
	x64 := filepath.Join(dir, "x64.npy")
	writeNPY(t, x64, "<f8", []int{3, 1, 16, 16}, x)
	x3 := filepath.Join(dir, "x3.npy")
	writeNPY(t, x3, "<f4", []int{3, 16, 16}, x)
	bad := filepath.Join(dir, "bad.npy")
	writeNPY(t, bad, "<i8", []int{3}, []float64{0, 3, 1})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--in", x64, "--out", out}, "want float32"},
		{[]string{"--in", x3, "--out", out}, "want 4 dimensions"},
		{[]string{"--targets", bad, "--out", out}, "target 3 of input 1 is out of range [0, 3)"},
		{[]string{"--method", "gradcam", "--layer", "layer9", "--out", out}, `unknown layer "layer9"`},
		{[]string{"--method", "gradcam", "--out", out}, "needs --layer"},
		{[]string{"--method", "deeplift", "--out", out}, "unknown attribution method"},
		{[]string{"--method", "ig", "--ig-method", "simpson", "--out", out}, "unknown integration method"},
	} {
		err := run(c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line containing %q", c.args, err, c.want)
		}
	}
}
