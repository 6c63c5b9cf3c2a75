package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/divres/divres/internal/npyfile"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

func TestNetsListJSON(t *testing.T) {
	out, err := runDivres(t, "nets", "list", "--json", "--style", "cifar", "--no-macs")
	if err != nil {
		t.Fatal(err)
	}
	var rows []netsRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	cifar := 0
	for _, name := range nets.Names() {
		if s, _ := nets.Lookup(name); s.Supports(nets.CIFAR) {
			cifar++
		}
	}
	if len(rows) != cifar {
		t.Errorf("%d rows, want one per CIFAR-style architecture (%d)", len(rows), cifar)
	}
	byName := map[string]netsRow{}
	for _, r := range rows {
		if r.Style != "cifar" || r.MACs != 0 {
			t.Errorf("row %+v", r)
		}
		byName[r.Name] = r
	}
	// vit_small: 3,722,250 parameters, 256 features (see nets/vit_test.go).
	if r := byName["vit_small"]; r.Params != 3_722_250 || r.Features != 256 || r.Family != "vit" || r.MinSize != 16 {
		t.Errorf("vit_small: %+v", r)
	}
	if r := byName["mlp_mixer"]; r.Params != 4_360_970 || r.Features != 256 {
		t.Errorf("mlp_mixer: %+v", r)
	}
}

func TestNetsListMACs(t *testing.T) {
	out, err := runDivres(t, "nets", "list", "--arch", "resnet18", "--style", "imagenet")
	if err != nil {
		t.Fatal(err)
	}
	// torchvision publishes 1.81 GFLOPS for resnet18 at 224; 11,181,642 parameters
	// with 10 classes.
	fields := strings.Fields(strings.Split(strings.TrimSpace(out), "\n")[1])
	want := []string{"resnet18", "resnet", "imagenet", "11181642", "512", "", "1.814", "224"}
	if len(fields) != 8 {
		t.Fatalf("row %q", fields)
	}
	for i, w := range want {
		if w != "" && fields[i] != w {
			t.Errorf("column %d: %q, want %q (row %q)", i, fields[i], w, fields)
		}
	}
	if _, err := runDivres(t, "nets", "list", "--style", "mnist"); err == nil {
		t.Error("unknown style accepted")
	}
}

