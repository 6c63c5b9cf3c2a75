package ensemble

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/data"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// Tests train on the real Fashion-MNIST that Debian's dataset-fashion-mnist installs
// (build.sh does); they are skipped when it is absent.

func needFashionMNIST(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(data.FashionMNISTDir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("Fashion-MNIST not installed in %s", data.FashionMNISTDir)
	}
}

// quietLog discards log lines unless the test runs verbosely.
func quietLog(t testing.TB) logrus.FieldLogger {
	l := logrus.New()
	if !testing.Verbose() {
		l.SetOutput(nopWriter{})
	}
	return l
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

func testOpts(t testing.TB) TrainOptions {
	return TrainOptions{Log: quietLog(t), Progress: ProgressOff}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTrainLearnsFashionMNIST: two epochs of LeNet on 3,000 real Fashion-MNIST
// images; the loss falls and the accuracy on 1,000 held-out test images is well
// above chance (10%). The checkpoint reloads to the same validation accuracy, and
// rerunning the finished run does nothing.
func TestTrainLearnsFashionMNIST(t *testing.T) {
	needFashionMNIST(t)
	dir := t.TempDir()
	cfg := TrainConfig{Arch: "lenet", Data: "fashion-mnist", Subset: 3000, ValLimit: 1000, Epochs: 2, Batch: 32,
		LR: 0.05, Warmup: 0.2, Device: "cpu", Seed: 3}
	res, err := Train(context.Background(), cfg, dir, testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	h := res.History
	if len(h) != 2 {
		t.Fatalf("%d epochs in the history", len(h))
	}
	for _, e := range h {
		t.Logf("epoch %d: loss %.4f acc %.4f val loss %.4f val acc %.4f", e.Epoch, e.TrainLoss, e.TrainAccuracy, *e.ValLoss, *e.ValAccuracy)
	}
	if !(h[1].TrainLoss < h[0].TrainLoss && h[1].TrainLoss < 0.8*math.Log(10)) {
		t.Errorf("training loss %.4f → %.4f did not fall well below ln 10", h[0].TrainLoss, h[1].TrainLoss)
	}
	if acc := *h[1].ValAccuracy; acc < 0.6 {
		t.Errorf("held-out accuracy %.3f, want > 0.6", acc)
	}
	for _, f := range []string{ConfigFile, ModelFile, TrainStateFile, HistoryFile, HistoryCSV} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if csv := string(readFile(t, filepath.Join(dir, HistoryCSV))); strings.Count(csv, "\n") != 3 {
		t.Errorf("history.csv:\n%s", csv)
	}

	// The checkpoint reproduces the last validation exactly.
	net, meta, err := LoadModel(dir, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	if meta.Arch != "lenet" || meta.InChannels != 1 || meta.InputSize != 32 || meta.Fit != "pad" || meta.Classes != 10 ||
		meta.Epoch != 2 || meta.Mean[0] != data.FashionMNISTNorm.Mean[0] || meta.ClassNames[9] != data.FashionMNISTClasses[9] {
		t.Errorf("meta %+v", meta)
	}
	_, test, err := data.Open("fashion-mnist", data.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := meta.Input()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Predict(context.Background(), net, data.FirstK(test, 1000), in, torch.CPU, PredictOptions{Probs: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := 1-p.ErrorRate(), *h[1].ValAccuracy; math.Abs(got-want) > 1e-9 {
		t.Errorf("reloaded model: accuracy %.4f, validation said %.4f", got, want)
	}
	if len(p.Probs) != 10*1000 {
		t.Fatalf("%d probabilities", len(p.Probs))
	}
	var s float64
	for _, v := range p.Probs[:10] {
		s += float64(v)
	}
	if math.Abs(s-1) > 1e-5 {
		t.Errorf("probabilities of image 0 sum to %v", s)
	}

	before := readFile(t, filepath.Join(dir, TrainStateFile))
	again, err := Train(context.Background(), cfg, dir, testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	if !again.AlreadyDone || !bytes.Equal(before, readFile(t, filepath.Join(dir, TrainStateFile))) {
		t.Error("rerunning a finished run did something")
	}
	other := cfg
	other.LR = 0.01
	if _, err := Train(context.Background(), other, dir, testOpts(t)); err == nil || !strings.Contains(err.Error(), "lr") {
		t.Errorf("another recipe in the same directory: err = %v", err)
	}
}

var errKilled = errors.New("killed")

// resumeConfig is a small run with BatchNorm buffers, momentum, augmentation and
// label smoothing: everything an exact resume must restore.
func resumeConfig() TrainConfig {
	return TrainConfig{Arch: "resnet18", Width: 0.125, Data: "fashion-mnist", Subset: 256, ValLimit: 64, Epochs: 3,
		Batch: 32, LR: 0.05, Nesterov: true, LabelSmoothing: 0.1, Augment: []string{"crop", "flip"},
		Schedule: "onecycle", NoDecayBNBias: true, Device: "cpu", Seed: 11, Workers: 2}
}

// TestResumeEqualsUninterrupted: a run killed in the middle of epoch 2 and resumed
// ends with bitwise the same weights as an uninterrupted run. libtorch runs with
// one thread (TrainConfig.Threads) so that the floating-point reductions have a
// fixed order whatever the machine.
func TestResumeEqualsUninterrupted(t *testing.T) {
	needFashionMNIST(t)
	ctx := context.Background()
	cfg := resumeConfig()
	cfg.Threads = 1
	full := t.TempDir()
	if _, err := Train(ctx, cfg, full, testOpts(t)); err != nil {
		t.Fatal(err)
	}

	cut := t.TempDir()
	o := testOpts(t)
	o.StepHook = func(epoch, step int, _ []*Member) error {
		if epoch == 2 && step == 12 {
			return errKilled
		}
		return nil
	}
	if _, err := Train(ctx, cfg, cut, o); !errors.Is(err, errKilled) {
		t.Fatalf("interrupted run: err = %v", err)
	}
	if _, err := Train(ctx, cfg, cut, testOpts(t)); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("rerun without resume: err = %v, want a hint to --resume", err)
	}
	o = testOpts(t)
	o.Resume = true
	cfg.Workers = 3 // a runtime setting may change on resume
	res, err := Train(ctx, cfg, cut, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedFrom != 1 || len(res.History) != 3 {
		t.Errorf("resumed from %d with %d epochs of history", res.ResumedFrom, len(res.History))
	}
	a, b := readFile(t, filepath.Join(full, ModelFile)), readFile(t, filepath.Join(cut, ModelFile))
	if !bytes.Equal(a, b) {
		t.Error("the resumed run's weights differ from the uninterrupted run's")
	}
	if ha, hb := res.History[2].TrainLoss, mustHistory(t, full)[2].TrainLoss; ha != hb {
		t.Errorf("last epoch's training loss %v after resume, %v uninterrupted", ha, hb)
	}
}

func mustHistory(t testing.TB, dir string) []EpochStats {
	_, st, err := readStateInfo(filepath.Join(dir, TrainStateFile))
	if err != nil {
		t.Fatal(err)
	}
	return st.History
}

// TestNonFiniteLossKeepsCheckpoint: a NaN injected into the weights in epoch 2
// stops training at the next step with an error naming epoch and step, and leaves
// the checkpoint of epoch 1 as it was. A diverging learning rate stops the first
// epoch without writing a checkpoint.
func TestNonFiniteLossKeepsCheckpoint(t *testing.T) {
	needFashionMNIST(t)
	ctx := context.Background()
	dir := t.TempDir()
	cfg := TrainConfig{Arch: "lenet", Data: "fashion-mnist", Subset: 256, Epochs: 3, Batch: 32, LR: 0.01, Device: "cpu",
		ValLimit: 32}
	var model, state []byte
	o := testOpts(t)
	o.StepHook = func(epoch, step int, ms []*Member) error {
		if epoch == 2 && step == 11 {
			model = readFile(t, filepath.Join(dir, ModelFile))
			state = readFile(t, filepath.Join(dir, TrainStateFile))
			return torch.Do(func(s *torch.Scope) error {
				return ms[0].Net.Store.Vars()[0].T.In(s).Fill_(math.NaN())
			}, torch.NoGrad())
		}
		return nil
	}
	_, err := Train(ctx, cfg, dir, o)
	var nf *NonFiniteLossError
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v, want a NonFiniteLossError", err)
	}
	t.Log(err)
	if nf.Epoch != 2 || nf.Step != 12 || nf.Batch != 4 || nf.KeptEpoch != 1 || !math.IsNaN(nf.Loss) {
		t.Errorf("error %+v, want epoch 2 step 12 batch 4, epoch 1 kept", nf)
	}
	if !strings.Contains(err.Error(), "epoch 2, step 12") {
		t.Errorf("message %q does not name the epoch and step", err)
	}
	if !bytes.Equal(model, readFile(t, filepath.Join(dir, ModelFile))) ||
		!bytes.Equal(state, readFile(t, filepath.Join(dir, TrainStateFile))) {
		t.Error("the checkpoint of epoch 1 was changed")
	}

	dir2 := t.TempDir()
	cfg.LR = 1e6
	_, err = Train(ctx, cfg, dir2, testOpts(t))
	if !errors.As(err, &nf) || nf.Epoch != 1 || nf.KeptEpoch != 0 {
		t.Fatalf("huge learning rate: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir2, ModelFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a diverged first epoch left a model file (%v)", err)
	}
}

// TestConfigValidation: bad recipes are refused with a clear message.
func TestConfigValidation(t *testing.T) {
	good := TrainConfig{Arch: "lenet", Data: "x"}.WithDefaults()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mod  func(*TrainConfig)
		want string
	}{
		{func(c *TrainConfig) { c.Arch = "nope" }, "unknown architecture"},
		{func(c *TrainConfig) { c.Style = "imagenet" }, "no imagenet style"},
		{func(c *TrainConfig) { c.InputSize = 28 }, "at least 32"},
		{func(c *TrainConfig) { c.Schedule = "linear" }, "unknown schedule"},
		{func(c *TrainConfig) { c.Augment = []string{"rotate"} }, "unknown augmentation"},
		{func(c *TrainConfig) { c.AMP = "int8" }, "mixed-precision"},
		{func(c *TrainConfig) { c.ValFraction = 1 }, "validation fraction"},
		{func(c *TrainConfig) { c.Subset, c.PerClass = 10, 10 }, "not both"},
		{func(c *TrainConfig) { c.LR = -1 }, "learning rate"},
		{func(c *TrainConfig) { c.Warmup = 20 }, "warm-up"},
	} {
		cfg := good
		c.mod(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want %q, got %v", c.want, err)
		}
	}
	if _, err := resolvePrecision("fp16", torch.CPU); err == nil {
		t.Error("fp16 accepted on the CPU")
	}
}

// TestWeightDecayGroups: every parameter is decayed by default; with NoDecayBNBias
// the biases and BatchNorm parameters are not.
func TestWeightDecayGroups(t *testing.T) {
	for _, excl := range []bool{false, true} {
		net, err := nets.New("resnet18", nets.Config{Width: 0.125}, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		m, err := newMember("m", net, TrainConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 5e-4, NoDecayBNBias: excl})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, v := range m.vars {
			if v.NoWeightDecay {
				n++
				if !strings.Contains(v.Name, "bn") && !strings.HasSuffix(v.Name, "bias") && !strings.Contains(v.Name, "downsample.1") {
					t.Errorf("%s excluded from weight decay", v.Name)
				}
			}
		}
		// resnet18: 20 BatchNorms × 2 parameters + the fc bias.
		if want := map[bool]int{false: 0, true: 41}[excl]; n != want {
			t.Errorf("NoDecayBNBias %v: %d parameters without decay, want %d", excl, n, want)
		}
		m.Opt.Close()
		net.Close()
	}
}

// TestSchedules: the per-step learning rates of the schedules at known points.
func TestSchedules(t *testing.T) {
	cfg := TrainConfig{LR: 0.1, Epochs: 4, Schedule: "cosine", Warmup: 1}
	s := makeSchedule(cfg, 10) // 40 steps, 10 of warm-up
	for _, c := range []struct {
		step int
		want float64
	}{{0, 0.01}, {9, 0.1}, {10, 0.1}, {25, 0.05}, {40, 0}} {
		if got := s.LR(c.step); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("cosine step %d: %v, want %v", c.step, got, c.want)
		}
	}
	cfg = TrainConfig{LR: 0.1, Epochs: 4, Schedule: "step", StepEpochs: 2, StepGamma: 0.1, Warmup: 0.5}
	s = makeSchedule(cfg, 10)
	for _, c := range []struct {
		step int
		want float64
	}{{0, 0.02}, {4, 0.1}, {19, 0.1}, {20, 0.01}, {39, 0.01}} {
		if got := s.LR(c.step); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("step schedule step %d: %v, want %v", c.step, got, c.want)
		}
	}
	s = makeSchedule(TrainConfig{LR: 0.1, Epochs: 10, Schedule: "onecycle"}, 10)
	if got := s.LR(29); math.Abs(got-0.1) > 1e-12 {
		t.Errorf("onecycle peak %v at step 29", got)
	}
}
