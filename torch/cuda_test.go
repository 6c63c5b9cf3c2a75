package torch

import (
	"math"
	"testing"
)

// Device paths: on a CPU build moving to CUDA is an error (process alive); with a
// GPU the same computation gives the same numbers on both devices, pinned and
// asynchronous copies round-trip, and safetensors load onto the device.
func TestCUDAPaths(t *testing.T) {
	s := NewScope()
	defer s.Close()
	x := FromSlice(s, []float32{1, 2, 3, 4}, []int64{2, 2})
	if !CUDAAvailable() {
		if err := x.To(CUDA(0)).Err(); err == nil {
			t.Fatal("moving to CUDA on a CPU build succeeded")
		}
		if p := FromSlice(s, []float32{1}, nil, Pinned); p.Err() != nil {
			t.Fatalf("Pinned on a CPU build should fall back to ordinary memory: %v", p.Err())
		}
		t.Skip("no CUDA device")
	}
	dev := CUDA(0)
	ManualSeed(1)
	a := Randn(s, []int64{64, 32})
	w := Randn(s, []int64{16, 32}).SetRequiresGrad(true)
	cpuOut := Linear(a, w, nil).Tanh().Sum()
	if err := cpuOut.Backward(); err != nil {
		t.Fatal(err)
	}
	wg := w.Detach().To(dev).SetRequiresGrad(true)
	gpuOut := Linear(a.ToAsync(dev), wg, nil).Tanh().Sum()
	if err := gpuOut.Backward(); err != nil {
		t.Fatal(err)
	}
	c, _ := cpuOut.Item()
	g, _ := gpuOut.Item()
	if math.Abs(c-g) > 1e-3*math.Max(1, math.Abs(c)) {
		t.Fatalf("CPU %v vs GPU %v", c, g)
	}
	if ok, err := w.Grad().AllClose(wg.Grad().To(CPU), 1e-4, 1e-4); err != nil || !ok {
		t.Fatalf("gradients differ between devices (%v)", err)
	}
	p := FromSlice(s, []float32{5, 6, 7}, nil, Pinned, dev)
	if p.Device() != dev {
		t.Fatalf("pinned upload landed on %v", p.Device())
	}
	if v, err := p.Float32s(); err != nil || v[2] != 7 {
		t.Fatalf("round trip through the device: %v %v", v, err)
	}
}
