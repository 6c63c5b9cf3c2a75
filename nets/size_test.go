package nets

import (
	"testing"

	"github.com/divres/divres/torch"
)

// Config.Size builds size-dependent architectures for other inputs, e.g.
// Fashion-MNIST's 28×28, and the built size is then the one they accept.
func TestConfigSizeBuildsForOtherInputs(t *testing.T) {
	for _, c := range []struct {
		arch       string
		size, fc1  int64
		paramDelta bool
	}{{"lenet", 28, 16 * 4 * 4, true}, {"mlp_mixer", 28, 0, true}, {"vit_small", 28, 0, true}, {"resnet18", 28, 0, false}} {
		ref, err := NewUninitialized(c.arch, Config{InChannels: 1}, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		n, err := New(c.arch, Config{InChannels: 1, Size: c.size, Width: 0.25}, torch.CPU)
		if err != nil {
			t.Fatalf("%s: %v", c.arch, err)
		}
		n28, _ := NewUninitialized(c.arch, Config{InChannels: 1, Size: c.size}, torch.CPU)
		if (n28.Store.NumParams() != ref.Store.NumParams()) != c.paramDelta {
			t.Errorf("%s: params at 32 %d, at %d %d", c.arch, ref.Store.NumParams(), c.size, n28.Store.NumParams())
		}
		if c.fc1 > 0 {
			if got := n28.Store.Get("fc1.weight").T.Size(1); got != c.fc1 {
				t.Errorf("%s: fc1 input %d, want %d", c.arch, got, c.fc1)
			}
		}
		err = torch.Do(func(s *torch.Scope) error {
			logits, _ := n.Forward(torch.Randn(s, []int64{2, 1, c.size, c.size}))
			if got := logits.Shape(); logits.Err() == nil && (len(got) != 2 || got[1] != 10) {
				t.Errorf("%s: logits %v", c.arch, got)
			}
			return logits.Err()
		})
		if err != nil {
			t.Errorf("%s at %d: %v", c.arch, c.size, err)
		}
		ref.Close()
		n.Close()
		n28.Close()
	}
	if _, err := New("lenet", Config{Size: 12}, torch.CPU); err == nil {
		t.Error("lenet built for 12×12 inputs")
	}
}
