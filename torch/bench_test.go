package torch

import (
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// smallNet is the binding benchmark's model, identical to bench/python/smallnet.py
// and bench/cpp/smallnet.cpp: conv(1→32,3,p1)-relu-maxpool2-conv(32→64,3,p1)-relu-
// maxpool2-fc(3136→128)-relu-fc(128→10) on 1×28×28 inputs.
type smallNet struct {
	store                        *Store
	c1w, c1b, c2w, c2b, f1w, f1b *Tensor
	f2w, f2b                     *Tensor
}

func newSmallNet() *smallNet {
	st := NewStore()
	r := st.Root()
	n := &smallNet{store: st}
	n.c1w = r.Sub("conv1").Param("weight", []int64{32, 1, 3, 3}, KaimingUniform{A: 2.236})
	n.c1b = r.Sub("conv1").Param("bias", []int64{32}, BiasUniform{FanIn: 9})
	n.c2w = r.Sub("conv2").Param("weight", []int64{64, 32, 3, 3}, KaimingUniform{A: 2.236})
	n.c2b = r.Sub("conv2").Param("bias", []int64{64}, BiasUniform{FanIn: 288})
	n.f1w = r.Sub("fc1").Param("weight", []int64{128, 3136}, KaimingUniform{A: 2.236})
	n.f1b = r.Sub("fc1").Param("bias", []int64{128}, BiasUniform{FanIn: 3136})
	n.f2w = r.Sub("fc2").Param("weight", []int64{10, 128}, KaimingUniform{A: 2.236})
	n.f2b = r.Sub("fc2").Param("bias", []int64{10}, BiasUniform{FanIn: 128})
	return n
}

func (n *smallNet) forward(x *Tensor) *Tensor {
	one, pad, k2 := []int64{1, 1}, []int64{1, 1}, []int64{2, 2}
	zero := []int64{0, 0}
	x = MaxPool2d(Relu(Conv2d(x, n.c1w, n.c1b, one, pad, one, 1)), k2, k2, zero, one, false)
	x = MaxPool2d(Relu(Conv2d(x, n.c2w, n.c2b, one, pad, one, 1)), k2, k2, zero, one, false)
	x = Relu(Linear(x.Flatten(1, -1), n.f1w, n.f1b))
	return Linear(x, n.f2w, n.f2b)
}

func benchThreads(b *testing.B) {
	if v, err := strconv.Atoi(os.Getenv("BENCH_THREADS")); err == nil && v > 0 {
		SetNumThreads(v)
		b.Cleanup(func() { SetNumThreads(DefaultThreads()) })
	}
}

// trainStep runs forward, loss, backward and an SGD update in one scope.
func (n *smallNet) trainStep(opt Optimizer, x, y *Tensor) error {
	return Do(func(s *Scope) error {
		if err := n.store.ZeroGrad(); err != nil {
			return err
		}
		loss := CrossEntropy(n.forward(x.In(s)), y, 0)
		if err := loss.Backward(); err != nil {
			return err
		}
		return opt.Step()
	})
}

// BenchmarkSmallNetTrainStep times one training step at batch 256 (ns/op is the
// step time). Compare with `python3 bench/python/smallnet.py` and the C++ floor
// `build/bench/smallnet`.
func BenchmarkSmallNetTrainStep(b *testing.B) {
	benchThreads(b)
	ManualSeed(0)
	n := newSmallNet()
	defer n.store.Close()
	opt, _ := NewSGD(n.store.Trainable(), SGDConfig{LR: 0.01, Momentum: 0.9})
	defer opt.Close()
	data := NewScope()
	defer data.Close()
	x := Randn(data, []int64{256, 1, 28, 28})
	y := Randint(data, 0, 10, []int64{256})
	for i := 0; i < 5; i++ {
		if err := n.trainStep(opt, x, y); err != nil {
			b.Fatal(err)
		}
	}
	times := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := n.trainStep(opt, x, y); err != nil {
			b.Fatal(err)
		}
		times = append(times, float64(time.Since(t0).Microseconds())/1000)
	}
	reportMedian(b, times, "ms/step")
}

