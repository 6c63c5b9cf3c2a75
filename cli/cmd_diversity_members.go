package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/attrib"
	"github.com/divres/divres/data"
	"github.com/divres/divres/diversity"
	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/torch"
)

// init installs the --members mode in the diversity command (registered by
// cmd_diversity.go, whose init runs first: files initialise in name order) and
// adds the flags it shares with divres ensemble.
func init() {
	diversityMembers = runDiversityMembers
	for _, cmd := range commands {
		if cmd.Name == "diversity" {
			cmd.Flags = append(cmd.Flags, ensPoolFlags(false)...)
		}
	}
}

// runDiversityMembers is `divres diversity --members DIR[,DIR…]`: the members'
// outputs on the clean test set (--data, --test-subset) come from the prediction
// cache; activation diversity compares the penultimate features or, with --layer,
// that layer's outputs; --attrib-method adds attribution diversity of the maps of
// the true class.
func runDiversityMembers(c *cli.Context) error {
	setup, err := ensPoolSetup(c, false)
	if err != nil {
		return fmt.Errorf("diversity: %w", err)
	}
	if len(setup.Members) < 2 {
		return fmt.Errorf("diversity: --members needs at least 2 members")
	}
	o := diversity.Options{Metrics: diversityMetricsFlag(c.String("metrics")), RBFBatch: c.Int("rbf-batch")}
	switch s := c.String("similarity"); s {
	case "cosine", "spearman":
		o.AttributionSimilarity = s
	default:
		return fmt.Errorf("diversity: --similarity %q: want cosine or spearman", s)
	}
	if o.RBFThresholds, err = ensRBFThresholds(c.String("rbf-thresholds")); err != nil {
		return fmt.Errorf("diversity: %w", err)
	}
	method := attrib.Method("")
	if m := c.String("attrib-method"); m != "" {
		if method, err = attrib.ParseMethod(m); err != nil {
			return fmt.Errorf("diversity: --attrib-method: %w", err)
		}
		if method == attrib.GradCAM && c.String("layer") == "" {
			return fmt.Errorf("diversity: --attrib-method gradcam needs --layer")
		}
	}
	for _, n := range o.Metrics {
		if strings.HasPrefix(n, "attribution_") && method == "" {
			return fmt.Errorf("diversity: %s needs --attrib-method (ig, saliency, …)", n)
		}
	}
	layer := c.String("layer")
	setup.Outputs.Features = layer == ""
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	p, _, _, err := ensLoadPool(c, setup)
	if err != nil {
		return fmt.Errorf("diversity: %w", err)
	}
	col := make([]*ensemble.Outputs, len(p.Members))
	for m := range p.Members {
		col[m] = p.Outputs[m][0]
	}
	if err := ensemble.CheckOutputs(col); err != nil {
		return fmt.Errorf("diversity: %w", err)
	}
	in := ensemble.DiversityInputs(col)
	if layer != "" || method != "" {
		ds, err := cleanSet(setup)
		if err != nil {
			return fmt.Errorf("diversity: %w", err)
		}
		if layer != "" && method != attrib.GradCAM {
			if err := layerInputs(ctx, &in, p.Members, ds, layer, setup); err != nil {
				return fmt.Errorf("diversity: %w", err)
			}
		}
		if method != "" {
			if err := attributionInputs(ctx, &in, p.Members, ds, method, layer, setup); err != nil {
				return fmt.Errorf("diversity: %w", err)
			}
		}
	}
	rep, err := diversity.Compute(in, o)
	if err != nil {
		return fmt.Errorf("diversity: %w", err)
	}
	names := make([]string, len(p.Members))
	for i, m := range p.Members {
		names[i] = m.Name()
	}
	rep.Values["members"] = names
	if layer != "" && method != attrib.GradCAM {
		rep.Values["layer"] = layer
	}
	if method != "" {
		rep.Values["attribution_method"] = string(method)
	}
	return writeDiversityReport(c.String("out"), rep)
}

// cleanSet opens the clean test set of a setup (the members' dataset by default),
// cut to its test subset: the inputs of the pool's clean slice.
func cleanSet(o ensemble.PoolSetup) (data.Dataset, error) {
	spec := o.Data
	if spec == "" {
		meta, _, err := ensemble.ReadMeta(o.Members[0])
		if err != nil {
			return nil, err
		}
		spec = meta.Dataset
	}
	test, err := data.OpenTest(spec, data.OpenOptions{})
	if err != nil {
		return nil, err
	}
	if o.TestSubset > 0 {
		test = data.FirstK(test, o.TestSubset)
	}
	return test, nil
}

