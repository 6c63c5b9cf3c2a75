package bench

import (
	"math"
	"strings"
	"testing"

	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// numpy.quantile([1, 2, 4, 8], q) for q = 0, 0.25, 0.5, 0.75, 1.
func TestQuantile(t *testing.T) {
	v := []float64{1, 2, 4, 8}
	for q, want := range map[float64]float64{0: 1, 0.25: 1.75, 0.5: 3, 0.75: 5, 1: 8} {
		if got := Quantile(v, q); math.Abs(got-want) > 1e-12 {
			t.Errorf("Quantile(%v, %g) = %g, want %g", v, q, got, want)
		}
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("the quantile of nothing is not NaN")
	}
}

// Two inference passes of a small LeNet: the statistics are ordered and
// consistent with the batch.
func TestRunInfer(t *testing.T) {
	r, err := Run(Config{Arch: "lenet", Style: nets.CIFAR, Width: 0.5, InChannels: 1, Classes: 10, Batch: 4,
		Steps: 2, Warmup: 1, Device: torch.CPU})
	if err != nil {
		t.Fatal(err)
	}
	if r.Mode != "infer" || r.Size != 32 || r.Steps != 2 || !(r.MinMS <= r.MedianMS && r.MedianMS <= r.MaxMS) {
		t.Fatalf("stats %+v", r)
	}
	if want := 4 / (r.MedianMS / 1000); math.Abs(r.ImagesPerSec-want) > 1e-9*want {
		t.Errorf("images/s %g, want %g", r.ImagesPerSec, want)
	}
	if !strings.HasPrefix(r.String(), "lenet infer batch 4 32x32") {
		t.Errorf("summary %q", r.String())
	}
	if _, err := Run(Config{Arch: "lenet", Style: nets.CIFAR, Width: 1, InChannels: 1, Classes: 10, Batch: 0, Steps: 1}); err == nil {
		t.Error("a batch of 0 was accepted")
	}
}
