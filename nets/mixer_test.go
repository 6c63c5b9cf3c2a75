package nets

import (
	"fmt"
	"strings"
	"testing"

	"github.com/divres/divres/torch"
)

// mixerFormula is the MLP-Mixer parameter count written out term by term, from the
// layer list (stem conv with bias; per block two LayerNorms and two two-layer MLPs
// with biases; final LayerNorm; head), independently of the Go model.
func mixerFormula(in, image, patch, d, depth, classes int64) int64 {
	s := (image / patch) * (image / patch)
	dt, dc := d/2, 4*d
	stem := in*patch*patch*d + d
	norms := 2 * (2 * d)
	tokenMLP := (s*dt + dt) + (dt*s + s)
	channelMLP := (d*dc + dc) + (dc*d + d)
	return stem + depth*(norms+tokenMLP+channelMLP) + 2*d + d*classes + classes
}

// TestMixerFormula checks the formula against published counts (archTable
// compares the models with it).
func TestMixerFormula(t *testing.T) {
	// Mixer-B/16 with 1000 classes has 59,880,472 parameters (the published 59.88 M).
	if got := mixerFormula(3, 224, 16, 768, 12, 1000); got != 59_880_472 {
		t.Fatalf("formula gives %d for Mixer-B/16, want 59,880,472", got)
	}
	if got := mixerFormula(3, 32, 4, 256, 8, 10); got != 4_360_970 {
		t.Errorf("CIFAR mixer: formula %d, documented 4,360,970", got)
	}
}

func TestMixerStateDictNames(t *testing.T) {
	n, err := NewUninitialized("mlp_mixer", Config{Style: CIFAR, Width: 0.125}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	want := []string{
		"stem.proj.weight [32 3 4 4]", "stem.proj.bias [32]",
		"blocks.0.norm1.weight [32]", "blocks.0.norm1.bias [32]",
		"blocks.0.mlp_tokens.fc1.weight [16 64]", "blocks.0.mlp_tokens.fc1.bias [16]",
		"blocks.0.mlp_tokens.fc2.weight [64 16]", "blocks.0.mlp_tokens.fc2.bias [64]",
		"blocks.0.norm2.weight [32]", "blocks.0.norm2.bias [32]",
		"blocks.0.mlp_channels.fc1.weight [128 32]", "blocks.0.mlp_channels.fc1.bias [128]",
		"blocks.0.mlp_channels.fc2.weight [32 128]", "blocks.0.mlp_channels.fc2.bias [32]",
	}
	vars := n.Store.Vars()
	for i, w := range want {
		got := fmt.Sprint(vars[i].Name, " ", vars[i].T.Shape())
		if got != w {
			t.Errorf("entry %d: %s, want %s", i, got, w)
		}
	}
	last := vars[len(vars)-4:]
	for i, name := range []string{"norm.weight", "norm.bias", "head.weight", "head.bias"} {
		if last[i].Name != name {
			t.Errorf("entry %d from the end: %s, want %s", 4-i, last[i].Name, name)
		}
	}
	if len(vars) != 2+8*12+4 {
		t.Errorf("%d entries, want %d", len(vars), 2+8*12+4)
	}
}

func TestMixerRejectsOtherSizes(t *testing.T) {
	n, err := New("mlp_mixer", Config{Style: CIFAR, Width: 0.125}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if fs, ok := n.Model.(FixedSizer); !ok || fs.FixedInputSize() != 32 {
		t.Fatalf("mlp_mixer/cifar should report a fixed input size of 32")
	}
	err = torch.Do(func(s *torch.Scope) error {
		logits, _ := n.Forward(torch.Zeros(s, []int64{1, 3, 28, 28}))
		return logits.Err()
	}, torch.NoGrad())
	if err == nil || !strings.Contains(err.Error(), "takes (N, C, 32, 32)") {
		t.Errorf("a 28×28 input given to a mixer built for 32×32: error %v", err)
	}
}