// layerInputs replaces the features of in by every member's outputs of layer, from
// the prediction cache (computed and stored when missing).
func layerInputs(ctx context.Context, in *diversity.Inputs, ms []ensemble.PoolMember, ds data.Dataset, layer string, o ensemble.PoolSetup) error {
	dir := o.CacheDir
	if dir == "" {
		dir = ensemble.DefaultPredictionCacheDir()
	}
	cache, err := ensemble.NewPredictionCache(dir)
	if err != nil {
		return err
	}
	outs := make([]*ensemble.Outputs, len(ms))
	for i, m := range ms {
		f, d, err := cache.LayerFeatures(ctx, m, ds, layer, o.Device, o.Outputs.Batch, o.Outputs.Workers)
		if err != nil {
			return err
		}
		outs[i] = &ensemble.Outputs{N: in.N, Classes: in.C, D: d, Features: f}
		logrus.WithFields(logrus.Fields{"member": m.Name(), "layer": layer, "width": d}).Debug("diversity: layer features")
	}
	s := ensemble.DiversityInputs(outs)
	in.Features, in.D = s.Features, s.D
	return nil
}

// attributionInputs computes every member's attribution maps of the true class on
// the clean inputs, with respect to the unnormalised pixels, into in.Attributions.
// The members must take inputs of one shape.
func attributionInputs(ctx context.Context, in *diversity.Inputs, ms []ensemble.PoolMember, ds data.Dataset, method attrib.Method,
	layer string, o ensemble.PoolSetup) error {
	in0, err := ms[0].Meta.Input()
	if err != nil {
		return err
	}
	for _, m := range ms[1:] {
		if m.Meta.InChannels != in0.Channels || m.Meta.InputSize != in0.Size || m.Meta.Fit != ms[0].Meta.Fit {
			return fmt.Errorf("attribution diversity needs members with one input shape: %s takes %d×%d×%d (%s), %s %d×%d×%d (%s)",
				ms[0].Name(), in0.Channels, in0.Size, in0.Size, ms[0].Meta.Fit, m.Name(), m.Meta.InChannels, m.Meta.InputSize,
				m.Meta.InputSize, m.Meta.Fit)
		}
	}
	batch := o.Outputs.Batch
	if batch <= 0 || batch > 64 {
		batch = 64
	}
	pix := in0
	pix.Norm = data.Norm{}
	for range in0.Channels {
		pix.Norm.Mean = append(pix.Norm.Mean, 0)
		pix.Norm.Std = append(pix.Norm.Std, 1)
	}
	in.Attributions, in.AttrSize = nil, 0
	for _, m := range ms {
		net, meta, err := ensemble.LoadModel(m.Dir, o.Device)
		if err != nil {
			return err
		}
		model, err := attrib.Normalized(attrib.FromNet(net), meta.Mean, meta.Std)
		if err != nil {
			net.Close()
			return fmt.Errorf("member %s: %w", m.Name(), err)
		}
		l, err := data.NewLoader(ds, pix.LoaderOptions(batch, o.Outputs.Workers))
		if err != nil {
			net.Close()
			return err
		}
		n := 0
		for b, err := range l.Batches(ctx, 0) {
			if err != nil {
				net.Close()
				return err
			}
			err = torch.Do(func(s *torch.Scope) error {
				x := torch.FromSlice(s, b.X, []int64{int64(b.N), int64(b.C), int64(b.H), int64(b.W)}, o.Device)
				r, err := attrib.Attribute(s, model, x, attrib.Labels(b.Y[:b.N]), attrib.Options{Method: method, Layer: layer,
					Upsample: "bilinear"})
				if err != nil {
					return err
				}
				v, err := r.Maps.Reshape([]int64{int64(b.N), -1}).Float32s()
				if err != nil {
					return err
				}
				size := len(v) / b.N
				if in.AttrSize == 0 {
					in.AttrSize = size
				} else if size != in.AttrSize {
					return fmt.Errorf("maps of %d values, the first member's %d", size, in.AttrSize)
				}
				in.Attributions = append(in.Attributions, v...)
				return nil
			})
			n += b.N
			b.Release()
			if err != nil {
				net.Close()
				return fmt.Errorf("member %s attributions: %w", m.Name(), err)
			}
		}
		net.Close()
		if n != in.N {
			return fmt.Errorf("member %s: %d attribution maps for %d inputs", m.Name(), n, in.N)
		}
		logrus.WithFields(logrus.Fields{"member": m.Name(), "method": method}).Info("diversity: attributions done")
	}
	return nil
}
