package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/nas"
	"github.com/divres/divres/plots"
)

func init() {
	addCommand(&cli.Command{
		Name:  "nas",
		Usage: "NAS ensembles: train an elastic ResNet50 super-network, search it, extract sub-networks, pick ensembles",
		Description: `The pipeline, one subcommand per stage (each resumable or idempotent):
  1. divres train --arch resnet50 …        a trained ResNet50 run: the maximal sub-network
  2. divres nas train --base RUN --out SN    progressive shrinking of the super-network
  3. divres nas search --supernet SN --out S NSGA-II over sub-networks: error vs MACs
  4. divres nas extract --supernet SN --genome KEY --out M   one standalone model run
  5. divres nas ensemble --supernet SN --search S --k 3 --method diversity --out E
                                              members chosen, extracted and evaluated
A sub-network is a genome: the depth of each of the four stages and a width choice
per block (an index into the width multipliers, 0 = full), written as a key such as
d3463-w000.0000.000000.000 (the full ResNet50).`,
		Subcommands: []*cli.Command{nasTrainCmd(), nasSearchCmd(), nasExtractCmd(), nasEnsembleCmd()},
	})
}

func nasTrainCmd() *cli.Command {
	return &cli.Command{
		Name:  "train",
		Usage: "train the elastic super-network of a ResNet50 run by progressive shrinking",
		Description: `divres nas train --base RUN --out DIR [--stages depth:2:0.01,width:2:0.005] [--sandwich]
  starts from the weights of a trained resnet50 run (RUN, from divres train --arch
  resnet50; CIFAR or ImageNet style, any width) and trains the super-network stage
  by stage: "depth" makes the depth elastic (each stage may drop up to two of its
  last blocks), "width" makes depth and the inner width of every block elastic
  (multipliers --width-choices, rounded to multiples of --divisor; the channels are
  first reordered by L1 importance so narrow blocks keep the important filters),
  "full" trains the full network only. Each step trains one random sub-network
  (--sandwich: the largest, the smallest and two random ones). Every stage has its
  epochs and peak learning rate (cosine to 0). A fraction of the training images
  (--val-fraction) is held out: after every epoch the largest and smallest
  sub-networks are measured on it, each after recalibrating its BatchNorm
  statistics on --calib-images training images; the search uses the same split.
  Writes DIR/nas_config.json, DIR/supernet.safetensors (PyTorch names, those of
  resnet50), DIR/ps_state.safetensors and DIR/ps_history.json after every epoch;
  --resume continues an interrupted run exactly.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "base", Usage: "trained resnet50 run `DIR` (or its model.safetensors)", Required: true},
			&cli.StringFlag{Name: "out", Usage: "super-network run `DIR`", Required: true},
			&cli.StringFlag{Name: "data", Usage: "dataset (default: the base run's)"},
			&cli.IntFlag{Name: "subset", Usage: "use the first `N` training images"},
			&cli.IntFlag{Name: "per-class", Usage: "use `N` random training images per class"},
			&cli.Float64Flag{Name: "val-fraction", Value: 0.1, Usage: "held-out fraction of the training images (validation and search)"},
			&cli.IntFlag{Name: "val-limit", Usage: "use at most `N` held-out images"},
			&cli.StringFlag{Name: "stages", Value: "depth:2:0.01,width:2:0.005", Usage: "comma-separated `NAME:EPOCHS:LR` with NAME depth, width or full"},
			&cli.BoolFlag{Name: "sandwich", Usage: "train the largest, smallest and two random sub-networks per step"},
			&cli.StringFlag{Name: "min-depth", Value: "1,2,4,1", Usage: "fewest blocks kept per stage"},
			&cli.StringFlag{Name: "width-choices", Value: "1,0.8,0.6", Usage: "inner-width multipliers (the first must be 1)"},
			&cli.IntFlag{Name: "divisor", Value: 8, Usage: "inner widths are multiples of it"},
			&cli.IntFlag{Name: "batch", Value: 64},
			&cli.Float64Flag{Name: "momentum", Value: 0.9},
			&cli.Float64Flag{Name: "weight-decay", Value: 5e-4},
			&cli.StringFlag{Name: "augment", Usage: "crop and/or flip, comma-separated"},
			&cli.IntFlag{Name: "calib-images", Value: 500, Usage: "training images for BatchNorm recalibration"},
			&cli.Uint64Flag{Name: "seed", Value: 1},
			&cli.BoolFlag{Name: "resume", Usage: "continue the unfinished run in --out"},
			deviceFlag(), threadsFlag(), workersFlag(),
		},
		Action: nasAction(func(ctx context.Context, c *cli.Context, workers int) error {
			space, err := nasSpaceFlags(c)
			if err != nil {
				return err
			}
			stages, err := nasParseStages(c.String("stages"))
			if err != nil {
				return err
			}
			var aug []string
			for _, a := range strings.Split(c.String("augment"), ",") {
				if a = strings.TrimSpace(a); a != "" && a != "none" {
					aug = append(aug, a)
				}
			}
			cfg := nas.PSConfig{Base: c.String("base"), Data: c.String("data"), Subset: c.Int("subset"), PerClass: c.Int("per-class"),
				ValFraction: c.Float64("val-fraction"), ValLimit: c.Int("val-limit"), Space: space, Stages: stages,
				Sandwich: c.Bool("sandwich"), Batch: c.Int("batch"), Momentum: c.Float64("momentum"),
				WeightDecay: c.Float64("weight-decay"), Augment: aug, CalibImages: c.Int("calib-images"), Seed: c.Uint64("seed"),
				Device: c.String("device"), Workers: workers, Threads: c.Int("threads")}
			hist, err := nas.Train(ctx, cfg, c.String("out"), nas.TrainOptions{Resume: c.Bool("resume")})
			if err != nil {
				return err
			}
			if len(hist) > 0 {
				h := hist[len(hist)-1]
				logrus.WithFields(logrus.Fields{"out": c.String("out"), "max_val_error": fmt.Sprintf("%.4f", h.MaxError),
					"min_val_error": fmt.Sprintf("%.4f", h.MinError)}).Info("nas train: done")
			}
			return nil
		}),
	}
}

// nasSpaceFlags reads the search space of nas train.
func nasSpaceFlags(c *cli.Context) (nas.Space, error) {
	s := nas.ResNet50Space()
	md, err := nasInts(c.String("min-depth"))
	if err != nil {
		return s, fmt.Errorf("--min-depth: %w", err)
	}
	s.MinDepth = md
	s.WidthChoices = nil
	for _, f := range strings.Split(c.String("width-choices"), ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return s, fmt.Errorf("--width-choices: %q is not a number", f)
		}
		s.WidthChoices = append(s.WidthChoices, v)
	}
	s.Divisor = c.Int("divisor")
	if err := s.Validate(); err != nil {
		return s, err
	}
	return s, nil
}

func nasInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a list of integers", s)
		}
		out = append(out, v)
	}
	return out, nil
}

// nasParseStages parses "depth:2:0.01,width:2:0.005".
func nasParseStages(s string) ([]nas.Stage, error) {
	var out []nas.Stage
	for _, part := range strings.Split(s, ",") {
		f := strings.Split(strings.TrimSpace(part), ":")
		if len(f) != 3 {
			return nil, fmt.Errorf("--stages: %q is not NAME:EPOCHS:LR", part)
		}
		st := nas.Stage{Name: f[0]}
		switch f[0] {
		case "depth":
			st.Depth = true
		case "width":
			st.Depth, st.Width = true, true
		case "full":
		default:
			return nil, fmt.Errorf("--stages: unknown stage %q (want depth, width or full)", f[0])
		}
		var err1, err2 error
		st.Epochs, err1 = strconv.Atoi(f[1])
		st.LR, err2 = strconv.ParseFloat(f[2], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("--stages: %q is not NAME:EPOCHS:LR", part)
		}
		out = append(out, st)
	}
	return out, nil
}

func nasSearchCmd() *cli.Command {
	return &cli.Command{
		Name:  "search",
		Usage: "NSGA-II search of the super-network: validation error against MACs, Pareto front",
		Description: `divres nas search --supernet DIR --out DIR [--population 40] [--generations 10]
  runs NSGA-II (SBX crossover and polynomial mutation on the integer genome, rounded;
  duplicate sub-networks removed, each evaluated once) with two objectives: the
  validation error on the super-network run's held-out images, measured after
  recalibrating BatchNorm for the sub-network, and the MACs of one forward pass,
  counted analytically. The full ResNet50 and the smallest sub-network seed the
  first population. Writes OUT/search.json (every evaluated sub-network, the Pareto
  front, the full network's point, the front's hypervolume), OUT/pareto.csv,
  OUT/candidates.csv and the figure OUT/pareto.png (the front highlighted, the
  full ResNet50 marked).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "supernet", Usage: "super-network run `DIR` (from nas train)", Required: true},
			&cli.StringFlag{Name: "out", Usage: "output `DIR`", Required: true},
			&cli.IntFlag{Name: "population", Value: 40},
			&cli.IntFlag{Name: "generations", Value: 10},
			&cli.Int64Flag{Name: "seed", Value: 1},
			&cli.IntFlag{Name: "calib-images", Usage: "BatchNorm recalibration images (default: the run's)"},
			&cli.IntFlag{Name: "val-limit", Usage: "evaluate on at most `N` held-out images"},
			&cli.StringFlag{Name: "plot", Value: "pareto.png", Usage: "figure `FILE` in --out (png, svg or pdf; \"\" for none)"},
			&cli.IntFlag{Name: "batch", Value: 128},
			deviceFlag(), threadsFlag(), workersFlag(),
		},
		Action: nasAction(func(ctx context.Context, c *cli.Context, workers int) error {
			out := c.String("out")
			r, err := nas.Search(ctx, c.String("supernet"), nas.SearchConfig{Population: c.Int("population"),
				Generations: c.Int("generations"), Seed: c.Int64("seed"), CalibImages: c.Int("calib-images"),
				ValLimit: c.Int("val-limit"), Batch: c.Int("batch"), Workers: workers, Device: c.String("device")}, out, nil)
			if err != nil {
				return err
			}
			if p := c.String("plot"); p != "" {
				pts, err := plots.ReadParetoPoints(out)
				if err != nil {
					return err
				}
				if err := plots.ParetoFront(pts, "", filepath.Join(out, p)); err != nil {
					return err
				}
			}
			for _, p := range r.Pareto {
				fmt.Printf("%-32s  val error %.4f  %8.2f MMACs\n", p.Key, p.Error, float64(p.MACs)/1e6)
			}
			return nil
		}),
	}
}

