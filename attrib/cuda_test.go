package attrib

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// TestAttributionsOnCUDA (GPU machines only; scripts/gpu-check.sh runs it):
// saliency, integrated gradients, SmoothGrad and Grad-CAM (a ResNet stage and a
// MobileNet block prefix) computed on the GPU stay there and equal the CPU's maps
// of the same weights, to GPU float32 rounding (TF32 convolutions included).
func TestAttributionsOnCUDA(t *testing.T) {
	if !torch.CUDAAvailable() {
		t.Skip("no CUDA device")
	}
	dev := torch.CUDA(0)
	for _, c := range []struct{ arch, layer string }{{"resnet18", "layer3"}, {"mobilenet_v2", "features.5"}} {
		t.Run(c.arch, func(t *testing.T) {
			torch.ManualSeed(7)
			cfg := nets.Config{Style: nets.CIFAR, Width: 0.25, InChannels: 3, Classes: 5, Size: 16}
			cpu, err := nets.New(c.arch, cfg, torch.CPU)
			if err != nil {
				t.Fatal(err)
			}
			defer cpu.Close()
			gpu, err := nets.New(c.arch, cfg, dev)
			if err != nil {
				t.Fatal(err)
			}
			defer gpu.Close()
			w := filepath.Join(t.TempDir(), "w.safetensors")
			if err := cpu.Store.Save(w, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := gpu.Store.Load(w, true); err != nil {
				t.Fatal(err)
			}
			cpu.Store.SetTraining(false)
			gpu.Store.SetTraining(false)
			s := torch.NewScope()
			defer s.Close()
			x := torch.Randn(s, []int64{4, 3, 16, 16})
			xg := x.To(dev)
			tg := Labels([]int64{0, 1, 2, 4})
			noise := torch.Randn(s, []int64{4, 3, 3, 16, 16}).MulScalar(0.1) // the same noise on both devices
			for _, o := range []Options{
				{Method: Saliency},
				{Method: IG, IG: IGOptions{Steps: 8, InternalBatch: 6}},
				{Method: SmoothGrad, NTSamples: 3, Noise: noise},
				{Method: GradCAM, Layer: c.layer, Upsample: "bilinear"},
			} {
				want, err := Attribute(s, FromNet(cpu), x, tg, o)
				if err != nil {
					t.Fatal(err)
				}
				if o.Noise != nil {
					o.Noise = o.Noise.To(dev)
				}
				got, err := Attribute(s, FromNet(gpu), xg, tg, o)
				if err != nil {
					t.Fatalf("%s on CUDA: %v", o.Method, err)
				}
				if !got.Maps.Device().IsCUDA() {
					t.Errorf("%s: maps on %v, want the GPU", o.Method, got.Maps.Device())
				}
				a, b := values(t, want.Maps), values(t, got.Maps)
				var scale float64
				for _, v := range a {
					scale = max(scale, math.Abs(v))
				}
				if d := maxAbsDiff(t, a, b); scale == 0 || d > 2e-3*scale {
					t.Errorf("%s: CUDA maps differ from the CPU's by %g (max |map| %g)", o.Method, d, scale)
				}
			}
		})
	}
}
