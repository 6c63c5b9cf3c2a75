package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/attrib"
	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/data"
	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/plots"
	"github.com/divres/divres/study"
	"github.com/divres/divres/torch"
)

func init() {
	addCommand(&cli.Command{
		Name:  "ncl",
		Usage: "train ensembles jointly with the balanced NCL loss over a grid of λ, γ and heuristics; table and figures",
		Description: `divres ncl --members ARCH[:WIDTH][,ARCH[:WIDTH]…] --data NAME --corruptions DIR|generate --out DIR
    [--lambda 0,0.25,0.5,0.75,1] [--gamma 0,0.1,…] [--heuristic prediction,attribution,…]
  trains one joint run per cell of the grid, loss
    L = λ·(1/M)Σ CE(f_i) + (1−λ)·CE(f̄) − γ·D
  with D the heuristic's diversity term: none, prediction (NCL), attribution
  (saliency cosine, double backward), activation (linear CKA), classic (Liu & Yao)
  or gncl (Buschjäger et al.). Cells with γ = 0 do not depend on the heuristic and
  are trained once, as heuristic none. Member i's weights are seeded with --seed + i;
  the data order with --seed. λ = 1, γ = 0 is bit for bit independent training
  (divres train --seed S --init-seed S+i).
  Each cell is its own resumable run directory, OUT/<heuristic>/lambda<λ>_gamma<γ>,
  holding one ordinary model run directory per member (members/<i>_<model>), so
  divres eval, ensemble, diversity and attrib take them. Rerunning the command
  resumes interrupted cells and skips finished ones.
  Every cell's mean-softmax ensemble is evaluated from the prediction cache (clean
  error, mean corruption error, mCE and relative mCE with --baseline) with three
  diversities on the clean test images: disagreement, 1 − linear CKA of the
  penultimate features and 1 − cosine of the saliency maps. --compare adds
  independently trained ensembles (e.g. architecture-diverse ones) as reference
  rows. Writes OUT/ncl.json, OUT/ncl.csv, OUT/ncl_resilience.png and
  OUT/ncl_diversity.png.`,
		Flags: append(append([]cli.Flag{
			&cli.StringFlag{Name: "members", Usage: "comma-separated `ARCH[:WIDTH]` of the members (at least 2)", Required: true},
			&cli.StringFlag{Name: "lambda", Value: "0,0.25,0.5,0.75,1", Usage: "comma-separated λ values in [0, 1]"},
			&cli.StringFlag{Name: "gamma", Value: "0,0.1", Usage: "comma-separated γ values (≥ 0)"},
			&cli.StringFlag{Name: "heuristic", Value: "prediction", Usage: "comma-separated: " + strings.Join(ensemble.Heuristics(), ", ")},
			&cli.StringFlag{Name: "out", Usage: "sweep `DIR`", Required: true},
			&cli.StringFlag{Name: "compare", Usage: "reference ensembles: member run directories joined by ',', ensembles by ';'"},
			&cli.StringFlag{Name: "data", Usage: "dataset: fashion-mnist, mnist, cifar10, cifar100 or a `PATH`", Required: true},
			&cli.StringFlag{Name: "style", Value: "cifar", Usage: "cifar or imagenet"},
		}, recipeFlags()...), []cli.Flag{
			&cli.Uint64Flag{Name: "seed", Usage: "seed of the data order and augmentation; member i's weights use seed+i"},
			ampFlag(),
			&cli.StringFlag{Name: "progress", Value: "auto", Usage: "auto, bar, log or off"},
			&cli.StringFlag{Name: "corruptions", Usage: "corruption set `DIR`, or \"generate\"", Required: true},
			&cli.StringFlag{Name: "baseline", Usage: "baseline result `FILE` (eval.json) for mCE and relative mCE"},
			&cli.IntFlag{Name: "test-subset", Usage: "evaluate on the first `N` test images (and of each corrupted slice)"},
			&cli.StringFlag{Name: "severities", Value: "1-5", Usage: "severities, e.g. 1-5 or 1,3,5"},
			&cli.StringFlag{Name: "corruption-list", Value: "all", Usage: "comma-separated names, \"all\" or \"benchmark\""},
			&cli.Uint64Flag{Name: "corruption-seed", Usage: "generate: random seed of the corruptions"},
			&cli.StringFlag{Name: "cache", Usage: "generate: cache `DIR` of generated sets (default: " + ensemble.DefaultCacheDir() + ")"},
			&cli.StringFlag{Name: "prediction-cache", Usage: "cache `DIR` of member outputs (default: " + ensemble.DefaultPredictionCacheDir() + ")"},
			&cli.IntFlag{Name: "diversity-images", Value: 500, Usage: "clean test images for the attribution diversity"},
			&cli.IntFlag{Name: "eval-batch", Value: 256, Usage: "images per forward pass in evaluation"},
			allowNonFiniteFlag("resume a cell or compare"),
			deviceFlag(), threadsFlag(), workersFlag(),
		}...),
		Action: runNCL,
	})
}

