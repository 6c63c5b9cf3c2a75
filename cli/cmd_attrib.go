package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/attrib"
	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/internal/npyfile"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

func init() {
	addCommand(&cli.Command{
		Name:  "attrib",
		Usage: "gradient attributions of a model for a float32 NCHW .npy array, written as .npy (and a PNG grid)",
		UsageText: "divres attrib (--arch NAME --style cifar|imagenet --classes N [--width W] --weights F.safetensors | --model RUN_DIR)\n" +
			"   --in X.npy [--targets T.npy] --method saliency|saliency_signed|input_x_gradient|ig|smoothgrad|smoothgrad_sq|vargrad|gradcam|gradient_shap\n" +
			"   [--steps N] [--ig-method gausslegendre|riemann_trapezoid|riemann_left|riemann_right|riemann_middle]\n" +
			"   [--baseline zeros|blur|uniform|FILE.npy] [--nt-samples N --stdev S] [--layer NAME] [--upsample nearest|bilinear]\n" +
			"   [--internal-batch N] [--seed N] --out A.npy [--png FILE]",
		Description: `Writes float32 maps of the input's shape (Grad-CAM: (N, 1, h, w) at the layer's
resolution unless --upsample is given). Without --targets the predicted class is
attributed. With --arch/--weights the input goes into the model as it is (as for
predict); with --model the input holds pixels in [0, 1] and the run's
normalisation is applied inside the model, so the maps are with respect to the
pixels. The noise tunnel methods (smoothgrad, smoothgrad_sq, vargrad) average
--nt-method maps (saliency by default) over --nt-samples noisy copies;
gradient_shap draws its baselines from --baseline (a FILE.npy of shape (B, C, H, W)
is the distribution) with --nt-samples samples (default 5) and --stdev noise
(default 0).`,
		Flags: append(modelFlags(),
			&cli.StringFlag{Name: "in", Required: true, Usage: "input images: float32 .npy of shape (N, C, H, W)"},
			&cli.StringFlag{Name: "targets", Usage: "classes to attribute: int64 .npy of shape (N,) (default: the predicted class)"},
			&cli.StringFlag{Name: "method", Value: "saliency", Usage: "attribution method"},
			&cli.IntFlag{Name: "steps", Value: 50, Usage: "ig: path points"},
			&cli.StringFlag{Name: "ig-method", Value: "gausslegendre", Usage: "ig: quadrature"},
			&cli.StringFlag{Name: "baseline", Value: "zeros", Usage: "ig, gradient_shap: zeros, blur, uniform or a float32 FILE.npy"},
			&cli.IntFlag{Name: "nt-samples", Value: 16, Usage: "noise tunnel: noisy copies per input (gradient_shap: samples, default 5)"},
			&cli.Float64Flag{Name: "stdev", Value: 0.15, Usage: "noise tunnel: noise standard deviation (gradient_shap: default 0)"},
			&cli.StringFlag{Name: "nt-method", Value: "saliency", Usage: "noise tunnel: saliency, saliency_signed, input_x_gradient or ig"},
			&cli.StringFlag{Name: "layer", Usage: "gradcam: layer name (state_dict prefix, e.g. layer4 or features.7)"},
			&cli.BoolFlag{Name: "relu", Usage: "gradcam: keep only positive evidence"},
			&cli.StringFlag{Name: "upsample", Usage: "gradcam: nearest or bilinear upsampling to the input size"},
			&cli.IntFlag{Name: "internal-batch", Value: attrib.DefaultInternalBatch, Usage: "rows per forward/backward pass (bounds memory)"},
			&cli.IntFlag{Name: "batch", Value: 64, Usage: "inputs read and attributed at a time"},
			&cli.Uint64Flag{Name: "seed", Usage: "seed of the noise and random baselines"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "output maps: float32 .npy"},
			&cli.BoolFlag{Name: "allow-nonfinite", Usage: "attribute inputs holding NaN or Inf values instead of refusing them"},
			&cli.StringFlag{Name: "delta", Usage: "ig: also write the convergence deltas: float32 .npy (N,)"},
			&cli.StringFlag{Name: "png", Usage: "draw the first images with their maps overlaid into this PNG `FILE`"},
			deviceFlag(),
			threadsFlag(),
		),
		Action: runAttrib,
	})
}

