package cuda

import (
	"errors"
	"testing"

	"github.com/divres/divres/torch"
)

// Without CUDA, autocast scopes are refused with a device error and the summary says
// that nothing is there; a bad dtype is refused everywhere.
func TestWithoutCUDA(t *testing.T) {
	if _, err := AutocastScope(torch.Float32); err == nil {
		t.Error("AutocastScope(float32) succeeded")
	}
	if torch.CUDAAvailable() {
		t.Skip("CUDA is available here; see TestAutocast")
	}
	_, err := AutocastScope(torch.BFloat16)
	if !errors.Is(err, ErrNotAvailable) || !errors.Is(err, torch.ErrDevice) {
		t.Errorf("AutocastScope without CUDA: %v, want ErrNotAvailable (a device error)", err)
	}
	in := Describe()
	if in.Available || len(in.Devices) != 0 || in.Built != torch.BuiltWithCUDA() {
		t.Errorf("Describe: %+v", in)
	}
}

// On a machine with a GPU: the summary lists the devices and an autocast scope runs
// matrix products in bfloat16.
func TestAutocast(t *testing.T) {
	if !torch.CUDAAvailable() {
		t.Skip("no CUDA device")
	}
	in := Describe()
	if !in.Built || !in.Available || len(in.Devices) != torch.CUDADeviceCount() || in.Devices[0] == "" {
		t.Errorf("Describe: %+v", in)
	}
	s, err := AutocastScope(torch.BFloat16)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dev := torch.CUDA(0)
	y := torch.Ones(s, []int64{8, 8}, dev).Matmul(torch.Ones(s, []int64{8, 8}, dev))
	if y.DType() != torch.BFloat16 {
		t.Errorf("autocast matmul dtype %v, want bfloat16", y.DType())
	}
	if v, err := y.ToDType(torch.Float32).Float32s(); err != nil || v[0] != 8 {
		t.Errorf("autocast matmul: %v %v", v[:1], err)
	}
}
