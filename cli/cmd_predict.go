package main

import (
	"fmt"
	"io"
	"math"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/internal/npyfile"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

func init() {
	addCommand(&cli.Command{
		Name:  "predict",
		Usage: "run a model on a float32 NCHW .npy array and write its logits (and features) as .npy",
		UsageText: "divres predict (--model RUN | --arch NAME [--style cifar|imagenet] [--width W] --classes K [--in-channels C] " +
			"--weights F.safetensors) --in x.npy --out logits.npy [--features feats.npy] [--batch N] [--device cpu|cuda]",
		Description: `The input array is fed to the network as it is: normalise it the way the
  model was trained (predict applies no fitting or normalisation).`,
		Flags: append(modelFlags(),
			&cli.StringFlag{Name: "in", Required: true, Usage: "input images: float32 .npy of shape (N, C, H, W)"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "output logits: float32 .npy of shape (N, classes)"},
			&cli.StringFlag{Name: "features", Usage: "also write the penultimate features: float32 .npy (N, F)"},
			&cli.IntFlag{Name: "batch", Value: 256, Usage: "images per forward pass"},
			deviceFlag(), threadsFlag(),
		),
		Action: predict,
	})
}

// npyInput streams a float32 (N, C, H, W) .npy file batch by batch.
type npyInput struct {
	f     *npyfile.File
	shape []int64
	pos   int64 // next element
}

// openNpyInput opens a float32 (N, C, H, W) array of at least one image through
// the project's guarded .npy reader.
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
	if f.Shape[0] == 0 {
		f.Close()
		return nil, fmt.Errorf("%s: no images (shape %v)", path, f.Shape)
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

// nonFiniteImages counts the images holding a NaN or an infinite value, reading
// the file in chunks without moving the read position.
func (in *npyInput) nonFiniteImages() (int64, error) {
	per := in.shape[1] * in.shape[2] * in.shape[3]
	step := max(1, (1<<20)/max(per, 1))
	var count int64
	for i := int64(0); i < in.shape[0]; i += step {
		k := min(step, in.shape[0]-i)
		v, err := in.f.ReadFloat32s(i*per, (i+k)*per)
		if err != nil {
			return 0, err
		}
		for j := int64(0); j < k; j++ {
			for _, x := range v[j*per : (j+1)*per] {
				if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
					count++
					break
				}
			}
		}
	}
	return count, nil
}

// inputCheck is the check of modelChoice.load for the images of path (ch
// channels, h×w): the model takes that many channels and images of that size.
func inputCheck(path string, ch, h, w int64) func(*nets.Net, ensemble.Meta) error {
	return func(net *nets.Net, meta ensemble.Meta) error {
		if int64(meta.InChannels) != ch {
			return fmt.Errorf("%s: %d channels, but the model %s takes %d", path, ch, meta.Model, meta.InChannels)
		}
		spec, err := nets.Lookup(meta.Arch)
		if err != nil {
			return err
		}
		if m := spec.MinInput(nets.Style(meta.Style)); h < m || w < m {
			return fmt.Errorf("%s: images are %d×%d; %s (%s style) needs at least %d×%d", path, h, w, spec.Name, meta.Style, m, m)
		}
		if fs, ok := net.Model.(nets.FixedSizer); ok {
			if s := fs.FixedInputSize(); h != s || w != s {
				return fmt.Errorf("%s: images are %d×%d; %s (%s style) takes only %d×%d", path, h, w, spec.Name, meta.Style, s, s)
			}
		}
		return nil
	}
}

func predict(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("predict: unexpected argument %q", c.Args().First())
	}
	choice, err := modelFlagsValue(c)
	if err != nil {
		return err
	}
	dev, err := torchFlags(c)
	if err != nil {
		return err
	}
	batch := int64(c.Int("batch"))
	if batch <= 0 {
		return fmt.Errorf("--batch %d: must be positive", batch)
	}
	in, err := openNpyInput(c.String("in"))
	if err != nil {
		return err
	}
	defer in.Close()
	n, ch, h, w := in.shape[0], in.shape[1], in.shape[2], in.shape[3]
	bad, err := in.nonFiniteImages()
	if err != nil {
		return err
	}
	if bad > 0 {
		logrus.Warnf("predict: %d of %d images in %s hold NaN or Inf values; their logits will not be finite", bad, n, c.String("in"))
	}
	if choice.InChannels != 0 && ch != choice.InChannels {
		return fmt.Errorf("%s: %d channels, but --in-channels is %d", c.String("in"), ch, choice.InChannels)
	}
	net, meta, err := choice.load(dev, ch, inputCheck(c.String("in"), ch, h, w))
	if err != nil {
		return err
	}
	defer net.Close()
	logits, feats, err := runPredict(net, in, n, batch, dev, c.String("features") != "")
	if err != nil {
		return err
	}
	if err := writeNpy2D(c.String("out"), logits, n, int64(meta.Classes)); err != nil {
		return err
	}
	if p := c.String("features"); p != "" {
		if err := writeNpy2D(p, feats, n, int64(len(feats))/n); err != nil {
			return err
		}
	}
	logrus.Infof("predict: %d images through %s (%s style) → %s", n, meta.Arch, meta.Style, c.String("out"))
	return nil
}

// runPredict evaluates the images batch by batch in inference mode and returns the
// logits and (when wanted) features, row-major.
func runPredict(net *nets.Net, in *npyInput, n, batch int64, dev torch.Device, wantFeats bool) (logits, feats []float32, err error) {
	prog := newProgress("predict", "img", int(n))
	defer prog.Finish()
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
		prog.Update(int(done+b), 0)
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
