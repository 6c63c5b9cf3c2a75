package nas

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/data"
	"github.com/divres/divres/internal/atomicfile"
)

// Files of a search directory.
const (
	SearchFile    = "search.json"
	ParetoCSV     = "pareto.csv"
	CandidatesCSV = "candidates.csv"
)

// SearchConfig configures the NSGA-II search over a trained super-network. Zero
// fields take the defaults of their comments.
type SearchConfig struct {
	// Population (40) and Generations (10) of NSGA-II; EtaC (15), EtaM (20) and
	// CrossoverProb (0.9) of SBX and polynomial mutation; Seed.
	Population    int     `json:"population"`
	Generations   int     `json:"generations"`
	EtaC          float64 `json:"eta_c"`
	EtaM          float64 `json:"eta_m"`
	CrossoverProb float64 `json:"crossover_prob"`
	Seed          int64   `json:"seed"`
	// CalibImages (default: the training run's) recalibrate BatchNorm before each
	// evaluation; ValLimit caps the validation images (0: the run's validation set).
	CalibImages int `json:"calib_images"`
	ValLimit    int `json:"val_limit,omitempty"`
	// Batch (128), Workers, Device (auto): not part of the result.
	Batch   int    `json:"batch"`
	Workers int    `json:"-"`
	Device  string `json:"-"`
}

// WithDefaults fills the zero fields.
func (c SearchConfig) WithDefaults() SearchConfig {
	if c.Population == 0 {
		c.Population = 40
	}
	if c.Generations == 0 {
		c.Generations = 10
	}
	if c.EtaC == 0 {
		c.EtaC = 15
	}
	if c.EtaM == 0 {
		c.EtaM = 20
	}
	if c.CrossoverProb == 0 {
		c.CrossoverProb = 0.9
	}
	if c.Batch == 0 {
		c.Batch = 128
	}
	if c.Device == "" {
		c.Device = "auto"
	}
	return c
}

// Candidate is one evaluated sub-network.
type Candidate struct {
	Key    string `json:"key"`
	Genome Genome `json:"genome"`
	// Error is the validation top-1 error after BatchNorm recalibration; MACs the
	// analytic count for one image (MACs).
	Error float64 `json:"val_error"`
	MACs  int64   `json:"macs"`
	// Pareto is true for the non-dominated candidates among all evaluated ones.
	Pareto bool `json:"pareto"`
	// Full marks the full ResNet50.
	Full bool `json:"full,omitempty"`
}

// SearchResult is search.json.
type SearchResult struct {
	Supernet   string       `json:"supernet"`
	Config     SearchConfig `json:"config"`
	InputSize  int          `json:"input_size"`
	ValImages  int          `json:"val_images"`
	Candidates []Candidate  `json:"candidates"` // every distinct evaluated genome
	// Pareto lists the non-dominated candidates by increasing MACs.
	Pareto []Candidate `json:"pareto"`
	// FullMACs and FullError describe the full ResNet50.
	FullMACs  int64   `json:"full_macs"`
	FullError float64 `json:"full_val_error"`
	// Hypervolume of the front in (MACs / FullMACs, error) with reference (1, 1).
	Hypervolume float64 `json:"hypervolume"`
	Seconds     float64 `json:"seconds"`
}

