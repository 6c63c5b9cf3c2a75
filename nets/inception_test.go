package nets

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divres/divres/torch"
)

func TestInceptionV3Parity(t *testing.T) {
	// CIFAR style against torchvision's Inception3 with huyvnphan's stem
	// (nets_b_gen.py inception_v3), ImageNet style against torchvision's.
	nbParity(t, "inception", "inception_v3", 0.0625, false, nil)
}

func TestInceptionV3Steps(t *testing.T) {
	// Features at widths 0.25 (CIFAR) and 0.125 (ImageNet): Mixed_7c's branches
	// 80 + 4·96 + 48 and 40 + 4·48 + 24.
	nbCheckSteps(t, "inception_v3", map[Style]int64{CIFAR: 512, ImageNet: 256})
}

func TestInceptionV3ImageNetReference(t *testing.T) {
	// torchvision.models.inception_v3(num_classes=10, aux_logits=False) is not in
	// ../shared/nets/torchvision_arch.json: its 21,806,058 parameters and ordered
	// state_dict rows were written by nets_b_gen.py counts.
	b, err := os.ReadFile(filepath.Join("testdata", "inception", "inception_v3_imagenet_state_dict.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref refArch
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	const want = 21806058
	if ref.TotalParams != want || len(ref.StateDict) != 566 {
		t.Fatalf("reference file: %d parameters, %d rows", ref.TotalParams, len(ref.StateDict))
	}
	n, err := NewUninitialized("inception_v3", Config{Style: ImageNet, Classes: 10}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if got := n.Store.NumParams(); got != want {
		t.Errorf("%d parameters, torchvision %d", got, want)
	}
	if d := compareRows(ourRows(n), refRows(t, ref.StateDict)); len(d) > 0 {
		t.Errorf("state_dict differs from torchvision's:\n  %s", strings.Join(d, "\n  "))
	}
}

func TestInceptionV3MACs(t *testing.T) {
	// PyTorch forward hooks on Conv2d and Linear (nets_b_gen.py counts), width 1.
	nbCheckMACs(t, "inception_v3", CIFAR, 32, 3460465664)
	nbCheckMACs(t, "inception_v3", ImageNet, 224, 2835893600)
}

func TestInceptionV3Init(t *testing.T) {
	// ImageNet (torchvision): truncated normal std 0.1 (cut at ±2) for convolutions
	// and the Linear, whose bias keeps PyTorch's default. CIFAR (huyvnphan, no
	// init): PyTorch's defaults.
	nbCheckInit(t, "inception_v3", Config{Style: ImageNet, Width: 0.25}, []nbInitCheck{
		{param: "Mixed_6b.branch7x7dbl_3.conv.weight", std: 0.1, bound: 2},
		{param: "fc.weight", std: 0.1, bound: 2},
		{param: "fc.bias", bound: 1 / math.Sqrt(512)},
	})
	nbCheckInit(t, "inception_v3", Config{Style: CIFAR, Width: 0.25}, []nbInitCheck{
		{param: "Mixed_7c.branch3x3dbl_2.conv.weight", std: 1 / math.Sqrt(3*112*9), bound: 1 / math.Sqrt(112*9)},
		{param: "fc.weight", std: 1 / math.Sqrt(3*512), bound: 1 / math.Sqrt(512)},
	})
}