func nasExtractCmd() *cli.Command {
	return &cli.Command{
		Name:  "extract",
		Usage: "turn one sub-network into a standalone model run (eval, predict, attrib, ensemble eval accept it)",
		Description: `divres nas extract --supernet DIR (--genome KEY | --search DIR --pareto-index I) --out DIR
  recalibrates BatchNorm for the genome, copies the blocks and channels it keeps and
  writes OUT/model.safetensors (PyTorch state_dict names of resnet50 for the kept
  blocks; the architecture is the metadata's arch, e.g.
  resnet50_sub-64.64_128.104.128_…, which the nets registry builds) and
  OUT/genome.json (genome, inner widths, MACs, parameters, validation error).
  --genome takes a key (see divres nas --help), "full" or "min"; --pareto-index
  picks the I-th member of a search's front (0: the fewest MACs).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "supernet", Usage: "super-network run `DIR`", Required: true},
			&cli.StringFlag{Name: "genome", Usage: "genome `KEY`, full or min"},
			&cli.StringFlag{Name: "search", Usage: "search `DIR` (with --pareto-index)"},
			&cli.IntFlag{Name: "pareto-index", Value: -1, Usage: "index in the search's Pareto front"},
			&cli.StringFlag{Name: "out", Usage: "model run `DIR`", Required: true},
			&cli.IntFlag{Name: "calib-images", Usage: "BatchNorm recalibration images (default: the run's)"},
			&cli.IntFlag{Name: "batch", Value: 128},
			deviceFlag(), threadsFlag(), workersFlag(),
		},
		Action: nasAction(func(ctx context.Context, c *cli.Context, workers int) error {
			g, err := nasGenomeFlags(c)
			if err != nil {
				return err
			}
			info, err := nas.Extract(ctx, c.String("supernet"), g, c.String("out"), nas.ExtractOptions{CalibImages: c.Int("calib-images"),
				Batch: c.Int("batch"), Workers: workers, Device: c.String("device")})
			if err != nil {
				return err
			}
			logrus.WithFields(logrus.Fields{"genome": info.Key, "arch": info.Arch, "macs": info.MACs, "params": info.Params,
				"val_error": fmt.Sprintf("%.4f", info.ValError), "out": c.String("out")}).Info("nas extract: done")
			return nil
		}),
	}
}

// nasGenomeFlags resolves --genome or --search/--pareto-index.
func nasGenomeFlags(c *cli.Context) (nas.Genome, error) {
	psc, err := nas.ReadPSConfig(c.String("supernet"))
	if err != nil {
		return nas.Genome{}, err
	}
	sp := psc.Space
	switch key := c.String("genome"); {
	case key != "" && c.IsSet("search"):
		return nas.Genome{}, fmt.Errorf("give --genome or --search with --pareto-index, not both")
	case key == "full":
		return sp.Max(), nil
	case key == "min":
		return sp.Min(), nil
	case key != "":
		return sp.ParseGenome(key)
	case c.IsSet("search"):
		r, err := nasReadSearch(c.String("search"), psc.Space)
		if err != nil {
			return nas.Genome{}, err
		}
		i := c.Int("pareto-index")
		if i < 0 || i >= len(r.Pareto) {
			return nas.Genome{}, fmt.Errorf("--pareto-index %d: the front has %d members (0…%d)", i, len(r.Pareto), len(r.Pareto)-1)
		}
		return r.Pareto[i].Genome, nil
	}
	return nas.Genome{}, fmt.Errorf("give --genome KEY (or full, min) or --search DIR with --pareto-index I")
}

// nasReadSearch reads a search (a directory or its search.json) and checks it
// against the super-network's space: candidates and a front, every genome in
// the space and matching its key, errors in [0, 1]. Errors name the file.
func nasReadSearch(path string, sp nas.Space) (*nas.SearchResult, error) {
	r, err := nas.ReadSearch(path)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, nas.SearchFile)
	}
	if len(r.Candidates) == 0 || len(r.Pareto) == 0 {
		return nil, fmt.Errorf("%s: %d candidates and %d on the Pareto front; want some of each", path, len(r.Candidates), len(r.Pareto))
	}
	for _, list := range [][]nas.Candidate{r.Candidates, r.Pareto} {
		for _, cd := range list {
			if err := sp.Check(cd.Genome); err != nil {
				return nil, fmt.Errorf("%s: candidate %q: %w", path, cd.Key, err)
			}
			if k := cd.Genome.Key(); k != cd.Key {
				return nil, fmt.Errorf("%s: candidate %q has the genome %s", path, cd.Key, k)
			}
			if !(cd.Error >= 0 && cd.Error <= 1) {
				return nil, fmt.Errorf("%s: candidate %q has validation error %v outside [0, 1]", path, cd.Key, cd.Error)
			}
		}
	}
	return r, nil
}

func nasEnsembleCmd() *cli.Command {
	flags := append(ensPoolFlags(true),
		&cli.StringFlag{Name: "supernet", Usage: "super-network run `DIR`", Required: true},
		&cli.StringFlag{Name: "search", Usage: "search `DIR` (from nas search)", Required: true},
		&cli.IntFlag{Name: "k", Value: 3, Usage: "members"},
		&cli.StringFlag{Name: "method", Value: "accuracy", Usage: "accuracy, diversity or attribution"},
		&cli.StringFlag{Name: "metric", Value: "disagreement", Usage: "diversity: disagreement, js_divergence or kl_divergence"},
		&cli.Float64Flag{Name: "floor", Usage: "least validation accuracy of a member (default: the best candidate's − 0.05)"},
		&cli.BoolFlag{Name: "all", Usage: "choose among every evaluated sub-network, not only the Pareto front"},
		&cli.IntFlag{Name: "attrib-images", Value: 64, Usage: "attribution: held-out images whose saliency maps are compared"},
		&cli.IntFlag{Name: "calib-images", Usage: "BatchNorm recalibration images (default: the run's)"},
		&cli.StringFlag{Name: "name", Usage: "ensemble name in the result (default: nas_<method>_k<K>)"},
		&cli.StringFlag{Name: "out", Usage: "output `DIR`", Required: true},
		// Set internally for the evaluation (see ensemble eval).
		&cli.StringFlag{Name: "members", Hidden: true},
		&cli.StringFlag{Name: "weights", Hidden: true},
	)
	return &cli.Command{
		Name:  "ensemble",
		Usage: "choose K sub-networks of a search as an ensemble, extract them and evaluate the ensemble",
		Description: `divres nas ensemble --supernet DIR --search DIR --k 3 --method accuracy|diversity|attribution --out DIR
  [--corruptions generate|DIR --test-subset N --baseline EVAL.json]
  picks K members among the search's Pareto front (--all: every evaluated
  sub-network) whose validation accuracy reaches --floor: by accuracy (the K best),
  by prediction diversity (the K with the largest mean pairwise --metric on the
  held-out images, diversity package) or by attribution diversity (the largest mean
  pairwise 1 − cosine of saliency maps). Each candidate is measured after BatchNorm
  recalibration. Writes OUT/selection.json, the members as standalone runs in
  OUT/members/<genome>/, and evaluates the ensemble like divres ensemble eval
  (mean of softmax): OUT/eval/eval.json and .csv, and each member's evaluation in
  OUT/eval/members/.`,
		Flags: flags,
		Action: nasAction(func(ctx context.Context, c *cli.Context, workers int) error {
			psc, err := nas.ReadPSConfig(c.String("supernet"))
			if err != nil {
				return err
			}
			sr, err := nasReadSearch(c.String("search"), psc.Space)
			if err != nil {
				return err
			}
			out := c.String("out")
			sel, err := nas.SelectEnsemble(ctx, c.String("supernet"), sr, nas.EnsembleConfig{K: c.Int("k"), Method: c.String("method"),
				Metric: c.String("metric"), Floor: c.Float64("floor"), All: c.Bool("all"), AttribImages: c.Int("attrib-images"),
				CalibImages: c.Int("calib-images"), Batch: c.Int("batch"), Workers: workers, Device: c.String("device")}, out)
			if err != nil {
				return err
			}
			keys := make([]string, len(sel.Members))
			for i, m := range sel.Members {
				keys[i] = m.Key
			}
			logrus.WithFields(logrus.Fields{"members": strings.Join(keys, ","), "diversity": fmt.Sprintf("%.4f", sel.Diversity),
				"val_error": fmt.Sprintf("%.4f", sel.ValError)}).Info("nas ensemble: selected")
			name := c.String("name")
			if name == "" {
				name = fmt.Sprintf("nas_%s_k%d", sel.Config.Method, len(sel.Members))
			}
			for flag, v := range map[string]string{"members": strings.Join(sel.MemberDirs, ","), "out": filepath.Join(out, "eval"), "name": name} {
				if err := c.Set(flag, v); err != nil {
					return err
				}
			}
			return runEnsembleEval(c)
		}),
	}
}

// nasAction wraps the action of a nas subcommand: it applies the libtorch flags,
// reads --workers and runs run with a context that an interrupt cancels.
func nasAction(run func(ctx context.Context, c *cli.Context, workers int) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		if _, err := torchFlags(c); err != nil {
			return err
		}
		workers, err := workersFlagValue(c)
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		return run(ctx, c, workers)
	}
}
