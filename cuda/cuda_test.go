package cuda

import (
	"testing"

	"github.com/divres/divres/torch"
)

// On a CPU-only libtorch every query must say so truthfully and every device
// operation must fail with an error (not crash).
func TestReportsAbsenceTruthfully(t *testing.T) {
	if IsAvailable() {
		t.Skip("CUDA is available here; see TestDevice")
	}
	if DeviceCount() != 0 {
		t.Fatalf("no CUDA but %d devices", DeviceCount())
	}
	if _, err := DeviceName(0); err == nil {
		t.Error("DeviceName(0) without CUDA succeeded")
	}
	if _, err := MemoryStats(0); err == nil {
		t.Error("MemoryStats(0) without CUDA succeeded")
	}
	if err := Synchronize(0); err == nil {
		t.Error("Synchronize(0) without CUDA succeeded")
	}
	if _, err := AutocastScope(torch.BFloat16); err == nil {
		t.Error("AutocastScope without CUDA succeeded")
	}
	if err := EmptyCache(); err != nil {
		t.Errorf("EmptyCache without CUDA: %v", err)
	}
	in := Describe()
	if in.Available || len(in.Devices) != 0 {
		t.Errorf("Describe: %+v", in)
	}
	// Switches are accepted (they only set libtorch's global flags).
	SetCudnnBenchmark(true)
	SetTF32(true)
	if !TF32() {
		t.Error("TF32 switch not recorded")
	}
	SetTF32(false)
}

// On a machine with a GPU: devices, memory accounting, synchronisation and
// autocast work, and a training-like loop holds allocated memory flat.
func TestDevice(t *testing.T) {
	if !IsAvailable() {
		t.Skip("no CUDA device")
	}
	name, err := DeviceName(0)
	if err != nil || name == "" {
		t.Fatalf("DeviceName: %q %v", name, err)
	}
	t.Logf("device 0: %s, cuDNN %v", name, CudnnAvailable())
	if _, err := DeviceName(DeviceCount()); err == nil {
		t.Error("DeviceName beyond the last device succeeded")
	}
	dev := torch.CUDA(0)
	var allocated []int64
	for step := 0; step < 200; step++ {
		err := torch.Do(func(s *torch.Scope) error {
			x := torch.Randn(s, []int64{256, 512}, dev).SetRequiresGrad(true)
			w := torch.Randn(s, []int64{512, 512}, dev)
			return x.Matmul(w).Relu().Sum().Backward()
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := Synchronize(0); err != nil {
			t.Fatal(err)
		}
		m, err := MemoryStats(0)
		if err != nil {
			t.Fatal(err)
		}
		allocated = append(allocated, m.Allocated)
	}
	if allocated[len(allocated)-1] != allocated[10] {
		t.Errorf("allocated GPU memory drifts: %d after step 10, %d after step 200", allocated[10], allocated[len(allocated)-1])
	}
	s, err := AutocastScope(torch.BFloat16)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	y := torch.Ones(s, []int64{8, 8}, dev).Matmul(torch.Ones(s, []int64{8, 8}, dev))
	if y.DType() != torch.BFloat16 {
		t.Errorf("autocast matmul dtype %v, want bfloat16", y.DType())
	}
}
