package main

import (
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/internal/atomicfile"
)

func init() {
	addCommand(&cli.Command{
		Name:  "corrupt",
		Usage: "corrupt images like CIFAR-10-C (19 corruptions × 5 severities) or draw a corruption grid",
		Description: `Set mode: divres corrupt --in images.npy --out DIR
  reads uint8 images (N,H,W,3), (N,H,W) or (N,H,W,1) and writes DIR/<corruption>.npy
  (severities stacked: (S·N,H,W[,3]), the CIFAR-10-C layout), DIR/labels.npy when
  --labels is given, and DIR/set.json. Files appear only when complete.
  --rng numpy --seed 0 --frost-dir ../shared/corrupt/frost reproduces the reference
  outputs of the original generator.

Grid mode: divres corrupt --grid in.png --out grid.png
  draws one image under every corruption (rows) and severity (columns).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "in", Usage: "input images `FILE` (.npy, uint8)"},
			&cli.StringFlag{Name: "grid", Usage: "grid mode: input image `FILE` (PNG)"},
			&cli.StringFlag{Name: "out", Usage: "output `DIR` (set mode) or PNG file (grid mode)", Required: true},
			&cli.StringFlag{Name: "corruptions", Value: "all", Usage: "comma-separated names, \"all\" (19) or \"benchmark\" (15)"},
			&cli.StringFlag{Name: "severities", Value: "1-5", Usage: "severities, e.g. 1-5, 3 or 1,3,5"},
			&cli.Uint64Flag{Name: "seed", Value: 0, Usage: "random seed"},
			&cli.StringFlag{Name: "rng", Value: "default", Usage: "random mode: default (a stream per image) or numpy (the reference's seeding)"},
			&cli.StringFlag{Name: "params", Value: "cifar", Usage: "constants: cifar (32×32) or imagenet (224×224)"},
			&cli.StringFlag{Name: "frost-dir", Usage: "`DIR` with the original frost1.png … frost5.jpg (default: procedural textures)"},
			&cli.StringFlag{Name: "labels", Usage: "labels `FILE` (.npy, N integers) to write as DIR/labels.npy"},
			workersFlag(),
		},
		Action: runCorrupt,
	})
}

func runCorrupt(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("corrupt: unexpected argument %q", c.Args().First())
	}
	cs, err := parseCorruptions(c.String("corruptions"))
	if err != nil {
		return err
	}
	params, err := corrupt.ParseParamSet(c.String("params"))
	if err != nil {
		return fmt.Errorf("--params: %w", err)
	}
	opt := &corrupt.Options{Params: params}
	frost := "procedural"
	if dir := c.String("frost-dir"); dir != "" {
		ft, err := corrupt.LoadFrostDir(dir)
		if err != nil {
			return fmt.Errorf("--frost-dir: %w", err)
		}
		opt.Frost, frost = ft, dir
	} else if usesFrost(cs) {
		opt.Frost = corrupt.ProceduralFrost(c.Uint64("seed"))
	}
	switch {
	case c.String("grid") != "" && c.String("in") != "":
		return errors.New("corrupt: give either --in (set mode) or --grid (grid mode), not both")
	case c.String("grid") != "":
		return runGrid(c.String("grid"), c.String("out"), cs, c.Uint64("seed"), opt)
	case c.String("in") == "":
		return errors.New("corrupt: --in (set mode) or --grid (grid mode) is required")
	}
	sevs, err := parseSeverities(c.String("severities"))
	if err != nil {
		return err
	}
	mode, err := corrupt.ParseRNGMode(c.String("rng"))
	if err != nil {
		return fmt.Errorf("--rng: %w", err)
	}
	workers, err := workersFlagValue(c)
	if err != nil {
		return err
	}
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	src, err := corrupt.OpenNPYImages(c.String("in"))
	if err != nil {
		return err
	}
	defer src.Close()
	var labels []int64
	if p := c.String("labels"); p != "" {
		if labels, err = corrupt.ReadLabelsNPY(p); err != nil {
			return err
		}
		if len(labels) != src.Len() {
			return fmt.Errorf("--labels: %s has %d labels for %d images", p, len(labels), src.Len())
		}
	}
	h, w, ch := src.Shape()
	names := make([]string, len(cs))
	for i, cc := range cs {
		names[i] = cc.Name
	}
	out := c.String("out")
	if st, err := os.Stat(out); err == nil && !st.IsDir() {
		return fmt.Errorf("--out %s exists and is not a directory", out)
	}
	sw, err := corrupt.CreateSet(out, names, sevs, src.Len(), h, w, ch, corrupt.SetInfo{
		Seed: c.Uint64("seed"), RNG: mode.String(), Params: params.String(), Frost: frost})
	if err != nil {
		return err
	}
	total := src.Len() * len(cs) * len(sevs)
	logrus.WithFields(logrus.Fields{"images": src.Len(), "size": fmt.Sprintf("%dx%dx%d", h, w, ch),
		"corruptions": len(cs), "severities": sevs, "rng": mode, "seed": c.Uint64("seed"),
		"params": params, "workers": workers, "frost": frost}).Info("corrupting")
	progress := newProgress("corrupt", "img", total)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	err = corrupt.Run(ctx, src, corrupt.RunConfig{
		Corruptions: cs, Severities: sevs, Seed: c.Uint64("seed"), RNG: mode,
		Workers: workers, Options: opt,
		Progress: progress.Update,
	}, sw.Write)
	progress.Finish()
	if err != nil {
		sw.Abort()
		if errors.Is(err, context.Canceled) {
			return errors.New("corrupt: interrupted; nothing was written")
		}
		return fmt.Errorf("corrupt: %w", err)
	}
	if err := sw.Commit(labels); err != nil {
		return err
	}
	el := time.Since(start)
	logrus.WithFields(logrus.Fields{"out": out, "seconds": fmt.Sprintf("%.1f", el.Seconds()),
		"images_per_s": fmt.Sprintf("%.0f", float64(total)/el.Seconds())}).Info("corruption set written")
	return nil
}

// usesFrost reports whether frost is among cs.
func usesFrost(cs []*corrupt.Corruption) bool {
	for _, c := range cs {
		if c.Name == "frost" {
			return true
		}
	}
	return false
}

// parseCorruptions resolves "all", "benchmark" or a comma-separated list, in index
// order.
func parseCorruptions(s string) ([]*corrupt.Corruption, error) {
	var out []*corrupt.Corruption
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "all", "":
		out = corrupt.All()
		if len(out) < len(corrupt.Names) {
			logrus.Warnf("only %d of the %d corruptions are available in this build", len(out), len(corrupt.Names))
		}
	case "benchmark":
		for _, c := range corrupt.All() {
			if c.Benchmark {
				out = append(out, c)
			}
		}
	default:
		seen := map[string]bool{}
		for _, name := range strings.Split(s, ",") {
			name = strings.TrimSpace(name)
			if name == "" || seen[name] {
				continue
			}
			seen[name] = true
			c, err := corrupt.Lookup(name)
			if err != nil {
				return nil, fmt.Errorf("--corruptions: %w", err)
			}
			out = append(out, c)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--corruptions: nothing selected from %q", s)
	}
	return out, nil
}

// parseSeverities parses "1-5", "3", "1,3,5" or "1-2,5" into sorted distinct values.
func parseSeverities(s string) ([]int, error) {
	set := map[int]bool{}
	bad := fmt.Errorf("--severities: %q is not a list of severities 1…5 (e.g. 1-5 or 1,3,5)", s)
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			return nil, bad
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
				return nil, bad
			}
		}
		if a < 1 || b > 5 || a > b {
			return nil, bad
		}
		for v := a; v <= b; v++ {
			set[v] = true
		}
	}
	out := make([]int, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Ints(out)
	return out, nil
}

// runGrid writes the corruption grid of one PNG image.
func runGrid(in, out string, cs []*corrupt.Corruption, seed uint64, opt *corrupt.Options) error {
	f, err := os.Open(in)
	if err != nil {
		return fmt.Errorf("--grid: %w", err)
	}
	m, err := png.Decode(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("--grid: decode %s: %w", in, err)
	}
	img := corrupt.FromImage(m)
	logrus.WithFields(logrus.Fields{"image": in, "size": fmt.Sprintf("%dx%d", img.W, img.H),
		"corruptions": len(cs), "params": opt.Params}).Info("drawing corruption grid")
	grid, err := corrupt.Grid(img, cs, corrupt.GridOptions{Seed: seed, Options: opt})
	if err != nil {
		return err
	}
	if err := atomicfile.Write(out, func(w io.Writer) error { return png.Encode(w, grid) }); err != nil {
		return err
	}
	logrus.WithField("out", out).Info("grid written")
	return nil
}
