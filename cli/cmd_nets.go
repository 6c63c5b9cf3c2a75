package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/internal/npyfile"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

func init() {
	addCommand(&cli.Command{
		Name:  "nets",
		Usage: "inspect the architectures",
		Subcommands: []*cli.Command{{
			Name: "list",
			Usage: "list the architectures: family, styles, parameters and features (width 1, 10 classes) and " +
				"multiply-accumulates at the style's default input size",
			UsageText: "divres nets list [--json] [--style cifar|imagenet] [--arch NAME] [--no-macs]",
			Flags: []cli.Flag{
				&cli.StringSliceFlag{Name: "arch", Usage: "only these architectures"},
				&cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"},
				&cli.StringFlag{Name: "style", Usage: "only this style: cifar or imagenet"},
				&cli.BoolFlag{Name: "no-macs", Usage: "skip counting multiply-accumulates (one forward pass each)"},
			},
			Action: netsList,
		}},
	})
	addCommand(&cli.Command{
		Name:  "predict",
		Usage: "run a model on a float32 NCHW .npy array and write its logits (and features) as .npy",
		UsageText: "divres predict --arch NAME --style cifar|imagenet [--width W] --classes K [--in-channels C] " +
			"--weights F.safetensors --in x.npy --out logits.npy [--features feats.npy] [--batch N] [--device cpu|cuda]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "arch", Required: true, Usage: "architecture (see divres nets list)"},
			&cli.StringFlag{Name: "style", Value: "cifar", Usage: "cifar or imagenet"},
			&cli.Float64Flag{Name: "width", Value: 1, Usage: "width multiplier the weights were trained with"},
			&cli.Int64Flag{Name: "classes", Required: true, Usage: "number of classes"},
			&cli.Int64Flag{Name: "in-channels", Usage: "input channels (default: the input array's)"},
			&cli.StringFlag{Name: "weights", Required: true, Usage: "safetensors file with PyTorch state_dict names"},
			&cli.StringFlag{Name: "in", Required: true, Usage: "input images: float32 .npy of shape (N, C, H, W)"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "output logits: float32 .npy of shape (N, classes)"},
			&cli.StringFlag{Name: "features", Usage: "also write the penultimate features: float32 .npy (N, F)"},
			&cli.IntFlag{Name: "batch", Value: 256, Usage: "images per forward pass"},
			&cli.StringFlag{Name: "device", Value: "cpu", Usage: "cpu, cuda, cuda:N or auto"},
		},
		Action: predict,
	})
}

// netsRow is one architecture and style in `divres nets list`.
type netsRow struct {
	Name     string `json:"name"`
	Family   string `json:"family"`
	Style    string `json:"style"`
	Params   int64  `json:"params"`
	Features int64  `json:"features"`
	MinSize  int64  `json:"min_size"`
	MACsSize int64  `json:"macs_input_size,omitempty"`
	MACs     int64  `json:"macs,omitempty"`
}

