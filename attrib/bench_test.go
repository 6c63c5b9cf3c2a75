package attrib

import (
	"os"
	"strconv"
	"testing"

	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// envInt reads a positive integer from the environment (def when unset).
func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// BenchmarkIGResNet18 times one integrated-gradients call on the CIFAR-style
// ResNet18 at width 1: a batch of 16, 50 Gauss–Legendre steps, internal batch 50
// (ATTRIB_BENCH_IB), 2 threads (ATTRIB_BENCH_THREADS), random weights in
// evaluation mode — the computation of bench/python/attrib_ig.py.
func BenchmarkIGResNet18(b *testing.B) {
	torch.SetNumThreads(envInt(b, "ATTRIB_BENCH_THREADS", 2))
	ib := envInt(b, "ATTRIB_BENCH_IB", 50)
	steps := envInt(b, "ATTRIB_BENCH_STEPS", 50)
	torch.ManualSeed(0)
	net, err := nets.New("resnet18", nets.Config{Style: nets.CIFAR, Width: 1, InChannels: 3, Classes: 10}, torch.CPU)
	if err != nil {
		b.Fatal(err)
	}
	defer net.Close()
	net.Store.SetTraining(false)
	m := FromNet(net)
	xs := torch.NewScope()
	defer xs.Close()
	x := torch.Rand(xs, []int64{16, 3, 32, 32})
	targets := make([]int64, 16)
	for i := range targets {
		targets[i] = int64(i % 10)
	}
	o := IGOptions{Steps: steps, Method: GaussLegendre, InternalBatch: ib}
	// Warm-up (oneDNN primitives, OpenMP threads): one pass of the row count used.
	warm := o
	warm.Steps = max(1, ib/16)
	if err := torch.Do(func(s *torch.Scope) error {
		_, _, err := IntegratedGradients(s, m, x, Labels(targets), warm, false)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := torch.NewScope()
		attr, _, err := IntegratedGradients(s, m, x, Labels(targets), o, false)
		if err == nil {
			_, err = attr.Abs().Sum().Item()
		}
		s.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/call")
}
