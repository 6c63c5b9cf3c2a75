package nas

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

func quiet() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// baseRun trains a tiny resnet50 (width 0.125, 16×16 inputs) on 256 Fashion-MNIST
// images for one epoch.
func baseRun(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "base")
	_, err := ensemble.Train(context.Background(), ensemble.TrainConfig{Arch: "resnet50", Width: 0.125, InputSize: 16,
		Data: "fashion-mnist", Subset: 256, ValLimit: 32, Epochs: 1, Batch: 32, LR: 0.05, Device: "cpu", Workers: 1, Seed: 1},
		dir, ensemble.TrainOptions{Log: quiet(), Progress: ensemble.ProgressOff})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func psConfig(base string) PSConfig {
	return PSConfig{Base: base, Subset: 128, ValFraction: 0.25, Space: tinySpace(), Sandwich: true,
		Stages: []Stage{{Name: "depth", Depth: true, Epochs: 1, LR: 0.01}, {Name: "width", Depth: true, Width: true, Epochs: 1, LR: 0.005}},
		Batch:  32, CalibImages: 64, Seed: 3, Device: "cpu", Workers: 1}
}

func storeTensors(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	err := torch.Do(func(s *torch.Scope) error {
		ts, _, err := torch.LoadSafetensors(path, s, torch.CPU)
		if err != nil {
			return err
		}
		for k, v := range ts {
			if out[k], err = v.Float32s(); err != nil {
				return err
			}
		}
		return nil
	}, torch.NoGrad())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPipeline runs progressive shrinking (interrupted and resumed: bitwise the
// uninterrupted weights), the search, extraction (the standalone model equals the
// super-network running the genome) and NAS-ensemble selection, all tiny.
func TestPipeline(t *testing.T) {
	ctx := context.Background()
	t0 := time.Now()
	lap := func(what string) { t.Logf("%s: %.1f s", what, time.Since(t0).Seconds()); t0 = time.Now() }
	base := baseRun(t)
	lap("base run")
	tmp := t.TempDir()
	runA, runB := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	hist, err := Train(ctx, psConfig(base), runA, TrainOptions{Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[1].Stage != "width" || hist[1].MinError < hist[1].MaxError-0.5 {
		t.Fatalf("history %+v", hist)
	}
	stop := errors.New("stop")
	_, err = Train(ctx, psConfig(base), runB, TrainOptions{Log: quiet(), StepHook: func(step int) error {
		if step == 4 {
			return stop
		}
		return nil
	}})
	if !errors.Is(err, stop) {
		t.Fatalf("interrupted run: %v", err)
	}
	if _, err := Train(ctx, psConfig(base), runB, TrainOptions{Log: quiet()}); err == nil {
		t.Fatal("unfinished run continued without Resume")
	}
	if _, err := Train(ctx, psConfig(base), runB, TrainOptions{Log: quiet(), Resume: true}); err != nil {
		t.Fatal(err)
	}
	a, b := storeTensors(t, filepath.Join(runA, SupernetFile)), storeTensors(t, filepath.Join(runB, SupernetFile))
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			t.Fatalf("resumed run differs in %s", k)
		}
	}
	other := psConfig(base)
	other.Sandwich = false
	if _, err := Train(ctx, other, runA, TrainOptions{Log: quiet()}); err == nil {
		t.Fatal("another recipe accepted in a finished run's directory")
	}

	lap("progressive shrinking ×2")
	// Search.
	sdir := filepath.Join(tmp, "search")
	sr, err := Search(ctx, runA, SearchConfig{Population: 6, Generations: 2, ValLimit: 32, CalibImages: 32, Batch: 64, Device: "cpu", Workers: 1, Seed: 1}, sdir, quiet())
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	full := 0
	for _, c := range sr.Candidates {
		if keys[c.Key] {
			t.Fatalf("candidate %s evaluated twice", c.Key)
		}
		keys[c.Key] = true
		if c.Full {
			full++
		}
	}
	if full != 1 || len(sr.Candidates) < 6 || len(sr.Pareto) == 0 {
		t.Fatalf("%d candidates (%d full), %d on the front", len(sr.Candidates), full, len(sr.Pareto))
	}
	for i, p := range sr.Pareto {
		for _, c := range sr.Candidates {
			if Dominates([]float64{c.Error, float64(c.MACs)}, []float64{p.Error, float64(p.MACs)}) {
				t.Fatalf("front member %s dominated by %s", p.Key, c.Key)
			}
		}
		if i > 0 && p.MACs < sr.Pareto[i-1].MACs {
			t.Fatal("front not sorted by MACs")
		}
	}
	if back, err := ReadSearch(sdir); err != nil || len(back.Candidates) != len(sr.Candidates) {
		t.Fatalf("search.json: %v", err)
	}
	for _, f := range []string{ParetoCSV, CandidatesCSV} {
		if _, err := os.Stat(filepath.Join(sdir, f)); err != nil {
			t.Fatal(err)
		}
	}

	lap("search")
	// Extraction of the smallest front member: the standalone run reproduces the
	// super-network with that genome.
	g := sr.Pareto[0].Genome
	xdir := filepath.Join(tmp, "sub")
	info, err := Extract(ctx, runA, g, xdir, ExtractOptions{CalibImages: 32, Device: "cpu", Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	sub, meta, err := ensemble.LoadModel(xdir, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if meta.Arch != info.Arch || meta.Params != sub.Store.NumParams() || meta.InputSize != 16 {
		t.Fatalf("extracted meta %+v, info %+v", meta, info)
	}
	macs, err := sub.MACs(16)
	if err != nil || macs != info.MACs || macs != sr.Pareto[0].MACs {
		t.Fatalf("extracted MACs %d (%v), genome %d, search %d", macs, err, info.MACs, sr.Pareto[0].MACs)
	}
	super, _, err := LoadSupernet(runA, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close()
	env, _, err := OpenEnv(psConfig(base))
	if err != nil {
		t.Fatal(err)
	}
	if err := super.Model.(*Elastic).SetGenome(g); err != nil {
		t.Fatal(err)
	}
	if err := Recalibrate(ctx, super, env.Train, 32, env.Input, torch.CPU, 128, 1); err != nil {
		t.Fatal(err)
	}
	bt := firstBatch(t, env.Val, env.Input, 16)
	x, shape := bt.X, []int64{int64(bt.N), int64(bt.C), int64(bt.H), int64(bt.W)}
	ys := forward(t, super.Model, super.Store, x, shape, false)
	yx := forward(t, sub.Model, sub.Store, x, shape, false)
	bt.Release()
	if d := maxAbsDiff(ys, yx); d > 1e-5 {
		t.Fatalf("extracted sub-network differs from the super-network by %g", d)
	}
	if _, err := nets.Lookup(info.Arch); err != nil {
		t.Fatal(err)
	}

	lap("extraction")
	// NAS ensembles.
	for _, m := range []string{ByAccuracy, ByDiversity, ByAttribution} {
		edir := filepath.Join(tmp, "ens-"+m)
		sel, err := SelectEnsemble(ctx, runA, sr, EnsembleConfig{K: 3, Method: m, Floor: 0.01, All: true, AttribImages: 8, CalibImages: 32, Device: "cpu", Workers: 1}, edir)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if len(sel.Members) != 3 || len(sel.MemberDirs) != 3 || !(sel.Diversity >= 0) {
			t.Fatalf("%s: selection %+v", m, sel)
		}
		for _, d := range sel.MemberDirs {
			if _, _, err := ensemble.ReadMeta(d); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: members %v, diversity %.4f, prediction diversity %.4f, ensemble val error %.4f", m,
			[]string{sel.Members[0].Key, sel.Members[1].Key, sel.Members[2].Key}, sel.Diversity, sel.PredictionDiversity, sel.ValError)
		lap("ensemble " + m)
	}
	if _, err := SelectEnsemble(ctx, runA, sr, EnsembleConfig{K: 3, Floor: 0.999, Device: "cpu"}, filepath.Join(tmp, "none")); err == nil {
		t.Fatal("an unreachable accuracy floor was accepted")
	}
}