// attribJob is the validated command line.
type attribJob struct {
	model   attrib.Model
	opts    attrib.Options
	classes int64
	targets []int64
	in      *npyInput
	batch   int64
}

func runAttrib(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("attrib: unexpected argument %q", c.Args().First())
	}
	dev, err := torchFlags(c)
	if err != nil {
		return err
	}
	method, err := attrib.ParseMethod(c.String("method"))
	if err != nil {
		return fmt.Errorf("--method: %w", err)
	}
	in, err := openNpyInput(c.String("in"))
	if err != nil {
		return err
	}
	defer in.Close()
	n, ch, h, w := in.shape[0], in.shape[1], in.shape[2], in.shape[3]
	if !c.Bool("allow-nonfinite") {
		bad, err := in.nonFiniteImages()
		if err != nil {
			return err
		}
		if bad > 0 {
			return fmt.Errorf("%s: %d of %d images hold NaN or Inf values (--allow-nonfinite attributes them anyway)", c.String("in"), bad, n)
		}
	}
	job := attribJob{in: in, batch: int64(c.Int("batch"))}
	if job.batch <= 0 {
		return fmt.Errorf("--batch %d: must be positive", job.batch)
	}
	net, err := attribModel(c, &job, dev, ch, h, w)
	if err != nil {
		return err
	}
	defer net.Close()
	if job.opts, err = attribOptions(c, method, ch, h, w, dev); err != nil {
		return err
	}
	if method == attrib.GradCAM && !job.model.Hooks.Has(job.opts.Layer) {
		if job.opts.Layer == "" {
			return fmt.Errorf("--method gradcam needs --layer (a state_dict prefix such as layer4)")
		}
		_, err := job.model.Hooks.On(job.opts.Layer, func(y *torch.Tensor) *torch.Tensor { return y })
		return fmt.Errorf("--layer: %w", err)
	}
	if p := c.String("targets"); p != "" {
		if job.targets, err = attribReadTargets(p, n, job.classes); err != nil {
			return err
		}
	}
	maps, mapShape, delta, err := job.run(c.String("in"))
	if err != nil {
		return err
	}
	out := c.String("out")
	if err := atomicfile.Write(out, func(wr io.Writer) error { return npyfile.WriteFloat32(wr, mapShape, maps) }); err != nil {
		return err
	}
	if p := c.String("delta"); p != "" {
		if method != attrib.IG {
			return fmt.Errorf("--delta: only --method ig has a convergence delta")
		}
		if err := atomicfile.Write(p, func(wr io.Writer) error { return npyfile.WriteFloat32(wr, []int{int(n)}, delta) }); err != nil {
			return err
		}
	}
	if p := c.String("png"); p != "" {
		k := min(n, 16)
		img, err := in.attribHead(k)
		if err != nil {
			return err
		}
		per := mapShape[1] * mapShape[2] * mapShape[3]
		g := attrib.Grid{Images: img, N: int(k), C: int(ch), H: int(h), W: int(w),
			Maps: maps[:int(k)*per], MC: mapShape[1], MH: mapShape[2], MW: mapShape[3]}
		if err := attrib.WriteGridPNG(p, g); err != nil {
			return fmt.Errorf("--png: %w", err)
		}
	}
	logrus.Infof("attrib: %s of %d images → %s %v", method, n, out, mapShape)
	return nil
}