// BenchmarkSmallNetInfer1 times a batch-1 forward pass in inference mode.
func BenchmarkSmallNetInfer1(b *testing.B) {
	benchThreads(b)
	ManualSeed(0)
	n := newSmallNet()
	defer n.store.Close()
	data := NewScope()
	defer data.Close()
	x := Randn(data, []int64{1, 1, 28, 28})
	infer := func() error {
		return Do(func(s *Scope) error { return n.forward(x.In(s)).Err() }, Inference())
	}
	for i := 0; i < 50; i++ {
		infer()
	}
	times := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := infer(); err != nil {
			b.Fatal(err)
		}
		times = append(times, float64(time.Since(t0).Nanoseconds())/1000)
	}
	reportMedian(b, times, "µs/forward")
}

func reportMedian(b *testing.B, v []float64, unit string) {
	sort.Float64s(v)
	if len(v) > 0 {
		b.ReportMetric(v[len(v)/2], "median-"+unit)
		b.ReportMetric(v[0], "min-"+unit)
	}
}

// rssBytes reads the resident set size from /proc/self/statm.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// BenchmarkMemory1000Steps runs 1,000 training steps of the small net (batch 64)
// and reports the RSS after step 100 and after step 1,000 and the growth between
// them (the target is within 2 %). Run with -benchtime 1x.
func BenchmarkMemory1000Steps(b *testing.B) {
	benchThreads(b)
	for i := 0; i < b.N; i++ {
		ManualSeed(0)
		n := newSmallNet()
		opt, _ := NewSGD(n.store.Trainable(), SGDConfig{LR: 0.01, Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4})
		var rss100, rss1000 int64
		for step := 1; step <= 1000; step++ {
			err := Do(func(s *Scope) error {
				// Fresh data every step, as a loader would produce.
				x := Randn(s, []int64{64, 1, 28, 28})
				y := Randint(s, 0, 10, []int64{64})
				if err := n.store.ZeroGrad(); err != nil {
					return err
				}
				loss := CrossEntropy(n.forward(x), y, 0.1)
				if err := loss.Backward(); err != nil {
					return err
				}
				return opt.Step()
			})
			if err != nil {
				b.Fatal(err)
			}
			if step == 100 {
				runtime.GC()
				rss100 = rssBytes()
			}
		}
		runtime.GC()
		rss1000 = rssBytes()
		b.ReportMetric(float64(rss100)/(1<<20), "rss100-MiB")
		b.ReportMetric(float64(rss1000)/(1<<20), "rss1000-MiB")
		b.ReportMetric(100*float64(rss1000-rss100)/float64(rss100), "growth-%")
		opt.Close()
		n.store.Close()
	}
}

// BenchmarkTinyMLPInfer1 measures the per-operation overhead: a batch-1 forward of
// 4 × Linear(32→32)+ReLU (8 operations with negligible arithmetic) in inference mode,
// as in bench/python/smallnet.py and bench/cpp/smallnet.cpp.
func BenchmarkTinyMLPInfer1(b *testing.B) {
	benchThreads(b)
	ManualSeed(0)
	data := NewScope()
	defer data.Close()
	var ws, bs []*Tensor
	for i := 0; i < 4; i++ {
		ws = append(ws, Randn(data, []int64{32, 32}))
		bs = append(bs, Randn(data, []int64{32}))
	}
	x := Randn(data, []int64{1, 32})
	mlp := func() error {
		return Do(func(s *Scope) error {
			h := x.In(s)
			for i := range ws {
				h = Relu(Linear(h, ws[i], bs[i]))
			}
			return h.Err()
		}, benchMode())
	}
	for i := 0; i < 200; i++ {
		mlp()
	}
	times := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := mlp(); err != nil {
			b.Fatal(err)
		}
		times = append(times, float64(time.Since(t0).Nanoseconds())/1000)
	}
	reportMedian(b, times, "µs/forward")
}

func benchMode() ScopeOption {
	if os.Getenv("BENCH_NOGRAD") != "" {
		return NoGrad()
	}
	return Inference()
}
