package ensemble

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/diversity"
)

// TestSubsets: all 2–5-member subsets of 12 are the 1,573 distinct increasing
// index lists; unranking reproduces their order; a seeded sample is a reproducible
// set of distinct subsets from them.
func TestSubsets(t *testing.T) {
	all, err := Subsets(12, 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1573 || CountSubsets(12, 2, 5) != 1573 {
		t.Fatalf("%d subsets (count %d), want 66+220+495+792 = 1573", len(all), CountSubsets(12, 2, 5))
	}
	seen := map[string]bool{}
	for r, s := range all {
		if !slices.IsSorted(s) || len(s) < 2 || len(s) > 5 || s[0] < 0 || s[len(s)-1] > 11 {
			t.Fatalf("subset %v", s)
		}
		for j := 1; j < len(s); j++ {
			if s[j] == s[j-1] {
				t.Fatalf("repeated member in %v", s)
			}
		}
		key := string(rune(len(s))) + string(func() []rune {
			var b []rune
			for _, x := range s {
				b = append(b, rune('a'+x))
			}
			return b
		}())
		if seen[key] {
			t.Fatalf("subset %v twice", s)
		}
		seen[key] = true
		if u := unrankSubset(12, 2, int64(r)); !slices.Equal(u, s) {
			t.Fatalf("unrank %d = %v, want %v", r, u, s)
		}
	}
	a, err := SampleSubsets(12, 2, 5, 100, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := SampleSubsets(12, 2, 5, 100, 7)
	c, _ := SampleSubsets(12, 2, 5, 100, 8)
	if len(a) != 100 || !slices.EqualFunc(a, b, slices.Equal) || slices.EqualFunc(a, c, slices.Equal) {
		t.Fatalf("sample: %d subsets, same seed equal %v, other seed equal %v", len(a), slices.EqualFunc(a, b, slices.Equal),
			slices.EqualFunc(a, c, slices.Equal))
	}
	for i, s := range a {
		if !slices.ContainsFunc(all, func(x []int) bool { return slices.Equal(x, s) }) {
			t.Fatalf("sampled %v is not a subset", s)
		}
		if i > 0 && slices.Equal(s, a[i-1]) {
			t.Fatalf("sampled %v twice", s)
		}
	}
	if full, _ := SampleSubsets(5, 2, 3, 1000, 1); len(full) != 20 {
		t.Errorf("a sample larger than the pool: %d subsets, want all 20", len(full))
	}
	if _, err := Subsets(3, 2, 4); err == nil {
		t.Error("k beyond the pool accepted")
	}
	if _, err := Subsets(3, 0, 2); err == nil {
		t.Error("k = 0 accepted")
	}
}

// synthPool returns a pool of m members (archs alternate between two names, so
// that homogeneous and heterogeneous ensembles both occur) with random outputs on
// the clean slice and every benchmark corruption at the given severities.
func synthPool(m, n, k, d int, sevs []int) *Pool {
	rng := rand.New(rand.NewPCG(3, 4))
	labels := seqLabels(n, k)
	p := &Pool{Slices: []Slice{CleanSlice}}
	for _, c := range corrupt.BenchmarkNames() {
		for _, s := range sevs {
			p.Slices = append(p.Slices, Slice{c, s})
		}
	}
	for i := range m {
		arch := []string{"lenet", "vgg11"}[i%2]
		p.Members = append(p.Members, PoolMember{Dir: "runs/" + arch + "_" + string(rune('a'+i)),
			Meta: Meta{Arch: arch, Style: "cifar", Width: 1, Classes: k, Params: 1000}})
		row := make([]*Outputs, len(p.Slices))
		for s := range row {
			dd := 0
			if s == 0 {
				dd = d
			}
			row[s] = randomOutputs(rng, labels, k, dd)
		}
		p.Outputs = append(p.Outputs, row)
	}
	return p
}

// TestScoreEnsembles: scoring a pool gives per ensemble the error that combining
// its members directly gives, the homogeneity label, and the diversity report of
// its clean outputs; a 1-member ensemble scores like its member.
func TestScoreEnsembles(t *testing.T) {
	p := synthPool(4, 50, 5, 6, []int{1, 2, 3, 4, 5})
	subs, _ := Subsets(4, 1, 3)
	base := &corrupt.Result{Model: "base", CleanError: 0.5, Errors: map[string][]float64{}}
	for _, c := range corrupt.BenchmarkNames() {
		base.Errors[c] = []float64{0.6, 0.65, 0.7, 0.75, 0.8}
	}
	dopt := diversity.Options{Metrics: []string{"disagreement", "linear_cka"}}
	res, err := ScoreEnsembles(p, subs, ScoreOptions{Baseline: base, Diversity: &dopt, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewCombiner(CombineMean, nil, 0)
	for i, e := range res {
		var outs []*Outputs
		for _, m := range e.Members {
			outs = append(outs, p.Outputs[m][0])
		}
		if want := c.ErrorRate(outs); e.Result.CleanError != want {
			t.Errorf("%s: clean error %v, want %v", e.Name, e.Result.CleanError, want)
		}
		hom := true
		for _, m := range e.Members {
			hom = hom && m%2 == e.Members[0]%2
		}
		if e.Homogeneous != hom {
			t.Errorf("%s: homogeneous %v, want %v", e.Name, e.Homogeneous, hom)
		}
		if e.Result.MCE == nil || e.Result.RelativeMCE == nil {
			t.Errorf("%s: no mCE", e.Name)
		}
		if len(e.Members) == 1 {
			if e.Diversity != nil {
				t.Errorf("%s: diversity of one member", e.Name)
			}
			continue
		}
		dis, ok := e.Diversity.Float("disagreement")
		if !ok || !(dis > 0 && dis < 1) {
			t.Errorf("%s: disagreement %v", e.Name, dis)
		}
		if _, ok := e.Diversity.Float("linear_cka"); !ok {
			t.Errorf("%s (#%d): no linear CKA", e.Name, i)
		}
	}
	// Identical members: zero disagreement, linear CKA 1.
	q := synthPool(1, 50, 5, 6, []int{1})
	q.Members = append(q.Members, PoolMember{Dir: "runs/copy", Meta: q.Members[0].Meta})
	q.Outputs = append(q.Outputs, q.Outputs[0])
	r, err := ScoreEnsembles(q, [][]int{{0, 1}}, ScoreOptions{Diversity: &dopt})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := r[0].Diversity.Float("disagreement"); d != 0 {
		t.Errorf("copies: disagreement %v", d)
	}
	if v, _ := r[0].Diversity.Float("linear_cka"); math.Abs(v-1) > 1e-9 {
		t.Errorf("copies: linear CKA %v", v)
	}
	if r[0].Result.CleanError != res[0].Result.CleanError {
		t.Errorf("copies: error %v, the member's %v", r[0].Result.CleanError, res[0].Result.CleanError)
	}
	if _, err := ScoreEnsembles(p, [][]int{{2, 1}}, ScoreOptions{}); err == nil {
		t.Error("unordered subset accepted")
	}
}

// TestDiversityInputsPadding: features of different widths are zero-padded, which
// leaves linear CKA as computed from the unpadded Gram matrices.
func TestDiversityInputsPadding(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	labels := seqLabels(30, 3)
	a, b := randomOutputs(rng, labels, 3, 4), randomOutputs(rng, labels, 3, 7)
	in := DiversityInputs([]*Outputs{a, b})
	if in.D != 7 || len(in.Features) != 2*30*7 {
		t.Fatalf("D %d, %d features", in.D, len(in.Features))
	}
	rep, err := diversity.Compute(in, diversity.Options{Metrics: []string{"linear_cka"}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := rep.Float("linear_cka")
	want := linearCKARef(a.Features, 4, b.Features, 7, 30)
	if math.Abs(got-want) > 1e-6 {
		t.Errorf("linear CKA %v, reference %v", got, want)
	}
}

// linearCKARef is linear CKA from centred Gram matrices, HSIC(K,L)/sqrt(HSIC(K,K)HSIC(L,L)).
func linearCKARef(x []float32, dx int, y []float32, dy int, n int) float64 {
	gram := func(v []float32, d int) [][]float64 {
		mean := make([]float64, d)
		for i := range n {
			for j := range d {
				mean[j] += float64(v[i*d+j]) / float64(n)
			}
		}
		g := make([][]float64, n)
		for i := range n {
			g[i] = make([]float64, n)
			for k := range n {
				for j := range d {
					g[i][k] += (float64(v[i*d+j]) - mean[j]) * (float64(v[k*d+j]) - mean[j])
				}
			}
		}
		return g
	}
	k, l := gram(x, dx), gram(y, dy)
	dot := func(a, b [][]float64) float64 {
		var s float64
		for i := range a {
			for j := range a[i] {
				s += a[i][j] * b[i][j]
			}
		}
		return s
	}
	return dot(k, l) / math.Sqrt(dot(k, k)*dot(l, l))
}

// BenchmarkScorePool scores all 1,573 2–5-member ensembles of a 12-member pool from
// cached outputs: 250 inputs on the clean slice and 15 corruptions × 5 severities,
// 10 classes, every prediction metric and CKA on 64-wide clean features.
func BenchmarkScorePool(b *testing.B) {
	p := synthPool(12, 250, 10, 64, []int{1, 2, 3, 4, 5})
	subs, _ := Subsets(12, 2, 5)
	dopt := diversity.Options{}
	b.ResetTimer()
	for range b.N {
		res, err := ScoreEnsembles(p, subs, ScoreOptions{Diversity: &dopt})
		if err != nil || len(res) != 1573 {
			b.Fatal(err, len(res))
		}
	}
}
