package torch

import (
	"errors"
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

// On a CPU-only libtorch every CUDA query must say so truthfully and every device
// operation must fail with a device error (not crash).
func TestCUDAReportsAbsenceTruthfully(t *testing.T) {
	if CUDAAvailable() {
		t.Skip("CUDA is available here; see TestCUDADevice")
	}
	if n := CUDADeviceCount(); n != 0 {
		t.Fatalf("no CUDA but %d devices", n)
	}
	if BuiltWithCUDA() && CUDADeviceCount() > 0 {
		t.Fatal("devices reported while CUDA is unavailable")
	}
	_, nameErr := CUDADeviceName(0)
	_, memErr := CUDAMemoryStats(0)
	for name, err := range map[string]error{
		"CUDADeviceName(0)":  nameErr,
		"CUDAMemoryStats(0)": memErr,
		"CUDASynchronize(0)": CUDASynchronize(0),
		"CUDAResetPeak(0)":   CUDAResetPeak(0),
	} {
		if !errors.Is(err, ErrDevice) {
			t.Errorf("%s without CUDA: %v, want a device error", name, err)
		}
	}
	if err := CUDAEmptyCache(); err != nil {
		t.Errorf("CUDAEmptyCache without CUDA: %v", err)
	}
	// Switches are accepted (they only set libtorch's global flags).
	SetCudnnBenchmark(true)
	SetCudnnBenchmark(false)
	SetTF32(true)
	if !TF32() {
		t.Error("TF32 switch not recorded")
	}
	SetTF32(false)
	if TF32() {
		t.Error("TF32 still on after SetTF32(false)")
	}
}

// On a machine with a GPU: device names, memory accounting and synchronisation work,
// and a training-like loop holds allocated memory flat.
func TestCUDADevice(t *testing.T) {
	if !CUDAAvailable() {
		t.Skip("no CUDA device")
	}
	name, err := CUDADeviceName(0)
	if err != nil || name == "" {
		t.Fatalf("CUDADeviceName: %q %v", name, err)
	}
	t.Logf("device 0: %s, cuDNN %v", name, CudnnAvailable())
	if _, err := CUDADeviceName(CUDADeviceCount()); !errors.Is(err, ErrDevice) {
		t.Errorf("CUDADeviceName beyond the last device: %v, want a device error", err)
	}
	dev := CUDA(0)
	var allocated []int64
	for range 200 {
		err := Do(func(s *Scope) error {
			x := Randn(s, []int64{256, 512}, dev).SetRequiresGrad(true)
			w := Randn(s, []int64{512, 512}, dev)
			return x.Matmul(w).Relu().Sum().Backward()
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := CUDASynchronize(0); err != nil {
			t.Fatal(err)
		}
		m, err := CUDAMemoryStats(0)
		if err != nil {
			t.Fatal(err)
		}
		allocated = append(allocated, m.Allocated)
	}
	if allocated[len(allocated)-1] != allocated[10] {
		t.Errorf("allocated GPU memory drifts: %d after step 10, %d after step 200", allocated[10], allocated[len(allocated)-1])
	}
	if err := CUDAResetPeak(0); err != nil {
		t.Fatal(err)
	}
	if err := CUDAEmptyCache(); err != nil {
		t.Fatal(err)
	}
}
