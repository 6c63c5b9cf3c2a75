package ensemble

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/divres/divres/data"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// tinyJoint is a joint run of two LeNets (one of half width) on 128 real
// Fashion-MNIST images: four steps an epoch, one libtorch thread.
func tinyJoint(heuristic string, lambda, gamma float64) JointConfig {
	return JointConfig{
		Train: TrainConfig{Data: "fashion-mnist", Subset: 128, ValLimit: 32, Epochs: 2, Batch: 32, LR: 0.05, Device: "cpu",
			Seed: 5, Threads: 1, Augment: []string{"flip"}},
		Members: []JointMember{{Arch: "lenet", Seed: 11}, {Arch: "lenet", Width: 0.5, Seed: 12}},
		Loss:    NCL{Heuristic: heuristic, Lambda: lambda, Gamma: gamma},
	}
}

// TestJointIndependentBitForBit: λ = 1, γ = 0 trains each member to exactly the
// weights (and checkpoint bytes) of its own independent run with MemberConfig.
func TestJointIndependentBitForBit(t *testing.T) {
	needFashionMNIST(t)
	ctx := context.Background()
	cfg := tinyJoint(HeuristicPrediction, 1, 0)
	dir := t.TempDir()
	res, err := TrainJoint(ctx, cfg, dir, testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.History) != 2 || len(res.MemberDirs) != 2 {
		t.Fatalf("history %d epochs, %d member dirs", len(res.History), len(res.MemberDirs))
	}
	for i, md := range res.MemberDirs {
		sep := t.TempDir()
		if _, err := Train(ctx, cfg.MemberConfig(i), sep, testOpts(t)); err != nil {
			t.Fatal(err)
		}
		a, b := readFile(t, filepath.Join(md, ModelFile)), readFile(t, filepath.Join(sep, ModelFile))
		if !bytes.Equal(a, b) {
			t.Errorf("member %d: joint checkpoint differs from the independent run", i)
		}
		// The member directory is an ordinary run directory: it loads as a model.
		net, meta, err := LoadModel(md, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		net.Close()
		if meta.Arch != "lenet" || meta.Epoch != 2 || meta.Classes != 10 {
			t.Errorf("member %d meta %+v", i, meta)
		}
		if _, err := os.Stat(filepath.Join(md, ConfigFile)); err != nil {
			t.Error(err)
		}
	}
	// A rerun of the finished joint run does nothing.
	again, err := TrainJoint(ctx, cfg, dir, testOpts(t))
	if err != nil || !again.AlreadyDone || len(again.Metas) != 2 {
		t.Fatalf("rerun: %+v, %v", again, err)
	}
	// Another loss in the same directory is refused in one line.
	other := tinyJoint(HeuristicPrediction, 0.5, 0)
	if _, err := TrainJoint(ctx, other, dir, testOpts(t)); err == nil || !strings.Contains(err.Error(), "another configuration") {
		t.Errorf("other loss in a finished directory: %v", err)
	}
}

// TestJointResumeEqualsUninterrupted: a joint run with the attribution heuristic
// (double backward) killed in its second epoch resumes to the same member weights
// as the uninterrupted run.
func TestJointResumeEqualsUninterrupted(t *testing.T) {
	needFashionMNIST(t)
	ctx := context.Background()
	cfg := tinyJoint(HeuristicAttribution, 0.5, 0.5)
	full := t.TempDir()
	if _, err := TrainJoint(ctx, cfg, full, testOpts(t)); err != nil {
		t.Fatal(err)
	}
	cut := t.TempDir()
	o := testOpts(t)
	stop := errors.New("killed")
	o.StepHook = func(epoch, step int, _ []*Member) error {
		if epoch == 2 && step == 6 {
			return stop
		}
		return nil
	}
	if _, err := TrainJoint(ctx, cfg, cut, o); !errors.Is(err, stop) {
		t.Fatalf("interrupted run: %v", err)
	}
	if _, err := TrainJoint(ctx, cfg, cut, testOpts(t)); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("unfinished run without resume: %v", err)
	}
	o = testOpts(t)
	o.Resume = true
	res, err := TrainJoint(ctx, cfg, cut, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedFrom != 1 || len(res.History) != 2 {
		t.Errorf("resumed from %d, %d epochs of history", res.ResumedFrom, len(res.History))
	}
	for i := range cfg.Members {
		rel, _ := filepath.Rel(cut, res.MemberDirs[i])
		if !bytes.Equal(readFile(t, filepath.Join(full, rel, ModelFile)), readFile(t, filepath.Join(res.MemberDirs[i], ModelFile))) {
			t.Errorf("member %d: resumed weights differ from the uninterrupted run", i)
		}
	}
	for _, f := range []string{HistoryFile, HistoryCSV, JointFile} {
		if _, err := os.Stat(filepath.Join(cut, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestJointNonFiniteStops: a NaN injected into member 1 in epoch 2 stops joint
// training with the epoch and step, keeping the checkpoint of epoch 1.
func TestJointNonFiniteStops(t *testing.T) {
	needFashionMNIST(t)
	cfg := tinyJoint(HeuristicActivation, 0.5, 0.2)
	dir := t.TempDir()
	o := testOpts(t)
	var state []byte
	o.StepHook = func(epoch, step int, ms []*Member) error {
		if epoch == 2 && step == 5 {
			state = readFile(t, filepath.Join(dir, TrainStateFile))
			return torch.Do(func(s *torch.Scope) error {
				return ms[1].Net.Store.Vars()[0].T.In(s).Fill_(math.NaN())
			}, torch.NoGrad())
		}
		return nil
	}
	_, err := TrainJoint(context.Background(), cfg, dir, o)
	var nf *NonFiniteLossError
	if !errors.As(err, &nf) || nf.Epoch != 2 || nf.Step != 6 || nf.KeptEpoch != 1 {
		t.Fatalf("err = %v, want a NonFiniteLossError at epoch 2 step 6", err)
	}
	if !bytes.Equal(state, readFile(t, filepath.Join(dir, TrainStateFile))) {
		t.Error("the checkpoint of epoch 1 was changed")
	}
}

// TestJointBadInput: out-of-range coefficients, too few members and unknown
// heuristics are refused in one line before anything is written.
func TestJointBadInput(t *testing.T) {
	cases := map[string]JointConfig{}
	c := tinyJoint(HeuristicPrediction, 1.2, 0)
	cases["lambda 1.2 outside [0, 1]"] = c
	c = tinyJoint(HeuristicPrediction, 0.5, -0.1)
	cases["gamma -0.1 must be >= 0"] = c
	c = tinyJoint("dropout", 0.5, 0)
	cases[`unknown heuristic "dropout"`] = c
	c = tinyJoint(HeuristicPrediction, 0.5, 0)
	c.Members = c.Members[:1]
	cases["at least 2 members"] = c
	c = tinyJoint(HeuristicPrediction, 0.5, 0)
	c.Members[1].Arch = "nosuchnet"
	cases["member 1 (nosuchnet)"] = c
	for want, cfg := range cases {
		dir := filepath.Join(t.TempDir(), "run")
		_, err := TrainJoint(context.Background(), cfg, dir, testOpts(t))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("want one line with %q, got %v", want, err)
		}
		if _, serr := os.Stat(dir); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("%q: the run directory was created", want)
		}
	}
	if err := CheckClassCounts([]string{"0_lenet", "1_resnet18"}, []int{10, 100}); err == nil ||
		err.Error() != "ncl: member 1_resnet18 has 100 classes but member 0_lenet has 10" {
		t.Errorf("class counts: %v", err)
	}
}

// heldOutDiversity loads the members of a joint run and returns the diversity
// term of the heuristic, in evaluation mode, on the first 256 Fashion-MNIST test
// images.
func heldOutDiversity(t *testing.T, dirs []string, heuristic string) float64 {
	t.Helper()
	_, test, err := data.Open("fashion-mnist", data.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	batches := 0
	err = torch.Do(func(s *torch.Scope) error {
		var in Input
		nets := make([]interface {
			Forward(*torch.Tensor) (*torch.Tensor, *torch.Tensor)
		}, len(dirs))
		for i, d := range dirs {
			net, meta, err := LoadModel(d, torch.CPU)
			if err != nil {
				return err
			}
			defer net.Close()
			nets[i] = net
			if in, err = meta.Input(); err != nil {
				return err
			}
		}
		l, err := data.NewLoader(data.FirstK(test, 256), in.LoaderOptions(128, 1))
		if err != nil {
			return err
		}
		for b, err := range l.Batches(context.Background(), 0) {
			if err != nil {
				return err
			}
			bs := torch.NewScope()
			x := torch.FromSlice(bs, b.X, []int64{int64(b.N), int64(b.C), int64(b.H), int64(b.W)})
			y := torch.FromSlice(bs, b.Y, []int64{int64(b.N)})
			if heuristic == HeuristicAttribution {
				x.SetRequiresGrad(true)
			}
			outs := make([]Output, len(nets))
			for i, n := range nets {
				lg, f := n.Forward(x)
				outs[i] = Output{Logits: lg, Features: f}
			}
			var d *torch.Tensor
			switch heuristic {
			case HeuristicPrediction:
				ps := make([]*torch.Tensor, len(outs))
				var sum *torch.Tensor
				for i, o := range outs {
					ps[i] = o.Logits.Softmax(1)
					if sum == nil {
						sum = ps[i]
					} else {
						sum = sum.Add(ps[i])
					}
				}
				d = spreadDiversity(ps, sum.MulScalar(1/float64(len(ps))))
			case HeuristicActivation:
				d = activationDiversity(outs)
			case HeuristicAttribution:
				d = attributionDiversity(outs, x, y)
			}
			v, err := d.Item()
			b.Release()
			bs.Close()
			if err != nil {
				return err
			}
			sum += v
			batches++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sum / float64(batches)
}

// TestGammaRaisesDiversity: on a tiny problem with a fixed seed, raising γ from 0
// raises the diversity each heuristic targets on held-out images, by a margin.
func TestGammaRaisesDiversity(t *testing.T) {
	needFashionMNIST(t)
	if testing.Short() {
		t.Skip("trains six small ensembles")
	}
	for _, c := range []struct {
		heuristic string
		gamma     float64
		margin    float64 // the least relative increase asserted
	}{
		{HeuristicPrediction, 10, 2},
		{HeuristicActivation, 1, 2},
		{HeuristicAttribution, 5, 0.3},
	} {
		div := make([]float64, 2)
		for k, g := range []float64{0, c.gamma} {
			cfg := tinyJoint(c.heuristic, 0.5, g)
			cfg.Train.Subset, cfg.Train.Epochs, cfg.Train.Augment, cfg.Train.LR = 512, 1, nil, 0.1
			cfg.Members[1].Width = 1
			res, err := TrainJoint(context.Background(), cfg, t.TempDir(), testOpts(t))
			if err != nil {
				t.Fatal(err)
			}
			div[k] = heldOutDiversity(t, res.MemberDirs, c.heuristic)
		}
		t.Logf("%s: held-out diversity γ=0 %.5f, γ=%g %.5f", c.heuristic, div[0], c.gamma, div[1])
		if !(div[1] > div[0]*(1+c.margin)) {
			t.Errorf("%s: γ=%g gives held-out diversity %.5f, not %.0f%% above γ=0's %.5f",
				c.heuristic, c.gamma, div[1], 100*c.margin, div[0])
		}
	}
}

// BenchmarkJointStep times one joint training step (forward of 3 LeNets of
// widths 1, 2 and 0.5 on a 128×3×32×32 batch, the NCL objective, backward — a
// double backward for attribution — and each member's SGD step) per heuristic,
// λ = 0.5, γ = 0.1. bench/python/ncl_step.py is the same step in PyTorch; both
// report the median step time (ms/step-median). Run with -benchtime 20x or more.
func BenchmarkJointStep(b *testing.B) {
	const batch = 128
	r := rand.New(rand.NewPCG(1, 2))
	bt := &data.Batch{N: batch, C: 3, H: 32, W: 32, X: make([]float32, batch*3*32*32), Y: make([]int64, batch)}
	for i := range bt.X {
		bt.X[i] = float32(r.NormFloat64())
	}
	for i := range bt.Y {
		bt.Y[i] = int64(r.IntN(10))
	}
	prev := torch.NumThreads()
	defer torch.SetNumThreads(prev)
	threads := benchEnv(b, "NCL_BENCH_THREADS", 1)
	torch.SetNumThreads(threads)
	b.Logf("threads %d (NCL_BENCH_THREADS; pass the same --threads to bench/python/ncl_step.py)", threads)
	for _, h := range Heuristics() {
		b.Run(h, func(b *testing.B) {
			// As TrainJoint does: one OS thread, so one OpenMP team stays warm.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			torch.ManualSeed(0)
			cfg := TrainConfig{LR: 0.01, Momentum: 0.9, WeightDecay: 5e-4}
			var ms []*Member
			var vars []*torch.Var
			for i, w := range []float64{1, 2, 0.5} {
				net, err := nets.New("lenet", nets.Config{Style: nets.CIFAR, Width: w, InChannels: 3, Classes: 10, Size: 32}, torch.CPU)
				if err != nil {
					b.Fatal(err)
				}
				defer net.Close()
				m, err := newMember(fmt.Sprint(i), net, cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer m.Opt.Close()
				net.Store.SetTraining(true)
				ms = append(ms, m)
				vars = append(vars, m.vars...)
			}
			l := NCL{Heuristic: h, Lambda: 0.5, Gamma: 0.1}
			if h == HeuristicNone {
				l.Gamma = 0
			}
			tr := &trainer{dev: torch.CPU, members: ms, loss: l}
			step := func() {
				loss, corr, err := tr.trainStep(bt, vars)
				if err != nil {
					b.Fatal(err)
				}
				loss.Free()
				corr.Free()
			}
			for range 3 {
				step()
			}
			times := make([]float64, 0, b.N)
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				step()
				times = append(times, float64(time.Since(t0).Microseconds())/1000)
			}
			b.StopTimer()
			slices.Sort(times)
			b.ReportMetric(times[len(times)/2], "ms/step-median")
		})
	}
}