// nclCell is one cell of the sweep grid (ensemble.NCLCell).
type nclCell ensemble.NCLCell

// dir is the cell's run directory under out.
func (c nclCell) dir(out string) string { return ensemble.NCLCell(c).Dir(out) }

// nclGrid returns the cells of the grid (ensemble.NCLGrid): every λ at γ = 0 once
// (heuristic none), then every heuristic other than none at every λ and γ > 0.
func nclGrid(heuristics []string, lambdas, gammas []float64) ([]nclCell, error) {
	cells, err := ensemble.NCLGrid(heuristics, lambdas, gammas)
	if err != nil {
		return nil, err
	}
	out := make([]nclCell, len(cells))
	for i, c := range cells {
		out[i] = nclCell(c)
	}
	return out, nil
}

// parseFloatList parses a comma-separated list of numbers for flag.
func parseFloatList(flag, s string) ([]float64, error) {
	var out []float64
	for _, p := range trainSplitList(s) {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("--%s: %q is not a number", flag, p)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--%s: no values", flag)
	}
	return out, nil
}

// parseJointMembers parses ARCH[:WIDTH] entries; member i's weights seed is seed+i.
func parseJointMembers(s string, seed uint64) ([]ensemble.JointMember, error) {
	var out []ensemble.JointMember
	for i, p := range trainSplitList(s) {
		arch, w, hasW := strings.Cut(p, ":")
		m := ensemble.JointMember{Arch: strings.TrimSpace(arch), Width: 1, Seed: seed + uint64(i)}
		if hasW {
			v, err := strconv.ParseFloat(strings.TrimSpace(w), 64)
			if err != nil || !(v > 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("--members: width %q of %s is not a positive number", w, arch)
			}
			m.Width = v
		}
		out = append(out, m)
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("--members: joint training needs at least 2 members, got %d", len(out))
	}
	return out, nil
}

// nclEval holds what every cell's evaluation shares.
type nclEval struct {
	setup      ensemble.PoolSetup
	baseline   *corrupt.Result
	divImages  int
	workers    int
	dev        torch.Device
	predCache  string
	testSubset int
}

// evaluate scores the mean-softmax ensemble of the member directories with
// study.EvaluateEnsemble: errors from the prediction cache, disagreement and
// linear CKA on the clean slice, and the cosine of the members' signed saliency
// maps (study.AttributionMaps) on the first divImages clean test images.
func (e nclEval) evaluate(ctx context.Context, dirs []string) (plots.NCLRow, error) {
	setup := e.setup
	setup.Members = dirs
	pool, source, dataset, _, err := ensemble.LoadPool(ctx, setup)
	if err != nil {
		return plots.NCLRow{}, err
	}
	spec := setup.Data
	if spec == "" {
		spec = pool.Members[0].Meta.Dataset
	}
	test, err := data.OpenTest(spec, data.OpenOptions{})
	if err != nil {
		return plots.NCLRow{}, fmt.Errorf("ncl: attribution diversity: %w", err)
	}
	n := e.divImages
	if e.testSubset > 0 {
		n = min(n, e.testSubset)
	}
	n = min(n, test.Len())
	maps, size, err := study.AttributionMaps(ctx, pool.Members, data.FirstK(test, n), attrib.SaliencySigned, e.dev, e.workers)
	if err != nil {
		return plots.NCLRow{}, fmt.Errorf("ncl: attribution diversity: %w", err)
	}
	ev, err := study.EvaluateEnsemble(pool, e.baseline, maps, size, dataset, source)
	if err != nil {
		return plots.NCLRow{}, err
	}
	row := ev.Row()
	if row.AttributionDiversity == nil {
		return row, fmt.Errorf("ncl: attribution diversity undefined: every saliency map of a pair is constant")
	}
	return row, nil
}

