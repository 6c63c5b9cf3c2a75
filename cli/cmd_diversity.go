package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/diversity"
	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/internal/npyfile"
)

// diversityMembers runs `divres diversity --members …` (set by the file that
// implements it); nil means that mode is not available in this build.
var diversityMembers func(c *cli.Context) error

func init() {
	addCommand(&cli.Command{
		Name:  "diversity",
		Usage: "diversity metrics of ensemble members, from run directories (--members) or arrays (--probs)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "members", Usage: "member run `DIR`s, comma-separated"},
			&cli.StringFlag{Name: "metrics", Value: "all", Usage: "\"all\" or a comma-separated `LIST` of metric names"},
			&cli.StringFlag{Name: "layer", Usage: "layer `NAME` whose activations CKA compares (default: penultimate features)"},
			&cli.StringFlag{Name: "attrib-method", Usage: "attribution `METHOD` for attribution diversity (ig, saliency, …)"},
			&cli.StringFlag{Name: "probs", Usage: "softmax outputs `P.npy`, shape (M, N, C), float32 or float64"},
			&cli.StringFlag{Name: "labels", Usage: "labels `L.npy`, shape (N,), integers"},
			&cli.StringFlag{Name: "features", Usage: "features `F.npy`, shape (M, N, D), float32 or float64"},
			&cli.StringFlag{Name: "attributions", Usage: "attribution maps `A.npy`, shape (M, N, …), float32 or float64"},
			&cli.StringFlag{Name: "similarity", Value: "cosine", Usage: "attribution similarity: cosine or spearman"},
			&cli.StringFlag{Name: "rbf-thresholds", Value: "0.5,1", Usage: "RBF CKA bandwidth thresholds, comma-separated"},
			&cli.IntFlag{Name: "rbf-batch", Value: 1000, Usage: "samples per RBF CKA minibatch (N×N Gram matrices are this size at most)"},
			&cli.StringFlag{Name: "out", Usage: "output `DIR` (writes diversity.json)", Required: true},
		},
		Action: func(c *cli.Context) error {
			if c.IsSet("members") {
				if c.IsSet("probs") {
					return fmt.Errorf("diversity: give --members or --probs, not both")
				}
				if diversityMembers == nil {
					return fmt.Errorf("diversity: --members is not available in this build")
				}
				return diversityMembers(c)
			}
			if !c.IsSet("probs") || !c.IsSet("labels") {
				return fmt.Errorf("diversity: give --members DIR[,DIR…], or --probs P.npy with --labels L.npy")
			}
			return diversityArrays(c)
		},
	})
}

// diversityMetricsFlag parses --metrics ("all" gives nil: every available metric).
func diversityMetricsFlag(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func diversityArrays(c *cli.Context) error {
	probs, ps, err := readFloatNPY(c.String("probs"))
	if err != nil {
		return fmt.Errorf("diversity: %w", err)
	}
	if len(ps) != 3 {
		return fmt.Errorf("diversity: %s has shape %v, want (M, N, C)", c.String("probs"), ps)
	}
	in := diversity.Inputs{M: ps[0], N: ps[1], C: ps[2], Probs: probs}
	lf, err := npyfile.Open(c.String("labels"))
	if err != nil {
		return fmt.Errorf("diversity: labels: %w", err)
	}
	defer lf.Close()
	if len(lf.Shape) != 1 {
		return fmt.Errorf("diversity: %s has shape %v, want (N,) with N = %d", c.String("labels"), lf.Shape, in.N)
	}
	if in.Labels, err = lf.ReadInts(0, lf.Elems()); err != nil {
		return fmt.Errorf("diversity: %w", err)
	}
	if len(in.Labels) != in.N {
		return fmt.Errorf("diversity: %s has %d labels, want N = %d (the second axis of %s)", c.String("labels"), len(in.Labels), in.N, c.String("probs"))
	}
	if p := c.String("features"); p != "" {
		f, fs, err := readFloatNPY(p)
		if err != nil {
			return fmt.Errorf("diversity: %w", err)
		}
		if len(fs) != 3 || fs[0] != in.M || fs[1] != in.N {
			return fmt.Errorf("diversity: %s has shape %v, want (%d, %d, D) to match the probabilities", p, fs, in.M, in.N)
		}
		in.Features, in.D = f, fs[2]
	}
	if p := c.String("attributions"); p != "" {
		a, as, err := readFloatNPY(p)
		if err != nil {
			return fmt.Errorf("diversity: %w", err)
		}
		if len(as) < 3 || as[0] != in.M || as[1] != in.N {
			return fmt.Errorf("diversity: %s has shape %v, want (%d, %d, …) to match the probabilities", p, as, in.M, in.N)
		}
		in.Attributions, in.AttrSize = a, 1
		for _, d := range as[2:] {
			in.AttrSize *= d
		}
	}
	o := diversity.Options{Metrics: diversityMetricsFlag(c.String("metrics")), RBFBatch: c.Int("rbf-batch")}
	switch s := c.String("similarity"); s {
	case "cosine", "spearman":
		o.AttributionSimilarity = s
	default:
		return fmt.Errorf("diversity: --similarity %q: want cosine or spearman", s)
	}
	for _, t := range strings.Split(c.String("rbf-thresholds"), ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil || !(v > 0) {
			return fmt.Errorf("diversity: --rbf-thresholds: %q is not a positive number", t)
		}
		o.RBFThresholds = append(o.RBFThresholds, v)
	}
	rep, err := diversity.Compute(in, o)
	if err != nil {
		return fmt.Errorf("diversity: %w", err)
	}
	return writeDiversityReport(c.String("out"), rep)
}

// writeDiversityReport writes rep to dir/diversity.json atomically.
func writeDiversityReport(dir string, rep *diversity.Report) error {
	b, err := json.MarshalIndent(rep, "", " ")
	if err != nil {
		return fmt.Errorf("diversity: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("diversity: %w", err)
	}
	path := filepath.Join(dir, "diversity.json")
	if err := atomicfile.WriteFile(path, append(b, '\n')); err != nil {
		return fmt.Errorf("diversity: write %s: %w", path, err)
	}
	logrus.WithField("path", path).Info("diversity written")
	return nil
}

// readFloatNPY reads a float32 or float64 .npy array as float32 with its shape.
func readFloatNPY(path string) ([]float32, []int, error) {
	f, err := npyfile.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	v, err := f.ReadFloat32s(0, f.Elems())
	if err != nil {
		return nil, nil, err
	}
	bad := 0
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			bad++
		}
	}
	if bad > 0 {
		return nil, nil, fmt.Errorf("%s holds %d non-finite values (NaN or Inf)", path, bad)
	}
	return v, f.Shape, nil
}
