package ensemble

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/data"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// benchEnv reads a positive integer from the environment (def when unset).
func benchEnv(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// cpuSeconds returns the process's user + system CPU time.
func cpuSeconds(tb testing.TB) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// synthEval is a random-weight model with a random clean test set and a random
// corruption set of the study's shape: 1×32×32 grayscale images, 10 classes.
type synthEval struct {
	net   *nets.Net
	meta  Meta
	clean data.Dataset
	set   *corrupt.Set
}

// newSynthEval builds arch at width with n images per slice and the given number of
// corruptions × severities.
func newSynthEval(tb testing.TB, arch string, width float64, n int, corruptions []string, sevs []int) *synthEval {
	tb.Helper()
	const side = 32
	torch.ManualSeed(1)
	cfg := nets.Config{Style: nets.CIFAR, Width: width, InChannels: 1, Classes: 10, Size: side}
	net, err := nets.New(arch, cfg, torch.CPU)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(net.Close)
	net.Store.SetTraining(false)
	classes := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	meta := Meta{Model: arch, Arch: arch, Style: "cifar", Width: width, Classes: 10, ClassNames: classes,
		InChannels: 1, InputSize: side, Fit: "pad", Mean: []float32{0.286}, Std: []float32{0.353}, Dataset: "synthetic"}
	rng := rand.New(rand.NewPCG(7, 8))
	pix := make([]uint8, n*side*side)
	labels := make([]int32, n)
	lab64 := make([]int64, n)
	for i := range pix {
		pix[i] = uint8(rng.IntN(256))
	}
	for i := range labels {
		labels[i] = int32(rng.IntN(10))
		lab64[i] = int64(labels[i])
	}
	clean, err := data.NewMemory(1, side, side, pix, labels, classes)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	w, err := corrupt.CreateSet(dir, corruptions, sevs, n, side, side, 1, corrupt.SetInfo{})
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range corruptions {
		for _, s := range sevs {
			imgs := make([]corrupt.Image, n)
			for i := range imgs {
				p := make([]uint8, side*side)
				for j := range p {
					p[j] = uint8(rng.IntN(256))
				}
				imgs[i] = corrupt.Image{H: side, W: side, C: 1, Pix: p}
			}
			if err := w.Write(corrupt.Batch{Corruption: &corrupt.Corruption{Name: c}, Severity: s, Images: imgs}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := w.Commit(lab64); err != nil {
		tb.Fatal(err)
	}
	set, err := corrupt.OpenSet(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return &synthEval{net: net, meta: meta, clean: clean, set: set}
}

// BenchmarkEvalSlices times EvaluateCorruptions as the quick study runs it: 250
// images (EVAL_BENCH_N) per slice, the clean slice and 15 corruptions × 5
// severities, random weights, EVAL_BENCH_THREADS threads (default 2), batch
// EVAL_BENCH_BATCH (default: EvaluateCorruptions' own), EVAL_BENCH_WORKERS loader
// goroutines (default: the CPUs), on LeNet and ResNet18 at
// width 0.25 or the models of EVAL_BENCH_MODELS (ARCH[:WIDTH],...). It reports
// images/s over every slice and the CPU seconds per evaluation — the computation
// of bench/python/eval.py.
func BenchmarkEvalSlices(b *testing.B) {
	torch.SetNumThreads(benchEnv(b, "EVAL_BENCH_THREADS", 2))
	n := benchEnv(b, "EVAL_BENCH_N", 250)
	batch, workers := 0, 0
	if os.Getenv("EVAL_BENCH_BATCH") != "" {
		batch = benchEnv(b, "EVAL_BENCH_BATCH", 0)
	}
	if os.Getenv("EVAL_BENCH_WORKERS") != "" {
		workers = benchEnv(b, "EVAL_BENCH_WORKERS", 0)
	}
	type model struct {
		name  string
		arch  string
		width float64
	}
	models := []model{{"lenet", "lenet", 1}, {"resnet18_w0.25", "resnet18", 0.25}}
	if v := os.Getenv("EVAL_BENCH_MODELS"); v != "" {
		models = nil
		for _, f := range strings.Split(v, ",") {
			arch, w, _ := strings.Cut(f, ":")
			width, err := strconv.ParseFloat(cmp.Or(w, "1"), 64)
			if err != nil {
				b.Fatalf("EVAL_BENCH_MODELS: %q: want ARCH[:WIDTH]", f)
			}
			models = append(models, model{ModelName(arch, "cifar", width), arch, width})
		}
	}
	for _, m := range models {
		b.Run(m.name, func(b *testing.B) {
			se := newSynthEval(b, m.arch, m.width, n, corrupt.BenchmarkNames(), []int{1, 2, 3, 4, 5})
			slices := 1 + len(se.set.Info.Corruptions)*len(se.set.Info.Severities)
			ctx := context.Background()
			run := func() {
				if _, err := EvaluateCorruptions(ctx, se.net, se.meta, se.clean, se.set, torch.CPU,
					EvalOptions{N: n, Batch: batch, Workers: workers}); err != nil {
					b.Fatal(err)
				}
			}
			run() // warm-up: oneDNN primitives, OpenMP threads, page cache
			b.ResetTimer()
			cpu0, start := cpuSeconds(b), time.Now()
			for range b.N {
				run()
			}
			sec, cpu := time.Since(start).Seconds(), cpuSeconds(b)-cpu0
			b.ReportMetric(float64(b.N*n*slices)/sec, "images/s")
			b.ReportMetric(sec/float64(b.N), "s/eval")
			// CPU time (user + system, all threads) is less disturbed by other
			// processes on a shared machine than the wall time.
			b.ReportMetric(cpu/float64(b.N), "cpu-s/eval")
		})
	}
}

// perSliceReference evaluates one slice the way EvaluateCorruptions did before
// slices were batched together: its own loader and batches, through Predict.
func perSliceReference(t *testing.T, se *synthEval, ds data.Dataset, batch int) *Predictions {
	t.Helper()
	in, err := se.meta.Input()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Predict(context.Background(), se.net, ds, in, torch.CPU, PredictOptions{Batch: batch, Logits: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEvaluateSlicesMatchesPerSlice: batches that run across slice boundaries (37
// images a slice, batches of 50) give every slice, in order, the predictions of
// evaluating it on its own (argmax identical, logits within 1e-5), for LeNet and a
// BatchNorm ResNet, with the clean slice in the stream (same shape as the set) and
// on its own (28×28 clean images padded to the set's 32×32); EvaluateCorruptions'
// errors are those predictions' error rates.
func TestEvaluateSlicesMatchesPerSlice(t *testing.T) {
	torch.SetNumThreads(2)
	const n = 37
	names, sevs := []string{"fog", "contrast", "gaussian_noise"}, []int{2, 5}
	for _, m := range []struct {
		arch  string
		width float64
	}{{"lenet", 1}, {"resnet18", 0.125}} {
		se := newSynthEval(t, m.arch, m.width, n, names, sevs)
		in, _ := se.meta.Input()
		labels, err := setLabels(se.set, se.clean, n)
		if err != nil {
			t.Fatal(err)
		}
		// A 28×28 clean set: the centre of the 32×32 one, padded back by the input's fit.
		pix := make([]uint8, n*28*28)
		buf := make([]uint8, 32*32)
		for i := range n {
			se.clean.Image(i, buf)
			for y := range 28 {
				copy(pix[(i*28+y)*28:(i*28+y+1)*28], buf[(y+2)*32+2:(y+2)*32+30])
			}
		}
		small, err := data.NewMemory(1, 28, 28, pix, labels, se.clean.ClassNames())
		if err != nil {
			t.Fatal(err)
		}
		for _, clean := range []data.Dataset{se.clean, small} {
			var order []string
			check := func(c string, s int, p *Predictions) {
				key := Slice{Corruption: c, Severity: s}.String()
				order = append(order, key)
				var ds data.Dataset = clean
				if c != "" {
					imgs, err := se.set.ReadRange(c, s, 0, n)
					if err != nil {
						t.Fatal(err)
					}
					if ds, err = data.FromImages(imgs, labels, clean.ClassNames()); err != nil {
						t.Fatal(err)
					}
				}
				ref := perSliceReference(t, se, ds, 16)
				if p.N != n || len(p.Pred) != n || len(p.Labels) != n || p.Classes != 10 || len(p.Logits) != n*10 {
					t.Fatalf("%s %s: N %d, %d predictions, %d labels, %d classes, %d logits", m.arch, key, p.N, len(p.Pred), len(p.Labels), p.Classes, len(p.Logits))
				}
				for i := range n {
					if p.Pred[i] != ref.Pred[i] || p.Labels[i] != ref.Labels[i] {
						t.Errorf("%s %s image %d: predicted %d (label %d), alone %d (label %d)", m.arch, key, i, p.Pred[i], p.Labels[i], ref.Pred[i], ref.Labels[i])
					}
				}
				for i, v := range p.Logits {
					if d := math.Abs(float64(v - ref.Logits[i])); d > 1e-5*max(1, math.Abs(float64(v))) {
						t.Fatalf("%s %s: logit %d is %v, alone %v", m.arch, key, i, v, ref.Logits[i])
					}
				}
			}
			if err := evaluateSlices(context.Background(), se.net, clean, se.set, names, sevs, n, labels, in, torch.CPU, 50, 0, true, check); err != nil {
				t.Fatal(err)
			}
			want := []string{"clean"}
			for _, c := range names {
				for _, s := range sevs {
					want = append(want, Slice{Corruption: c, Severity: s}.String())
				}
			}
			if fmt.Sprint(order) != fmt.Sprint(want) {
				t.Errorf("%s: slices in order %v, want %v", m.arch, order, want)
			}
		}
		r, err := EvaluateCorruptions(context.Background(), se.net, se.meta, se.clean, se.set, torch.CPU, EvalOptions{Batch: 50})
		if err != nil {
			t.Fatal(err)
		}
		imgs, _ := se.set.ReadRange("contrast", 5, 0, n)
		ds, _ := data.FromImages(imgs, labels, se.clean.ClassNames())
		if want := perSliceReference(t, se, ds, 256).ErrorRate(); r.Errors["contrast"][4] != want {
			t.Errorf("%s: contrast/5 error %v, alone %v", m.arch, r.Errors["contrast"][4], want)
		}
		if want := perSliceReference(t, se, se.clean, 256).ErrorRate(); r.CleanError != want {
			t.Errorf("%s: clean error %v, alone %v", m.arch, r.CleanError, want)
		}
	}
}

// TestEvaluateSlicesMissingFile: a slice that cannot be read (the set's slices run
// in name order: clean, contrast, fog) fails the evaluation with an error naming
// it, after the slices before it were handed over (batches of 10 end with
// contrast/2).
func TestEvaluateSlicesMissingFile(t *testing.T) {
	const n = 20
	se := newSynthEval(t, "lenet", 1, n, []string{"fog", "contrast"}, []int{1, 2})
	if err := os.Remove(se.set.Dir + "/fog.npy"); err != nil {
		t.Fatal(err)
	}
	var seen []string
	_, err := EvaluateCorruptions(context.Background(), se.net, se.meta, se.clean, se.set, torch.CPU,
		EvalOptions{Batch: 10, Slice: func(c string, s int, p *Predictions) { seen = append(seen, Slice{c, s}.String()) }})
	if err == nil || !strings.Contains(err.Error(), "evaluate fog severity 1: ") {
		t.Fatalf("error %v, want one naming fog severity 1 (seen %v)", err, seen)
	}
	if fmt.Sprint(seen) != "[clean contrast/1 contrast/2]" {
		t.Errorf("slices handed over before the failure: %v", seen)
	}
}