// writeF32NPY writes float32 values of the given shape as an .npy file.
func writeF32NPY(t *testing.T, path string, v []float32, shape []int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A 4-D array through npyio: nested slices give the shape.
	switch len(shape) {
	case 4:
		per3, per2, per1 := shape[1]*shape[2]*shape[3], shape[2]*shape[3], shape[3]
		a := make([][][][]float32, shape[0])
		for i := range a {
			a[i] = make([][][]float32, shape[1])
			for j := range a[i] {
				a[i][j] = make([][]float32, shape[2])
				for k := range a[i][j] {
					off := int64(i)*per3 + int64(j)*per2 + int64(k)*per1
					a[i][j][k] = v[off : off+per1]
				}
			}
		}
		err = npy.Write(f, a)
	default:
		err = npy.Write(f, v)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// readF32NPY reads a float32 .npy file.
func readF32NPY(t *testing.T, path string) ([]float32, []int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := npy.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Trim(r.Header.Descr.Type, "'") != "<f4" {
		t.Fatalf("%s: dtype %s, want <f4", path, r.Header.Descr.Type)
	}
	var v []float32
	if err := r.Read(&v); err != nil {
		t.Fatal(err)
	}
	return v, r.Header.Descr.Shape
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// TestPredictPyTorchParity runs predict on the PyTorch reference cases of the nets
// package (weights, input and outputs made by nets/testdata/gen_reference.py).
func TestPredictPyTorchParity(t *testing.T) {
	for _, c := range []struct {
		arch, style, width, file string
	}{
		{"vit_small", "cifar", "0.125", "vit/vit_small_cifar_w0.125"},
		{"convnext_tiny", "imagenet", "0.0625", "convnext/convnext_tiny_imagenet_w0.0625"},
	} {
		base := filepath.Join("..", "nets", "testdata", c.file)
		ref, _, err := torch.LoadSafetensors(base+"_io.safetensors", nil, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		x, _ := ref["input"].Float32s()
		wantLogits, _ := ref["logits"].Float32s()
		wantFeats, _ := ref["features"].Float32s()
		dir := t.TempDir()
		in, out, feats := filepath.Join(dir, "x.npy"), filepath.Join(dir, "logits.npy"), filepath.Join(dir, "feats.npy")
		writeF32NPY(t, in, x, ref["input"].Shape())
		_, err = runDivres(t, "predict", "--arch", c.arch, "--style", c.style, "--width", c.width, "--classes", "10",
			"--weights", base+".safetensors", "--in", in, "--out", out, "--features", feats, "--batch", "1")
		if err != nil {
			t.Fatal(err)
		}
		got, shape := readF32NPY(t, out)
		if len(shape) != 2 || shape[0] != 2 || shape[1] != 10 {
			t.Errorf("%s: logits shape %v", c.arch, shape)
		}
		if d := maxAbsDiff(got, wantLogits); d > 1e-4 {
			t.Errorf("%s: logits differ from PyTorch's by %g", c.arch, d)
		}
		gotF, _ := readF32NPY(t, feats)
		if d := maxAbsDiff(gotF, wantFeats); d > 1e-4 {
			t.Errorf("%s: features differ from PyTorch's by %g", c.arch, d)
		}
		for _, v := range ref {
			v.Free()
		}
	}
}

// TestPredictBatching checks that predict with uneven batches gives the logits of one
// in-process forward pass over all images, for a grayscale model with 3 classes.
func TestPredictBatching(t *testing.T) {
	dir := t.TempDir()
	weights := filepath.Join(dir, "w.safetensors")
	torch.ManualSeed(2)
	net, err := nets.New("resnet18", nets.Config{Style: nets.CIFAR, Width: 0.125, InChannels: 1, Classes: 3}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	if err := net.Store.Save(weights, nil); err != nil {
		t.Fatal(err)
	}
	net.Store.SetTraining(false)
	shape := []int64{5, 1, 20, 20}
	x := make([]float32, 5*20*20)
	for i := range x {
		x[i] = float32(math.Sin(float64(i) * 0.37))
	}
	var want []float32
	err = torch.Do(func(s *torch.Scope) error {
		logits, _ := net.Forward(torch.FromSlice(s, x, shape))
		want, err = logits.Float32s()
		return err
	}, torch.Inference())
	if err != nil {
		t.Fatal(err)
	}
	in, out := filepath.Join(dir, "x.npy"), filepath.Join(dir, "out.npy")
	writeF32NPY(t, in, x, shape)
	if _, err := runDivres(t, "predict", "--arch", "resnet18", "--width", "0.125", "--classes", "3",
		"--weights", weights, "--in", in, "--out", out, "--batch", "2"); err != nil {
		t.Fatal(err)
	}
	got, gotShape := readF32NPY(t, out)
	if len(gotShape) != 2 || gotShape[0] != 5 || gotShape[1] != 3 {
		t.Errorf("shape %v, want [5 3]", gotShape)
	}
	if d := maxAbsDiff(got, want); d > 1e-5 {
		t.Errorf("batched logits differ by %g", d)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("%d files in the output directory (temporary file left?)", len(entries))
	}
}

func TestPredictErrors(t *testing.T) {
	dir := t.TempDir()
	weights := filepath.Join("..", "nets", "testdata", "vit", "vit_small_cifar_w0.125.safetensors")
	good := filepath.Join(dir, "x.npy")
	writeF32NPY(t, good, make([]float32, 2*3*32*32), []int64{2, 3, 32, 32})
	gray := filepath.Join(dir, "gray.npy")
	writeF32NPY(t, gray, make([]float32, 2*1*32*32), []int64{2, 1, 32, 32})
	small := filepath.Join(dir, "small.npy")
	writeF32NPY(t, small, make([]float32, 3*8*8), []int64{1, 3, 8, 8})
	odd := filepath.Join(dir, "odd.npy")
	writeF32NPY(t, odd, make([]float32, 3*36*36), []int64{1, 3, 36, 36})
	flat := filepath.Join(dir, "flat.npy")
	writeF32NPY(t, flat, make([]float32, 12), []int64{12})
	f64 := filepath.Join(dir, "f64.npy")
	if f, err := os.Create(f64); err == nil {
		_ = npy.Write(f, make([]float64, 4))
		f.Close()
	}
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	cutHeader := filepath.Join(dir, "cut_header.npy") // cut inside the header dictionary
	if err := os.WriteFile(cutHeader, goodBytes[:40], 0o644); err != nil {
		t.Fatal(err)
	}
	cutData := filepath.Join(dir, "cut_data.npy")
	if err := os.WriteFile(cutData, goodBytes[:len(goodBytes)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.npy")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.npy") // claims 2^40 elements: refused before allocating
	if err := os.WriteFile(huge, append(npyfile.HeaderBytes("<f4", []int{1 << 20, 1, 1024, 1024}), 0, 0, 0, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.npy")
	base := []string{"predict", "--arch", "vit_small", "--width", "0.125", "--classes", "10", "--out", out}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--weights", weights, "--in", f64}, "want float32"},
		{[]string{"--weights", weights, "--in", cutHeader}, "header dictionary truncated"},
		{[]string{"--weights", weights, "--in", cutData}, "truncated"},
		{[]string{"--weights", weights, "--in", empty}, "header truncated"},
		{[]string{"--weights", weights, "--in", huge}, "truncated"},
		{[]string{"--weights", weights, "--in", flat}, "want 4 dimensions"},
		{[]string{"--weights", weights, "--in", gray, "--in-channels", "3"}, "1 channels, but --in-channels is 3"},
		{[]string{"--weights", weights, "--in", gray}, "conv_proj.weight"},
		{[]string{"--weights", weights, "--in", small}, "needs at least 16×16"},
		{[]string{"--weights", filepath.Join(dir, "missing.safetensors"), "--in", good}, "--weights"},
		{[]string{"--weights", weights, "--in", filepath.Join(dir, "missing.npy")}, "missing.npy"},
		{[]string{"--weights", weights, "--in", good, "--width", "0.25"}, "shape"},
		{[]string{"--weights", weights, "--in", good, "--classes", "7"}, "heads.head"},
		{[]string{"--weights", weights, "--in", good, "--batch", "0"}, "--batch"},
		{[]string{"--weights", weights, "--in", good, "--style", "imagenet"}, "no imagenet style"},
		{[]string{"--weights", weights, "--in", odd, "--arch", "mlp_mixer"}, "takes only 32×32"},
	} {
		_, err := runDivres(t, append(append([]string{}, base...), c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("an output file was written despite the errors (%v)", err)
	}
}
