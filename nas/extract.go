package nas

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// GenomeFile describes an extracted sub-network beside its model.safetensors.
const GenomeFile = "genome.json"

// SubnetInfo is genome.json: the architecture description of an extracted
// sub-network.
type SubnetInfo struct {
	Supernet string    `json:"supernet"`
	Key      string    `json:"key"`
	Genome   Genome    `json:"genome"`
	Space    Space     `json:"space"`
	Arch     string    `json:"arch"`
	Inner    [][]int64 `json:"inner_widths"`
	MACs     int64     `json:"macs"`
	Params   int64     `json:"params"`
	// ValError is the validation error of the extracted model (the super-network's
	// validation split).
	ValError float64 `json:"val_error"`
}

// ExtractOptions configure Extract.
type ExtractOptions struct {
	// CalibImages recalibrate BatchNorm for the genome first (0: the run's).
	CalibImages    int
	Batch, Workers int
	Device         string
}

// Extract turns genome g of the super-network in runDir into a standalone model run
// in out: out/model.safetensors (the kept blocks and channels with PyTorch
// state_dict names, BatchNorm statistics recalibrated for g, and the metadata of a
// divres model checkpoint: ensemble.LoadModel, eval, predict and every command that
// takes a run accept it; its arch, SubnetArch, describes the architecture) and
// out/genome.json.
func Extract(ctx context.Context, runDir string, g Genome, out string, o ExtractOptions) (*SubnetInfo, error) {
	psc, err := ReadPSConfig(runDir)
	if err != nil {
		return nil, fmt.Errorf("nas extract: %w", err)
	}
	dev, err := resolveDevice(defaultString(o.Device, "auto"))
	if err != nil {
		return nil, fmt.Errorf("nas extract: %w", err)
	}
	net, sm, err := LoadSupernet(runDir, dev)
	if err != nil {
		return nil, fmt.Errorf("nas extract: %w", err)
	}
	defer net.Close()
	env, _, err := OpenEnv(psc)
	if err != nil {
		return nil, fmt.Errorf("nas extract: %w", err)
	}
	if o.CalibImages == 0 {
		o.CalibImages = psc.CalibImages
	}
	if o.Batch == 0 {
		o.Batch = 128
	}
	e := net.Model.(*Elastic)
	if err := e.SetGenome(g); err != nil {
		return nil, fmt.Errorf("nas extract: %w", err)
	}
	if err := Recalibrate(ctx, net, env.Train, o.CalibImages, env.Input, dev, o.Batch, o.Workers); err != nil {
		return nil, fmt.Errorf("nas extract: %w", err)
	}
	sub, err := ExtractNet(net, dev)
	if err != nil {
		return nil, fmt.Errorf("nas extract: %w", err)
	}
	defer sub.Close()
	p, err := ensemble.Predict(ctx, sub, env.Val, env.Input, dev, ensemble.PredictOptions{Batch: o.Batch, Workers: o.Workers})
	if err != nil {
		return nil, fmt.Errorf("nas extract: %w", err)
	}
	meta := sm.Model
	meta.Arch = sub.Spec.Name
	meta.Model = "resnet50sub_" + g.Key()
	meta.Params = sub.Store.NumParams()
	macs, _ := e.MACs(g, int64(meta.InputSize))
	info := &SubnetInfo{Supernet: runDir, Key: g.Key(), Genome: g.Canonical(), Space: e.Space(), Arch: meta.Arch,
		Inner: e.InnerWidths(), MACs: macs, Params: meta.Params, ValError: p.ErrorRate()}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("nas extract: %w", err)
	}
	if err := sub.Store.Save(filepath.Join(out, ensemble.ModelFile), meta.Strings()); err != nil {
		return nil, fmt.Errorf("nas extract: %w", err)
	}
	js, _ := json.MarshalIndent(info, "", "  ")
	if err := atomicfile.WriteFile(filepath.Join(out, GenomeFile), append(js, '\n')); err != nil {
		return nil, fmt.Errorf("nas extract: %w", err)
	}
	return info, nil
}

// ExtractNet builds the standalone network of the super-network's active genome
// and copies the weights it keeps (the first blocks of each stage, the first
// channels of each inner layer) and the BatchNorm statistics; it runs as the
// super-network does with that genome.
func ExtractNet(super *nets.Net, dev torch.Device) (*nets.Net, error) {
	e, ok := super.Model.(*Elastic)
	if !ok {
		return nil, fmt.Errorf("%s is not an elastic network", super.Spec.Name)
	}
	sub, err := nets.NewUninitialized(SubnetArch(e.InnerWidths()), super.Config, dev)
	if err != nil {
		return nil, err
	}
	err = torch.Do(func(s *torch.Scope) error {
		for _, v := range sub.Store.Vars() {
			src := super.Store.Get(v.Name)
			if src == nil {
				return fmt.Errorf("%s missing in the super-network", v.Name)
			}
			t := src.T.In(s)
			shape := v.T.Shape()
			if len(shape) != len(t.Shape()) {
				return fmt.Errorf("%s: shape %v in the super-network, %v in the sub-network", v.Name, t.Shape(), shape)
			}
			for d, n := range shape {
				if t.Size(d) != n {
					t = t.Narrow(int64(d), 0, n)
				}
			}
			if err := v.T.In(s).Copy_(t); err != nil {
				return fmt.Errorf("%s: %w", v.Name, err)
			}
		}
		return nil
	}, torch.NoGrad())
	if err != nil {
		sub.Close()
		return nil, err
	}
	sub.Store.SetTraining(false)
	return sub, nil
}

func defaultString(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
