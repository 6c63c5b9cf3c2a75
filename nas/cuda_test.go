package nas

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/divres/divres/data"
	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/torch"
)

// TestPipelineOnCUDA (GPU machines only; scripts/gpu-check.sh runs it with a small
// Fashion-MNIST subset in $DIVRES_TEST_DATA): a tiny base run, progressive
// shrinking and the search, all on the GPU.
func TestPipelineOnCUDA(t *testing.T) {
	if !torch.CUDAAvailable() {
		t.Skip("no CUDA device")
	}
	ds := os.Getenv("DIVRES_TEST_DATA")
	if ds == "" {
		if _, err := os.Stat(filepath.Join(data.FashionMNISTDir, "train-images-idx3-ubyte.gz")); err != nil {
			t.Skip("no $DIVRES_TEST_DATA and no Fashion-MNIST")
		}
		ds = "fashion-mnist"
	}
	ctx := context.Background()
	tmp := t.TempDir()
	base := filepath.Join(tmp, "base")
	if _, err := ensemble.Train(ctx, ensemble.TrainConfig{Arch: "resnet50", Width: 0.125, InputSize: 16, Data: ds, Subset: 256,
		ValLimit: 32, Epochs: 1, Batch: 32, LR: 0.05, Device: "cuda", Workers: 1, Seed: 1},
		base, ensemble.TrainOptions{Log: quiet(), Progress: ensemble.ProgressOff}); err != nil {
		t.Fatal(err)
	}
	ps := psConfig(base)
	ps.Device = "cuda"
	run := filepath.Join(tmp, "ps")
	hist, err := Train(ctx, ps, run, TrainOptions{Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[1].Stage != "width" {
		t.Fatalf("history %+v", hist)
	}
	if _, err := Search(ctx, run, SearchConfig{Population: 4, Generations: 1, ValLimit: 32, CalibImages: 32, Batch: 64,
		Device: "cuda", Workers: 1, Seed: 1}, filepath.Join(tmp, "search"), quiet()); err != nil {
		t.Fatal(err)
	}
}
