package nas

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/divres/divres/attrib"
	"github.com/divres/divres/data"
	"github.com/divres/divres/diversity"
	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// SelectionFile is the selection record of a NAS ensemble directory.
const SelectionFile = "selection.json"

// Selection methods of NAS ensembles.
const (
	ByAccuracy    = "accuracy"
	ByDiversity   = "diversity"
	ByAttribution = "attribution"
)

// EnsembleConfig chooses K members among the searched sub-networks.
type EnsembleConfig struct {
	// K members (default 3).
	K int `json:"k"`
	// Method: "accuracy" (the K lowest validation errors), "diversity" (the K
	// members with the largest mean pairwise prediction diversity Metric) or
	// "attribution" (the largest mean pairwise attribution diversity, 1 − cosine
	// of saliency maps).
	Method string `json:"method"`
	// Metric is the pairwise prediction-diversity measure of diversity.Compute:
	// "disagreement" (default), "js_divergence" or "kl_divergence".
	Metric string `json:"metric"`
	// Floor is the least validation accuracy of a member (0: the best candidate's
	// accuracy minus 0.05).
	Floor float64 `json:"floor"`
	// All considers every evaluated sub-network, not only the Pareto front.
	All bool `json:"all,omitempty"`
	// AttribImages is the number of validation images of attribution maps (64).
	AttribImages int `json:"attrib_images"`
	// CalibImages (0: the run's), Batch (128), Workers, Device: evaluation.
	CalibImages int    `json:"calib_images"`
	Batch       int    `json:"-"`
	Workers     int    `json:"-"`
	Device      string `json:"-"`
}

// Selection is selection.json.
type Selection struct {
	Config EnsembleConfig `json:"config"`
	// Eligible are the candidates at or above the floor, by increasing error.
	Eligible []Candidate `json:"eligible"`
	Members  []Candidate `json:"members"`
	// Diversity is the chosen members' mean pairwise value of the selection
	// measure (prediction Metric, or attribution diversity); PredictionDiversity
	// their mean pairwise Metric in every case.
	Diversity           float64 `json:"diversity"`
	PredictionDiversity float64 `json:"prediction_diversity"`
	// ValError is the ensemble's (mean softmax) validation error.
	ValError float64 `json:"val_error"`
	// MemberDirs are the extracted members (standalone model runs).
	MemberDirs []string `json:"member_dirs"`
}

var pairwiseMetrics = []string{"disagreement", "js_divergence", "kl_divergence"}