// nclRowFile is the evaluation of a cell, kept in its directory.
const nclRowFile = "ncl_row.json"

func runNCL(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("ncl: unexpected argument %q", c.Args().First())
	}
	mode, err := trainParseProgress(c.String("progress"))
	if err != nil {
		return err
	}
	lambdas, err := parseFloatList("lambda", c.String("lambda"))
	if err != nil {
		return err
	}
	gammas, err := parseFloatList("gamma", c.String("gamma"))
	if err != nil {
		return err
	}
	cells, err := nclGrid(trainSplitList(strings.ToLower(c.String("heuristic"))), lambdas, gammas)
	if err != nil {
		return err
	}
	members, err := parseJointMembers(c.String("members"), c.Uint64("seed"))
	if err != nil {
		return err
	}
	dev, err := torchFlags(c)
	if err != nil {
		return err
	}
	workers, err := workersFlagValue(c)
	if err != nil {
		return err
	}
	sevs, err := parseSeverities(c.String("severities"))
	if err != nil {
		return err
	}
	cs, err := parseCorruptions(c.String("corruption-list"))
	if err != nil {
		return fmt.Errorf("--corruption-list: %s", strings.TrimPrefix(err.Error(), "--corruptions: "))
	}
	if c.Int("test-subset") < 0 || c.Int("diversity-images") < 1 {
		return fmt.Errorf("ncl: --test-subset must not be negative and --diversity-images must be positive")
	}
	base := trainConfigFromFlags(c)
	base.Device = dev.String()
	ev := nclEval{divImages: c.Int("diversity-images"), workers: workers, dev: dev,
		testSubset: c.Int("test-subset")}
	ev.setup = ensemble.PoolSetup{Data: c.String("data"), TestSubset: c.Int("test-subset"), Severities: sevs,
		CacheDir: c.String("prediction-cache"), Device: dev,
		Outputs: ensemble.OutputsOptions{Batch: c.Int("eval-batch"), Workers: workers, Features: true}}
	if c.IsSet("corruption-list") {
		for _, cc := range cs {
			ev.setup.Corruptions = append(ev.setup.Corruptions, cc.Name)
		}
	}
	if set := c.String("corruptions"); strings.EqualFold(set, "generate") {
		ev.setup.Generate = true
		ev.setup.Generation = ensemble.GenerateOptions{Seed: c.Uint64("corruption-seed"), CacheDir: c.String("cache")}
		if ev.setup.Corruptions == nil {
			for _, cc := range cs {
				ev.setup.Corruptions = append(ev.setup.Corruptions, cc.Name)
			}
		}
	} else {
		ev.setup.Set = set
	}
	if p := c.String("baseline"); p != "" {
		if ev.baseline, err = corrupt.ReadResult(p); err != nil {
			return fmt.Errorf("--baseline: %w", err)
		}
	}
	var refs [][]string
	for _, e := range strings.Split(c.String("compare"), ";") {
		if ds := trainSplitList(e); len(ds) > 0 {
			if len(ds) < 2 {
				return fmt.Errorf("--compare: an ensemble needs at least 2 members, got %q", e)
			}
			refs = append(refs, ds)
			// Members that exist are checked now, before any training; those
			// the sweep itself writes are read after it.
			for _, d := range ds {
				if _, err := os.Stat(d); err != nil {
					continue
				}
				if _, _, err := ensemble.ReadMeta(d); err != nil {
					return fmt.Errorf("--compare: %w", err)
				}
				if err := checkFiniteWeights(d, c.Bool("allow-nonfinite"), "compares with"); err != nil {
					return fmt.Errorf("--compare: %w", err)
				}
			}
		}
	}
	// A dataset that does not open stops the command before the sweep
	// directory exists.
	if train, _, err := data.Open(c.String("data"), data.OpenOptions{}); err != nil || train == nil {
		if err == nil {
			err = fmt.Errorf("dataset %s has no training set", c.String("data"))
		}
		return fmt.Errorf("ncl: %w", err)
	}
	out := c.String("out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("ncl: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var rows []plots.NCLRow
	for i, cell := range cells {
		dir := cell.dir(out)
		cfg := ensemble.JointConfig{Train: base, Members: members, Loss: ensemble.NCLCell(cell).Loss()}
		logrus.WithFields(logrus.Fields{"cell": fmt.Sprintf("%d/%d", i+1, len(cells)), "heuristic": cell.Heuristic,
			"lambda": cell.Lambda, "gamma": cell.Gamma, "dir": dir}).Info("ncl: cell")
		if err := checkFiniteWeights(filepath.Join(dir, ensemble.TrainStateFile), c.Bool("allow-nonfinite"), "resumes from"); err != nil {
			return err
		}
		res, err := ensemble.TrainJoint(ctx, cfg, dir, ensemble.TrainOptions{Resume: true, Progress: mode})
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return fmt.Errorf("ncl: interrupted in %s; rerun the same command to continue", dir)
			}
			return err
		}
		row, err := nclCellRow(ctx, ev, dir, res)
		if err != nil {
			return err
		}
		row.Kind, row.Heuristic, row.Lambda, row.Gamma, row.Dir = "ncl", cell.Heuristic, cell.Lambda, cell.Gamma, dir
		rows = append(rows, row)
	}
	for _, ds := range refs {
		row, err := ev.evaluate(ctx, ds)
		if err != nil {
			return fmt.Errorf("--compare: %w", err)
		}
		row.Kind, row.Heuristic, row.Lambda, row.Dir = "reference", "independent", 1, strings.Join(ds, ",")
		rows = append(rows, row)
	}
	if err := writeNCLTable(out, rows); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		draw func([]plots.NCLRow, string) error
	}{{"ncl_resilience.png", plots.NCLResilience}, {"ncl_diversity.png", plots.NCLDiversity}} {
		if err := f.draw(rows, filepath.Join(out, f.name)); err != nil {
			return err
		}
	}
	logrus.WithFields(logrus.Fields{"cells": len(cells), "references": len(refs), "out": out}).Info("ncl: done")
	return nil
}

