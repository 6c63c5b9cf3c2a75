package torch

import (
	"runtime"
	"testing"
)

// A training loop must hold its resident size flat: 1,000 steps of the small net
// (forward, loss, backward, SGD with momentum, fresh data every step) may grow RSS
// by at most 2 % between step 100 and step 1,000. A leak of a single activation per
// step would add hundreds of MiB. The batch is small to keep the test quick; the
// benchmark BenchmarkMemory1000Steps does the same at batch 64.
func TestTrainingLoopMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 training steps")
	}
	ManualSeed(0)
	n := newSmallNet()
	defer n.store.Close()
	opt, _ := NewSGD(n.store.Trainable(), SGDConfig{LR: 0.01, Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4})
	defer opt.Close()
	var rss100 int64
	for step := 1; step <= 1000; step++ {
		err := Do(func(s *Scope) error {
			x := Randn(s, []int64{16, 1, 28, 28})
			y := Randint(s, 0, 10, []int64{16})
			if err := n.store.ZeroGrad(); err != nil {
				return err
			}
			if err := CrossEntropy(n.forward(x), y, 0.1).Backward(); err != nil {
				return err
			}
			return opt.Step()
		})
		if err != nil {
			t.Fatal(err)
		}
		if step == 100 {
			runtime.GC()
			rss100 = rssBytes()
		}
	}
	runtime.GC()
	rss1000 := rssBytes()
	growth := 100 * float64(rss1000-rss100) / float64(rss100)
	t.Logf("RSS after step 100: %.1f MiB, after step 1000: %.1f MiB (%+.2f %%); CPU cache %+v",
		float64(rss100)/(1<<20), float64(rss1000)/(1<<20), growth, CPUCache())
	if growth > 2 {
		t.Fatalf("RSS grew by %.2f %% over 900 training steps", growth)
	}
}