// SelectEnsemble picks cfg.K members among the candidates of a search, under the
// accuracy floor, by accuracy or by diversity, extracts them to out/members/<key>
// and writes out/selection.json. The selection measures run on the validation set
// of the super-network run (after BatchNorm recalibration for each candidate).
func SelectEnsemble(ctx context.Context, runDir string, sr *SearchResult, cfg EnsembleConfig, out string) (*Selection, error) {
	if cfg.K == 0 {
		cfg.K = 3
	}
	if cfg.Method == "" {
		cfg.Method = ByAccuracy
	}
	if cfg.Metric == "" {
		cfg.Metric = "disagreement"
	}
	if cfg.AttribImages == 0 {
		cfg.AttribImages = 64
	}
	if cfg.Batch == 0 {
		cfg.Batch = 128
	}
	switch {
	case cfg.K < 2:
		return nil, fmt.Errorf("nas ensemble: %d members (want at least 2)", cfg.K)
	case cfg.Method != ByAccuracy && cfg.Method != ByDiversity && cfg.Method != ByAttribution:
		return nil, fmt.Errorf("nas ensemble: unknown method %q (want accuracy, diversity or attribution)", cfg.Method)
	case !slices.Contains(pairwiseMetrics, cfg.Metric):
		return nil, fmt.Errorf("nas ensemble: metric %q (want %v)", cfg.Metric, pairwiseMetrics)
	case cfg.Floor < 0 || cfg.Floor > 1 || math.IsNaN(cfg.Floor):
		return nil, fmt.Errorf("nas ensemble: accuracy floor %v outside [0, 1]", cfg.Floor)
	}
	pool := sr.Pareto
	if cfg.All {
		pool = sr.Candidates
	}
	pool = append([]Candidate(nil), pool...)
	sort.SliceStable(pool, func(a, b int) bool { return pool[a].Error < pool[b].Error })
	if len(pool) == 0 {
		return nil, fmt.Errorf("nas ensemble: the search has no candidates")
	}
	floor := cfg.Floor
	if floor == 0 {
		floor = 1 - pool[0].Error - 0.05
	}
	sel := &Selection{Config: cfg}
	for _, c := range pool {
		if 1-c.Error >= floor-1e-12 {
			sel.Eligible = append(sel.Eligible, c)
		}
	}
	if len(sel.Eligible) < cfg.K {
		return nil, fmt.Errorf("nas ensemble: %d candidates reach the accuracy floor %.4f, %d members asked (lower --floor, use --all or ask fewer)",
			len(sel.Eligible), floor, cfg.K)
	}
	sel.Config.Floor = floor
	psc, err := ReadPSConfig(runDir)
	if err != nil {
		return nil, fmt.Errorf("nas ensemble: %w", err)
	}
	if cfg.CalibImages == 0 {
		cfg.CalibImages = psc.CalibImages
	}
	dev, err := resolveDevice(defaultString(cfg.Device, "auto"))
	if err != nil {
		return nil, fmt.Errorf("nas ensemble: %w", err)
	}
	net, _, err := LoadSupernet(runDir, dev)
	if err != nil {
		return nil, fmt.Errorf("nas ensemble: %w", err)
	}
	env, _, err := OpenEnv(psc)
	if err != nil {
		net.Close()
		return nil, fmt.Errorf("nas ensemble: %w", err)
	}
	if sr.ValImages > 0 && env.Val.Len() > sr.ValImages {
		env.Val = data.FirstK(env.Val, sr.ValImages)
	}
	n := len(sel.Eligible)
	var probs []float32
	var labels []int64
	classes := 0
	var attrMaps []*torch.Tensor
	keep := torch.NewScope(torch.NoGrad())
	defer keep.Close()
	for _, c := range sel.Eligible {
		p, err := EvaluateGenome(ctx, net, c.Genome, env, cfg.CalibImages, dev, EvalOptions{Batch: cfg.Batch, Workers: cfg.Workers, Probs: true})
		if err != nil {
			net.Close()
			return nil, fmt.Errorf("nas ensemble: %s: %w", c.Key, err)
		}
		probs, classes = append(probs, p.Probs...), p.Classes
		if labels == nil {
			for _, y := range p.Labels {
				labels = append(labels, int64(y))
			}
		}
		if cfg.Method == ByAttribution {
			m, err := saliencyMaps(ctx, net, env, cfg.AttribImages, dev, keep)
			if err != nil {
				net.Close()
				return nil, fmt.Errorf("nas ensemble: %s attributions: %w", c.Key, err)
			}
			attrMaps = append(attrMaps, m)
		}
	}
	net.Close()
	rep, err := diversity.Compute(diversity.Inputs{M: n, N: len(labels), C: classes, Probs: probs, Labels: labels},
		diversity.Options{Metrics: []string{cfg.Metric}})
	if err != nil {
		return nil, fmt.Errorf("nas ensemble: %w", err)
	}
	pred, ok := rep.Values[cfg.Metric+"_matrix"].([][]float64)
	if !ok {
		return nil, fmt.Errorf("nas ensemble: diversity report has no %s matrix", cfg.Metric)
	}
	score := pred
	if cfg.Method == ByAttribution {
		sim, err := attrib.Matrix(attrMaps, attrib.Compare{Metric: attrib.Cosine})
		if err != nil {
			return nil, fmt.Errorf("nas ensemble: %w", err)
		}
		score = make([][]float64, n)
		for i := range sim {
			score[i] = make([]float64, n)
			for k := range sim[i] {
				score[i][k] = 1 - sim[i][k]
			}
		}
	}
	var chosen []int
	if cfg.Method == ByAccuracy {
		for i := 0; i < cfg.K; i++ {
			chosen = append(chosen, i)
		}
	} else {
		chosen = mostDiverse(score, cfg.K)
	}
	sel.Diversity, sel.PredictionDiversity = meanPairs(score, chosen), meanPairs(pred, chosen)
	// The ensemble's validation error from the members' probabilities.
	wrong := 0
	for s, y := range labels {
		best, arg := -1.0, 0
		for c := 0; c < classes; c++ {
			v := 0.0
			for _, m := range chosen {
				v += float64(probs[(m*len(labels)+s)*classes+c])
			}
			if v > best {
				best, arg = v, c
			}
		}
		if int64(arg) != y {
			wrong++
		}
	}
	sel.ValError = float64(wrong) / float64(len(labels))
	for _, m := range chosen {
		c := sel.Eligible[m]
		dir := filepath.Join(out, "members", c.Key)
		if _, err := Extract(ctx, runDir, c.Genome, dir, ExtractOptions{CalibImages: cfg.CalibImages, Batch: cfg.Batch, Workers: cfg.Workers, Device: cfg.Device}); err != nil {
			return nil, err
		}
		sel.Members = append(sel.Members, c)
		sel.MemberDirs = append(sel.MemberDirs, dir)
	}
	sel.Config = cfg
	sel.Config.Floor = floor
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	js, _ := json.MarshalIndent(sel, "", "  ")
	if err := atomicfile.WriteFile(filepath.Join(out, SelectionFile), append(js, '\n')); err != nil {
		return nil, fmt.Errorf("nas ensemble: %w", err)
	}
	return sel, nil
}