// nclCellRow returns the evaluation of a trained cell: the one kept in its
// directory when the run was already finished and the evaluation setup is the
// same, else a fresh one (then kept).
func nclCellRow(ctx context.Context, ev nclEval, dir string, res *ensemble.JointResult) (plots.NCLRow, error) {
	st := ev.setup
	key, err := json.Marshal([]any{st.Data, st.TestSubset, st.Set, st.Generate, st.Generation.Seed, st.Generation.CacheDir,
		st.Corruptions, st.Severities, baselineName(ev.baseline), ev.divImages})
	if err != nil {
		return plots.NCLRow{}, err
	}
	type kept struct {
		Key string       `json:"key"`
		Row plots.NCLRow `json:"row"`
	}
	path := filepath.Join(dir, nclRowFile)
	if res.AlreadyDone {
		if b, err := os.ReadFile(path); err == nil {
			var k kept
			if json.Unmarshal(b, &k) == nil && k.Key == string(key) {
				return k.Row, nil
			}
		}
	}
	row, err := ev.evaluate(ctx, res.MemberDirs)
	if err != nil {
		return row, err
	}
	b, err := json.MarshalIndent(kept{Key: string(key), Row: row}, "", "  ")
	if err != nil {
		return row, err
	}
	return row, atomicfile.WriteFile(path, append(b, '\n'))
}

func baselineName(r *corrupt.Result) string {
	if r == nil {
		return ""
	}
	return r.Model + "|" + strconv.FormatFloat(r.CleanError, 'g', -1, 64)
}

// writeNCLTable writes OUT/ncl.json and OUT/ncl.csv atomically.
func writeNCLTable(out string, rows []plots.NCLRow) error {
	js, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(plots.NCLColumns)
	for _, r := range rows {
		_ = w.Write(r.CSV())
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(out, "ncl.csv"), buf.Bytes()); err != nil {
		return fmt.Errorf("ncl: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(out, "ncl.json"), append(js, '\n')); err != nil {
		return fmt.Errorf("ncl: %w", err)
	}
	return nil
}
