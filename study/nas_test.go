package study

import (
	"context"
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/divres/divres/nas"
	"github.com/divres/divres/torch"
)

// tinyNASConfig is a study of a tiny ResNet50 and LeNet with a tiny NAS recipe.
func tinyNASConfig() Config {
	cfg := Default()
	cfg.PerClass, cfg.TestSubset, cfg.Epochs, cfg.Batch = 8, 16, 1, 16
	cfg.Models = []Model{{Arch: "resnet50", Width: 0.0625}, {Arch: "lenet", Width: 0.5}}
	// Every benchmark corruption (mCE needs the 15) on 16 images.
	cfg.Seeds, cfg.Bootstrap = 1, 50
	// LeNet learns something in one epoch, so that relative mCE is defined; the
	// super-network still starts from the ResNet50.
	cfg.Baseline = "lenet"
	cfg.NAS = &NASRecipe{Divisor: 2, Batch: 16, ValFraction: 0.25, ValLimit: 20, CalibImages: 16, Population: 8, Generations: 2,
		K: 2, AttribImages: 8}
	return cfg
}

// snapshot maps every file under the run directory to its modification time
// and content.
func nasSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[p] = st.ModTime().String() + "\x00" + string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNASStage runs stage 1 and stage 3 on a tiny study: the outputs are there,
// the members of each ensemble are Pareto sub-networks of the search, every
// interval holds its estimate (the number stage 2's scoring gives), the cells
// are the paired differences; a rerun changes no file, and one that lost an
// output redoes only the evaluation, to the same numbers.
func TestNASStage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := tinyNASConfig()
	stages := []Stage{individualStage(), nasStage()}
	opts := Options{Device: torch.CPU, Workers: 1}
	t0 := time.Now()
	if err := execute(ctx, cfg, dir, opts, stages); err != nil {
		t.Fatal(err)
	}
	t.Logf("stages 1 and 3: %.1f s", time.Since(t0).Seconds())
	for _, o := range nasStage().Outputs {
		if _, err := os.Stat(filepath.Join(dir, o)); err != nil {
			t.Fatal(err)
		}
	}
	var res NASResult
	if err := json.Unmarshal(nasReadFile(t, filepath.Join(dir, nasDir, nasTable+".json")), &res); err != nil {
		t.Fatal(err)
	}
	sr, err := nas.ReadSearch(filepath.Join(dir, res.Search))
	if err != nil {
		t.Fatal(err)
	}
	// The non-dominated rank of every candidate of the search.
	objs := make([][]float64, len(sr.Candidates))
	for i, c := range sr.Candidates {
		objs[i] = []float64{c.Error, float64(c.MACs)}
	}
	rank := map[string]int{}
	for r, f := range nas.NonDominatedSort(objs) {
		for _, i := range f {
			rank[sr.Candidates[i].Key] = r
		}
	}
	if res.PoolFronts < 1 || res.PoolSize < 2 || res.Candidates != len(sr.Candidates) {
		t.Fatalf("pool of %d sub-networks in %d fronts, %d candidates", res.PoolSize, res.PoolFronts, res.Candidates)
	}
	if len(res.Ensembles) != 3 || res.TestImages != 16 || res.Baseline != "lenet_w0.5" {
		t.Fatalf("result %+v", res)
	}
	for i, e := range res.Ensembles {
		if e.Method != nasMethods[i] || len(e.Members) != 2 {
			t.Fatalf("ensemble %d: %+v", i, e)
		}
		for _, m := range e.Members {
			found := false
			for _, c := range sr.Candidates {
				found = found || (c.Key == m.Key && c.Error == m.ValError && c.MACs == m.MACs && c.Pareto == (m.Rank == 0))
			}
			if r, ok := rank[m.Key]; !found || !ok || r != m.Rank || m.Rank >= res.PoolFronts || 1-m.ValError < res.Floor-1e-12 {
				t.Fatalf("%s member %+v is not a sub-network of the first %d fronts of the search above the floor %v",
					e.Method, m, res.PoolFronts, res.Floor)
			}
			if _, err := os.Stat(filepath.Join(dir, m.Dir, "model.safetensors")); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			name   string
			iv     Interval
			metric string
		}{{"clean accuracy", e.CleanAccuracy, "accuracy"}, {"corruption accuracy", e.CorruptionAccuracy, "corruption_accuracy"},
			{"relative mCE", e.RelativeMCE, "relative_mce"}} {
			want := float64(e.Metrics[c.metric])
			if math.Abs(c.iv.Value-want) > 1e-9 || !(c.iv.Low <= c.iv.Value && c.iv.Value <= c.iv.High) {
				t.Errorf("%s %s: %+v, the scored ensemble has %v", e.Method, c.name, c.iv, want)
			}
		}
		for _, k := range []string{"disagreement", "linear_cka", "attribution_cosine_diversity"} {
			if v, ok := e.Diversity[k]; !ok || math.IsNaN(float64(v)) {
				t.Errorf("%s: no %s diversity (%v)", e.Method, k, e.Diversity)
			}
		}
	}
	var cells []Cell
	if err := json.Unmarshal(nasReadFile(t, filepath.Join(dir, nasDir, nasCells)), &cells); err != nil {
		t.Fatal(err)
	}
	if len(cells) != 2 {
		t.Fatalf("%d cells, want 2", len(cells))
	}
	for i, c := range cells {
		want := res.Ensembles[i+1].CorruptionAccuracy.Value - res.Ensembles[0].CorruptionAccuracy.Value
		iv := c.Estimate
		if math.Abs(iv.Value-want) > 1e-12 || !(iv.Low <= iv.Value && iv.Value <= iv.High) || c.Claim.Threshold != 0 || c.Claim.Below ||
			c.Verdict != c.Claim.Decide(iv) || c.N != 16 || c.Quantity != "corruption_accuracy_difference" {
			t.Errorf("cell %d: %+v, want the difference %v", i, c, want)
		}
	}

	// A rerun skips everything.
	before := nasSnapshot(t, dir)
	if err := execute(ctx, cfg, dir, opts, stages); err != nil {
		t.Fatal(err)
	}
	for p, v := range nasSnapshot(t, dir) {
		if before[p] != v {
			t.Errorf("a complete rerun changed %s", p)
		}
	}
	// A lost output reruns the stage, which reuses the super-network, the
	// search and the selections and finds the same numbers.
	table := filepath.Join(dir, nasDir, nasTable+".json")
	if err := os.Remove(table); err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	if err := execute(ctx, cfg, dir, opts, stages); err != nil {
		t.Fatal(err)
	}
	t.Logf("rerun of stage 3 from its intermediate results: %.1f s", time.Since(t0).Seconds())
	after := nasSnapshot(t, dir)
	for _, p := range []string{filepath.Join(res.Supernet, nas.SupernetFile), filepath.Join(res.Search, nas.SearchFile),
		filepath.Join(nasDir, nas.ByDiversity, nas.SelectionFile), res.Ensembles[2].Members[0].Dir + "/model.safetensors"} {
		p = filepath.Join(dir, p)
		if before[p] == "" || after[p] != before[p] {
			t.Errorf("%s was redone", p)
		}
	}
	if _, old, _ := strings.Cut(before[table], "\x00"); string(nasReadFile(t, table)) != old {
		t.Error("the re-evaluation gave other numbers")
	}
}

func nasReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The pool is the Pareto front widened by the next fronts until PoolSize
// sub-networks reach the floor; the floor drops to the K-th best accuracy when
// fewer reach it.
func TestNASPool(t *testing.T) {
	c := func(key string, e float64, macs int64) nas.Candidate {
		return nas.Candidate{Key: key, Error: e, MACs: macs}
	}
	// Front 1: a, b, d; front 2: c and e (both dominated by a).
	sr := &nas.SearchResult{Candidates: []nas.Candidate{c("a", 0.20, 10), c("b", 0.29, 5), c("c", 0.25, 12), c("d", 0.50, 1), c("e", 0.22, 20)}}
	for _, tc := range []struct {
		rec          NASRecipe
		pool, fronts int
		floor        float64
		rankC        int
	}{
		{NASRecipe{K: 2, Margin: 0.1, PoolSize: 2}, 3, 1, 0.7, -1},
		{NASRecipe{K: 2, Margin: 0.1, PoolSize: 3}, 5, 2, 0.7, 1},
		{NASRecipe{K: 3, Margin: 0.01, PoolSize: 6}, 5, 2, 0.75, 1},
	} {
		pool, rank, fronts, floor, err := nasPool(sr, tc.rec)
		if err != nil {
			t.Fatal(err)
		}
		r, ok := rank["c"]
		if len(pool) != tc.pool || fronts != tc.fronts || math.Abs(floor-tc.floor) > 1e-9 || rank["a"] != 0 || rank["d"] != 0 ||
			(tc.rankC < 0) == ok || (ok && r != tc.rankC) {
			t.Errorf("%+v: pool of %d in %d fronts, floor %v, ranks %v", tc.rec, len(pool), fronts, floor, rank)
		}
	}
	if _, _, _, _, err := nasPool(sr, NASRecipe{K: 6, Margin: 0.1, PoolSize: 6}); err == nil {
		t.Error("6 members from 5 sub-networks accepted")
	}
}