// Search runs NSGA-II over the genomes of the super-network in runDir with two
// objectives, validation error (after BatchNorm recalibration) and MACs, and writes
// search.json, pareto.csv and candidates.csv to out.
func Search(ctx context.Context, runDir string, cfg SearchConfig, out string, log logrus.FieldLogger) (*SearchResult, error) {
	cfg = cfg.WithDefaults()
	if log == nil {
		log = logrus.StandardLogger()
	}
	if cfg.Population < 2 || cfg.Generations < 0 || cfg.CalibImages < 0 || cfg.ValLimit < 0 || cfg.Batch < 1 {
		return nil, fmt.Errorf("nas search: invalid configuration %+v", cfg)
	}
	start := time.Now()
	psc, err := ReadPSConfig(runDir)
	if err != nil {
		return nil, fmt.Errorf("nas search: %w", err)
	}
	dev, err := resolveDevice(cfg.Device)
	if err != nil {
		return nil, fmt.Errorf("nas search: %w", err)
	}
	net, sm, err := LoadSupernet(runDir, dev)
	if err != nil {
		return nil, fmt.Errorf("nas search: %w", err)
	}
	defer net.Close()
	if !sm.Finished {
		log.Warnf("nas search: %s has not finished progressive shrinking", runDir)
	}
	env, _, err := OpenEnv(psc)
	if err != nil {
		return nil, fmt.Errorf("nas search: %w", err)
	}
	if cfg.ValLimit > 0 && env.Val.Len() > cfg.ValLimit {
		env.Val = data.FirstK(env.Val, cfg.ValLimit)
	}
	if cfg.CalibImages == 0 {
		cfg.CalibImages = psc.CalibImages
	}
	e := net.Model.(*Elastic)
	sp := e.Space()
	size := int64(sm.Model.InputSize)
	lo, hi := sp.Bounds()
	evals := 0
	prob := IntProblem{Lower: lo, Upper: hi,
		Normalize: func(x []int) []int { return sp.Encode(sp.Decode(x)) },
		Evaluate: func(x []int) ([]float64, error) {
			g := sp.Decode(x)
			p, err := EvaluateGenome(ctx, net, g, env, cfg.CalibImages, dev, EvalOptions{Batch: cfg.Batch, Workers: cfg.Workers})
			if err != nil {
				return nil, err
			}
			macs, err := e.MACs(g, size)
			if err != nil {
				return nil, err
			}
			evals++
			log.Debugf("nas search: %s error %.4f MACs %d", g.Key(), p.ErrorRate(), macs)
			if evals%cfg.Population == 0 {
				log.Infof("nas search: %d sub-networks evaluated (%.0f s)", evals, time.Since(start).Seconds())
			}
			return []float64{p.ErrorRate(), float64(macs)}, nil
		}}
	full := sp.Encode(sp.Max())
	r, err := NSGA2Int(prob, NSGA2Options{Population: cfg.Population, Generations: cfg.Generations, EtaC: cfg.EtaC,
		EtaM: cfg.EtaM, CrossoverProb: cfg.CrossoverProb, Seed: cfg.Seed}, [][]int{full, sp.Encode(sp.Min())})
	if err != nil {
		return nil, fmt.Errorf("nas search: %w", err)
	}
	res := &SearchResult{Supernet: runDir, Config: cfg, InputSize: int(size), ValImages: env.Val.Len()}
	res.Candidates, res.Pareto = paretoCandidates(sp, r.Evaluated)
	for _, c := range res.Candidates {
		if c.Full {
			res.FullMACs, res.FullError = c.MACs, c.Error
		}
	}
	pts := make([][2]float64, len(res.Pareto))
	for i, c := range res.Pareto {
		pts[i] = [2]float64{float64(c.MACs) / float64(res.FullMACs), c.Error}
	}
	res.Hypervolume = Hypervolume2D(pts, [2]float64{1.0000001, 1})
	res.Seconds = time.Since(start).Seconds()
	if err := writeSearch(out, res); err != nil {
		return nil, fmt.Errorf("nas search: %w", err)
	}
	log.Infof("nas search: %d sub-networks evaluated, %d on the Pareto front, hypervolume %.4f, %.0f s",
		len(res.Candidates), len(res.Pareto), res.Hypervolume, res.Seconds)
	return res, nil
}

// paretoCandidates turns evaluations into candidates, marking the non-dominated
// ones and the full network; it returns them and the front by increasing MACs.
func paretoCandidates(sp Space, ev []IntIndividual) ([]Candidate, []Candidate) {
	objs := make([][]float64, len(ev))
	cs := make([]Candidate, len(ev))
	fullKey := sp.Max().Key()
	for i, ind := range ev {
		g := sp.Decode(ind.X)
		cs[i] = Candidate{Key: g.Key(), Genome: g, Error: ind.F[0], MACs: int64(ind.F[1]), Full: g.Key() == fullKey}
		objs[i] = ind.F
	}
	var front []Candidate
	if fs := NonDominatedSort(objs); len(fs) > 0 {
		for _, i := range fs[0] {
			cs[i].Pareto = true
			front = append(front, cs[i])
		}
	}
	sort.Slice(front, func(a, b int) bool {
		if front[a].MACs != front[b].MACs {
			return front[a].MACs < front[b].MACs
		}
		return front[a].Error < front[b].Error
	})
	return cs, front
}

func writeSearch(dir string, r *SearchResult) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, SearchFile), append(js, '\n')); err != nil {
		return err
	}
	for name, cs := range map[string][]Candidate{ParetoCSV: r.Pareto, CandidatesCSV: r.Candidates} {
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		_ = w.Write([]string{"key", "val_error", "macs", "pareto", "full"})
		for _, c := range cs {
			_ = w.Write([]string{c.Key, strconv.FormatFloat(c.Error, 'g', -1, 64), strconv.FormatInt(c.MACs, 10),
				strconv.FormatBool(c.Pareto), strconv.FormatBool(c.Full)})
		}
		w.Flush()
		if err := atomicfile.WriteFile(filepath.Join(dir, name), b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// ReadSearch reads search.json from a search directory (or the file itself).
func ReadSearch(path string) (*SearchResult, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, SearchFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r SearchResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// ReadPSConfig reads the progressive-shrinking configuration of a run directory.
func ReadPSConfig(dir string) (PSConfig, error) {
	var c PSConfig
	b, err := os.ReadFile(filepath.Join(dir, PSConfigFile))
	if err != nil {
		return c, fmt.Errorf("%s is not a super-network run: %w", dir, err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", filepath.Join(dir, PSConfigFile), err)
	}
	return c.WithDefaults(), nil
}