func netsList(c *cli.Context) error {
	var styles []nets.Style
	if s := c.String("style"); s != "" {
		st, err := nets.ParseStyle(s)
		if err != nil {
			return fmt.Errorf("--style: %w", err)
		}
		styles = []nets.Style{st}
	}
	type job struct {
		spec  *nets.Spec
		style nets.Style
	}
	names := nets.Names()
	if a := c.StringSlice("arch"); len(a) > 0 {
		names = a
	}
	var jobs []job
	for _, name := range names {
		spec, err := nets.Lookup(name)
		if err != nil {
			return err
		}
		for _, st := range spec.Styles {
			if styles == nil || st == styles[0] {
				jobs = append(jobs, job{spec, st})
			}
		}
	}
	withMACs := !c.Bool("no-macs")
	bar := progressbar.NewOptions(len(jobs), progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription("architectures"), progressbar.OptionShowCount(),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	rows := make([]netsRow, 0, len(jobs))
	for _, j := range jobs {
		r, err := describeArch(j.spec, j.style, withMACs)
		if err != nil {
			return err
		}
		rows = append(rows, r)
		_ = bar.Add(1)
	}
	_ = bar.Finish()
	w := c.App.Writer
	if c.Bool("json") {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "name\tfamily\tstyle\tparams\tfeatures\tmin size\tGMACs\tat\t")
	for _, r := range rows {
		macs, at := "-", "-"
		if r.MACs > 0 {
			macs, at = fmt.Sprintf("%.3f", float64(r.MACs)/1e9), fmt.Sprintf("%d", r.MACsSize)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t\n", r.Name, r.Family, r.Style, r.Params, r.Features, r.MinSize, macs, at)
	}
	return tw.Flush()
}

// describeArch builds one architecture at width 1 with 10 classes (uninitialised,
// then zeroed so that no denormal or NaN slows the passes down) and measures it.
func describeArch(spec *nets.Spec, st nets.Style, withMACs bool) (netsRow, error) {
	r := netsRow{Name: spec.Name, Family: spec.Family, Style: string(st), MinSize: spec.MinInput(st)}
	n, err := nets.NewUninitialized(spec.Name, nets.Config{Style: st, Classes: 10}, torch.CPU)
	if err != nil {
		return r, err
	}
	defer n.Close()
	for _, v := range n.Store.Vars() {
		if err := v.T.Zero_(); err != nil {
			return r, fmt.Errorf("%s: %w", spec.Name, err)
		}
	}
	n.Store.SetTraining(false)
	r.Params = n.Store.NumParams()
	if withMACs {
		size := st.DefaultSize()
		if r.MACs, err = n.MACs(size); err != nil {
			return r, fmt.Errorf("%s/%s: forward at %d×%d: %w", spec.Name, st, size, size, err)
		}
		r.MACsSize = size
	}
	// The feature size does not depend on the input size: measure it at the smallest.
	size := r.MinSize
	err = torch.Do(func(s *torch.Scope) error {
		_, feats := n.Forward(torch.Zeros(s, []int64{1, n.Config.InChannels, size, size}))
		r.Features = feats.Size(1)
		return feats.Err()
	}, torch.Inference())
	if err != nil {
		return r, fmt.Errorf("%s/%s: forward at %d×%d: %w", spec.Name, st, size, size, err)
	}
	return r, nil
}

// npyInput streams a float32 (N, C, H, W) .npy file batch by batch.
type npyInput struct {
	f     *npyfile.File
	shape []int64
	pos   int64 // next element
}

// openNpyInput opens a float32/float64 (N, C, H, W) array through the project's
// guarded .npy reader.
func openNpyInput(path string) (*npyInput, error) {
	f, err := npyfile.Open(path)
	if err != nil {
		return nil, err
	}
	if f.Kind != 'f' || f.Size != 4 {
		f.Close()
		return nil, fmt.Errorf("read %s: dtype %s, want float32 (<f4); convert with x.astype(np.float32)", path, f.Descr)
	}
	if len(f.Shape) != 4 {
		f.Close()
		return nil, fmt.Errorf("read %s: shape %v, want 4 dimensions (N, C, H, W)", path, f.Shape)
	}
	in := &npyInput{f: f}
	for _, d := range f.Shape {
		in.shape = append(in.shape, int64(d))
	}
	return in, nil
}

// next reads n images.
func (in *npyInput) next(n int64) ([]float32, error) {
	per := in.shape[1] * in.shape[2] * in.shape[3]
	v, err := in.f.ReadFloat32s(in.pos, in.pos+n*per)
	if err != nil {
		return nil, err
	}
	in.pos += n * per
	return v, nil
}

func (in *npyInput) Close() error { return in.f.Close() }

func predict(c *cli.Context) error {
	st, err := nets.ParseStyle(c.String("style"))
	if err != nil {
		return fmt.Errorf("--style: %w", err)
	}
	spec, err := nets.Lookup(c.String("arch"))
	if err != nil {
		return err
	}
	if !spec.Supports(st) {
		return fmt.Errorf("%s has no %s style", spec.Name, st)
	}
	dev, err := torchFlags(c)
	if err != nil {
		return err
	}
	batch := int64(c.Int("batch"))
	if batch <= 0 {
		return fmt.Errorf("--batch %d: must be positive", batch)
	}
	weights := c.String("weights")
	if _, err := os.Stat(weights); err != nil {
		return fmt.Errorf("--weights: %w", err)
	}
	in, err := openNpyInput(c.String("in"))
	if err != nil {
		return err
	}
	defer in.Close()
	n, ch, h, w := in.shape[0], in.shape[1], in.shape[2], in.shape[3]
	if n == 0 {
		return fmt.Errorf("%s: no images (shape %v)", c.String("in"), in.shape)
	}
	inCh := c.Int64("in-channels")
	if inCh == 0 {
		inCh = ch
	}
	if ch != inCh {
		return fmt.Errorf("%s: %d channels, but --in-channels is %d", c.String("in"), ch, inCh)
	}
	if m := spec.MinInput(st); h < m || w < m {
		return fmt.Errorf("%s: images are %d×%d; %s (%s style) needs at least %d×%d", c.String("in"), h, w, spec.Name, st, m, m)
	}
	cfg := nets.Config{Style: st, Width: c.Float64("width"), InChannels: inCh, Classes: c.Int64("classes")}
	net, err := nets.NewUninitialized(spec.Name, cfg, dev)
	if err != nil {
		return err
	}
	defer net.Close()
	if fs, ok := net.Model.(nets.FixedSizer); ok {
		if s := fs.FixedInputSize(); h != s || w != s {
			return fmt.Errorf("%s: images are %d×%d; %s (%s style) takes only %d×%d", c.String("in"), h, w, spec.Name, st, s, s)
		}
	}
	if _, err := net.Store.Load(weights, true); err != nil {
		return fmt.Errorf("weights for %s (%s style, width %g, %d classes, %d input channels): %w",
			spec.Name, st, cfg.Width, cfg.Classes, cfg.InChannels, err)
	}
	net.Store.SetTraining(false)
	logits, feats, err := runPredict(net, in, n, batch, dev, c.String("features") != "")
	if err != nil {
		return err
	}
	if err := writeNpy2D(c.String("out"), logits, n, cfg.Classes); err != nil {
		return err
	}
	if p := c.String("features"); p != "" {
		f := int64(0)
		if n > 0 {
			f = int64(len(feats)) / n
		}
		if err := writeNpy2D(p, feats, n, f); err != nil {
			return err
		}
	}
	logrus.Infof("predict: %d images through %s (%s style) → %s", n, spec.Name, st, c.String("out"))
	return nil
}

// runPredict evaluates the images batch by batch in inference mode and returns the
// logits and (when wanted) features, row-major.
func runPredict(net *nets.Net, in *npyInput, n, batch int64, dev torch.Device, wantFeats bool) (logits, feats []float32, err error) {
	var bar *progressbar.ProgressBar
	if n > batch {
		bar = progressbar.NewOptions64(n, progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription("predict"), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("img"), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish())
	}
	shape := append([]int64(nil), in.shape...)
	for done := int64(0); done < n; done += batch {
		b := min(batch, n-done)
		x, err := in.next(b)
		if err != nil {
			return nil, nil, fmt.Errorf("read images %d–%d: %w", done, done+b-1, err)
		}
		shape[0] = b
		s := torch.NewScope(torch.Inference())
		lg, ft := net.Forward(torch.FromSlice(s, x, shape, dev))
		l, err := lg.To(torch.CPU).Float32s()
		if err == nil && wantFeats {
			var f []float32
			if f, err = ft.Flatten(1, -1).To(torch.CPU).Float32s(); err == nil {
				feats = append(feats, f...)
			}
		}
		s.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("forward of images %d–%d: %w", done, done+b-1, err)
		}
		logits = append(logits, l...)
		if bar != nil {
			_ = bar.Add64(b)
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	return logits, feats, nil
}

// writeNpy2D writes rows×cols float32 values as an .npy file, atomically.
func writeNpy2D(path string, v []float32, rows, cols int64) error {
	if int64(len(v)) != rows*cols {
		return fmt.Errorf("write %s: %d values for %d×%d", path, len(v), rows, cols)
	}
	if rows == 0 || cols == 0 {
		return fmt.Errorf("write %s: empty %d×%d array", path, rows, cols)
	}
	return atomicfile.Write(path, func(w io.Writer) error { return npyfile.WriteFloat32(w, []int{int(rows), int(cols)}, v) })
}