// attribModel builds the model from --model or --arch/--weights (the model flags
// of predict). A run's model takes images of its training size, and its
// normalisation goes inside the model, so that the maps are with respect to the
// pixels.
func attribModel(c *cli.Context, job *attribJob, dev torch.Device, ch, h, w int64) (*nets.Net, error) {
	choice, err := modelFlagsValue(c)
	if err != nil {
		return nil, err
	}
	net, meta, err := choice.load(dev, ch, inputCheck(c.String("in"), ch, h, w))
	if err != nil {
		return nil, err
	}
	job.model, job.classes = attrib.FromNet(net), int64(meta.Classes)
	if choice.Checkpoint == "" {
		return net, nil
	}
	if meta.InputSize > 0 && (h != int64(meta.InputSize) || w != int64(meta.InputSize)) {
		net.Close()
		return nil, fmt.Errorf("%s: images are %d×%d, the model takes %d×%d", c.String("in"), h, w, meta.InputSize, meta.InputSize)
	}
	if job.model, err = attrib.Normalized(job.model, meta.Mean, meta.Std); err != nil {
		net.Close()
		return nil, err
	}
	return net, nil
}

// attribOptions turns the flags into attrib.Options.
func attribOptions(c *cli.Context, method attrib.Method, ch, h, w int64, dev torch.Device) (attrib.Options, error) {
	o := attrib.Options{Method: method, Seed: c.Uint64("seed"), Layer: c.String("layer"), ReLU: c.Bool("relu"),
		Upsample: strings.ToLower(c.String("upsample"))}
	q, err := attrib.ParseQuadrature(c.String("ig-method"))
	if err != nil {
		return o, fmt.Errorf("--ig-method: %w", err)
	}
	if c.Int("steps") < 1 {
		return o, fmt.Errorf("--steps %d: must be positive", c.Int("steps"))
	}
	if c.Int("internal-batch") < 1 {
		return o, fmt.Errorf("--internal-batch %d: must be positive", c.Int("internal-batch"))
	}
	o.IG = attrib.IGOptions{Steps: c.Int("steps"), Method: q, InternalBatch: c.Int("internal-batch")}
	switch b := c.String("baseline"); strings.ToLower(b) {
	case "zeros", "":
		o.IG.Baseline = attrib.Baseline{Kind: attrib.BaselineZeros}
	case "blur":
		o.IG.Baseline = attrib.Baseline{Kind: attrib.BaselineBlur}
	case "uniform":
		o.IG.Baseline = attrib.Baseline{Kind: attrib.BaselineUniform, Seed: c.Uint64("seed")}
	default:
		t, err := attribReadBaseline(b, ch, h, w, dev)
		if err != nil {
			return o, fmt.Errorf("--baseline: %w", err)
		}
		o.IG.Baseline = attrib.Baseline{Kind: attrib.BaselineTensor, Tensor: t}
	}
	if c.Int("nt-samples") < 1 {
		return o, fmt.Errorf("--nt-samples %d: must be positive", c.Int("nt-samples"))
	}
	if c.Float64("stdev") < 0 {
		return o, fmt.Errorf("--stdev %g: must not be negative", c.Float64("stdev"))
	}
	o.NTSamples, o.Stdev = c.Int("nt-samples"), c.Float64("stdev")
	if o.Stdev == 0 && (method == attrib.SmoothGrad || method == attrib.SmoothGradSq || method == attrib.VarGrad) {
		return o, fmt.Errorf("--stdev 0: the noise tunnel needs noise")
	}
	if o.Inner, err = attrib.ParseMethod(c.String("nt-method")); err != nil {
		return o, fmt.Errorf("--nt-method: %w", err)
	}
	if method == attrib.GradientSHAP {
		o.SHAP = attrib.SHAPOptions{Samples: 5, Seed: c.Uint64("seed")}
		if c.IsSet("nt-samples") {
			o.SHAP.Samples = c.Int("nt-samples")
		}
		if c.IsSet("stdev") {
			o.SHAP.Stdev = c.Float64("stdev")
		}
	}
	switch o.Upsample {
	case "", "nearest", "bilinear":
	default:
		return o, fmt.Errorf("--upsample %q: want nearest or bilinear", o.Upsample)
	}
	return o, nil
}