// saliencyMaps returns the saliency maps of the active sub-network on the first n
// validation images for their labels, owned by keep.
func saliencyMaps(ctx context.Context, net *nets.Net, env *Env, n int, dev torch.Device, keep *torch.Scope) (*torch.Tensor, error) {
	net.Store.SetTraining(false)
	l, err := data.NewLoader(data.FirstK(env.Val, n), env.Input.LoaderOptions(64, 0))
	if err != nil {
		return nil, err
	}
	var parts []*torch.Tensor
	for b, err := range l.Batches(ctx, 0) {
		if err != nil {
			return nil, err
		}
		err := torch.Do(func(s *torch.Scope) error {
			x := torch.FromSlice(s, b.X, []int64{int64(b.N), int64(b.C), int64(b.H), int64(b.W)}, dev)
			r, err := attrib.Attribute(s, attrib.FromNet(net), x, attrib.Labels(b.Y), attrib.Options{Method: attrib.Saliency})
			if err != nil {
				return err
			}
			parts = append(parts, r.Maps.Detach().MoveTo(keep))
			return nil
		})
		b.Release()
		if err != nil {
			return nil, err
		}
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return torch.Cat(parts, 0), nil
}

// meanPairs is the mean of mat over the unordered pairs of idx (both directions
// averaged, for asymmetric measures such as KL).
func meanPairs(mat [][]float64, idx []int) float64 {
	s, k := 0.0, 0
	for a := 0; a < len(idx); a++ {
		for b := a + 1; b < len(idx); b++ {
			s += (mat[idx[a]][idx[b]] + mat[idx[b]][idx[a]]) / 2
			k++
		}
	}
	return s / float64(k)
}

// mostDiverse returns the k indices with the largest mean pairwise value of mat:
// every subset when there are at most 200,000, else greedily (the best pair, then
// the index adding the most).
func mostDiverse(mat [][]float64, k int) []int {
	n := len(mat)
	if ensemble.CountSubsets(n, k, k) <= 200_000 {
		subs, err := ensemble.Subsets(n, k, k)
		if err == nil {
			best, arg := math.Inf(-1), subs[0]
			for _, s := range subs {
				if v := meanPairs(mat, s); v > best {
					best, arg = v, s
				}
			}
			return arg
		}
	}
	best, pa, pb := math.Inf(-1), 0, 1
	for a := 0; a < n; a++ {
		for b := a + 1; b < n; b++ {
			if v := (mat[a][b] + mat[b][a]) / 2; v > best {
				best, pa, pb = v, a, b
			}
		}
	}
	out := []int{pa, pb}
	for len(out) < k {
		bv, bi := math.Inf(-1), -1
		for i := 0; i < n; i++ {
			if slices.Contains(out, i) {
				continue
			}
			if v := meanPairs(mat, append(append([]int(nil), out...), i)); v > bv {
				bv, bi = v, i
			}
		}
		out = append(out, bi)
	}
	sort.Ints(out)
	return out
}