// attribReadBaseline reads a float32 (C, H, W), (1, C, H, W) or (B, C, H, W) baseline.
func attribReadBaseline(path string, ch, h, w int64, dev torch.Device) (*torch.Tensor, error) {
	f, err := npyfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Kind != 'f' || f.Size != 4 {
		return nil, fmt.Errorf("read %s: dtype %s, want float32 (<f4)", path, f.Descr)
	}
	sh := make([]int64, len(f.Shape))
	for i, d := range f.Shape {
		sh[i] = int64(d)
	}
	if len(sh) == 3 {
		sh = append([]int64{1}, sh...)
	}
	if len(sh) != 4 || sh[0] < 1 || sh[1] != ch || sh[2] != h || sh[3] != w {
		return nil, fmt.Errorf("read %s: shape %v, want (C, H, W) or (B, C, H, W) with C, H, W = %d, %d, %d", path, f.Shape, ch, h, w)
	}
	v, err := f.ReadFloat32s(0, f.Elems())
	if err != nil {
		return nil, err
	}
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("read %s: the baseline holds NaN or Inf values", path)
		}
	}
	t := torch.FromSlice(nil, v, sh, dev)
	return t, t.Err()
}

// attribReadTargets reads n int64 classes, each in [0, classes).
func attribReadTargets(path string, n, classes int64) ([]int64, error) {
	f, err := npyfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Kind != 'i' || f.Size != 8 {
		return nil, fmt.Errorf("read %s: dtype %s, want int64 (<i8)", path, f.Descr)
	}
	if len(f.Shape) != 1 || int64(f.Shape[0]) != n {
		return nil, fmt.Errorf("read %s: shape %v, want (%d,): one target per input", path, f.Shape, n)
	}
	v, err := f.ReadInts(0, n)
	if err != nil {
		return nil, err
	}
	for i, t := range v {
		if t < 0 || t >= classes {
			return nil, fmt.Errorf("read %s: target %d of input %d is out of range [0, %d)", path, t, i, classes)
		}
	}
	return v, nil
}

// run attributes the inputs batch by batch and returns the maps, their shape and
// (for IG) the deltas.
func (j *attribJob) run(name string) (maps []float32, shape []int, delta []float32, err error) {
	n := j.in.shape[0]
	var bar *progressbar.ProgressBar
	if n > j.batch {
		bar = progressbar.NewOptions64(n, progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription("attrib"), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("img"), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish())
	}
	dev := j.model.Store.Device()
	bshape := append([]int64(nil), j.in.shape...)
	for done := int64(0); done < n; done += j.batch {
		b := min(j.batch, n-done)
		x, err := j.in.next(b)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("read images %d–%d: %w", done, done+b-1, err)
		}
		bshape[0] = b
		tg := attrib.PredictedClass()
		if j.targets != nil {
			tg = attrib.Labels(j.targets[done : done+b])
		}
		s := torch.NewScope()
		r, err := attrib.Attribute(s, j.model, torch.FromSlice(s, x, bshape, dev), tg, j.opts)
		var v, d []float32
		if err == nil {
			if shape == nil {
				for _, k := range r.Maps.Shape() {
					shape = append(shape, int(k))
				}
				shape[0] = int(n)
			}
			v, err = r.Maps.To(torch.CPU).Float32s()
			if err == nil && r.Delta != nil {
				d, err = r.Delta.To(torch.CPU).Float32s()
			}
		}
		s.Close()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: images %d–%d: %w", name, done, done+b-1, err)
		}
		maps = append(maps, v...)
		delta = append(delta, d...)
		if bar != nil {
			_ = bar.Add64(b)
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	return maps, shape, delta, nil
}

// attribHead reads the first k images from the start of the file.
func (in *npyInput) attribHead(k int64) ([]float32, error) {
	per := in.shape[1] * in.shape[2] * in.shape[3]
	return in.f.ReadFloat32s(0, k*per)
}
