package nas

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// SupernetArch is the registered name of the elastic ResNet50 super-network: the
// parameters (names and shapes) of nets' resnet50, with depth and inner widths
// chosen per forward pass by a genome (Elastic.SetGenome).
const SupernetArch = "resnet50_elastic"

// subPrefix starts the names of extracted sub-networks (SubnetArch).
const subPrefix = "resnet50_sub-"

var resnetPlanes = [4]int64{64, 128, 256, 512}

func init() {
	nets.Register(&nets.Spec{
		Name: SupernetArch, Family: "resnet", Styles: []nets.Style{nets.CIFAR, nets.ImageNet},
		MinSize: map[nets.Style]int64{nets.CIFAR: 16, nets.ImageNet: 32},
		Build: func(b nets.Builder, cfg nets.Config) (nets.Model, error) {
			return newElastic(b, cfg, nil)
		},
	})
	nets.RegisterResolver(resolveSubnet)
}

// SubnetArch is the architecture name of a standalone sub-network: its inner
// widths per stage and block (absolute channel counts at the model's width
// multiplier), e.g. "resnet50_sub-64.64_128.128.104_256.256.256.256_512". Such a
// name builds through the nets registry (nets.New, ensemble.LoadModel) like any
// architecture, with the state_dict names of torchvision's resnet50 for the blocks
// it keeps.
func SubnetArch(inner [][]int64) string {
	parts := make([]string, len(inner))
	for i, st := range inner {
		ws := make([]string, len(st))
		for j, w := range st {
			ws[j] = strconv.FormatInt(w, 10)
		}
		parts[i] = strings.Join(ws, ".")
	}
	return subPrefix + strings.Join(parts, "_")
}

// ParseSubnetArch returns the inner widths a SubnetArch name describes.
func ParseSubnetArch(name string) ([][]int64, error) {
	rest, ok := strings.CutPrefix(strings.ToLower(name), subPrefix)
	if !ok {
		return nil, fmt.Errorf("%q is not a sub-network name (%s…)", name, subPrefix)
	}
	parts := strings.Split(rest, "_")
	if len(parts) != 4 {
		return nil, fmt.Errorf("sub-network %q: %d stages, want 4", name, len(parts))
	}
	inner := make([][]int64, 4)
	for i, p := range parts {
		for _, f := range strings.Split(p, ".") {
			w, err := strconv.ParseInt(f, 10, 64)
			if err != nil || w < 1 {
				return nil, fmt.Errorf("sub-network %q: bad inner width %q in stage %d", name, f, i+1)
			}
			inner[i] = append(inner[i], w)
		}
	}
	return inner, nil
}

func resolveSubnet(name string) *nets.Spec {
	inner, err := ParseSubnetArch(name)
	if err != nil {
		return nil
	}
	return &nets.Spec{
		Name: name, Family: "resnet", Styles: []nets.Style{nets.CIFAR, nets.ImageNet},
		MinSize: map[nets.Style]int64{nets.CIFAR: 16, nets.ImageNet: 32},
		Build: func(b nets.Builder, cfg nets.Config) (nets.Model, error) {
			return newElastic(b, cfg, inner)
		},
	}
}

// Elastic is a bottleneck ResNet (torchvision's ResNet50 layout and state_dict
// names, CIFAR or ImageNet stem as in package nets) whose depth per stage and inner
// width per block follow the active genome. Narrow blocks use the first channels of
// each inner layer (see ReorderByImportance); with the full genome it runs exactly
// the operations of nets' resnet50.
type Elastic struct {
	Stem   *nets.Conv2d
	BN1    *nets.BatchNorm2d
	Stages [][]*ElasticBlock
	FC     *nets.Linear
	path   torch.Path
	style  nets.Style
	space  Space
	depth  []int
}

// ElasticBlock is a bottleneck block with an elastic inner width.
type ElasticBlock struct {
	Conv1, Conv2, Conv3 *nets.Conv2d
	BN1, BN2, BN3       *nets.BatchNorm2d
	// DownConv and DownBN project the identity (first block of a stage), else nil.
	DownConv *nets.Conv2d
	DownBN   *nets.BatchNorm2d
	Stride   int64
	// In, Out and Inner are the full channel counts; Active the inner width in use.
	In, Out, Inner, Active int64
}

var convInit torch.Init = torch.KaimingNormal{Mode: torch.FanOut}

// newElastic builds the network; inner gives the inner widths per stage and block
// of a standalone sub-network (nil: the full ResNet50, as the super-network).
func newElastic(b nets.Builder, cfg nets.Config, inner [][]int64) (*Elastic, error) {
	e := &Elastic{path: b.Path, style: cfg.Style}
	blocks := []int{3, 4, 6, 3}
	if inner != nil {
		for i := range blocks {
			blocks[i] = len(inner[i])
		}
	}
	k, stride, pad := int64(3), int64(1), int64(1)
	if cfg.Style == nets.ImageNet {
		k, stride, pad = 7, 2, 3
	}
	in := b.Ch(64)
	e.Stem = nets.NewConv2d(b.Sub("conv1"), cfg.InChannels, in, k, nets.ConvOpts{Stride: stride, Padding: pad, Init: convInit})
	e.BN1 = nets.NewBatchNorm2d(b.Sub("bn1"), in)
	for s := range blocks {
		planes := b.Ch(resnetPlanes[s])
		out := planes * 4
		var stage []*ElasticBlock
		for j := 0; j < blocks[s]; j++ {
			bb := b.Subf("layer%d", s+1).Subf("%d", j)
			st := int64(1)
			if j == 0 && s > 0 {
				st = 2
			}
			mid := planes
			if inner != nil {
				mid = inner[s][j]
			}
			blk := &ElasticBlock{Stride: st, In: in, Out: out, Inner: mid, Active: mid,
				Conv1: nets.NewConv2d(bb.Sub("conv1"), in, mid, 1, nets.ConvOpts{Init: convInit}),
				BN1:   nets.NewBatchNorm2d(bb.Sub("bn1"), mid),
				Conv2: nets.NewConv2d(bb.Sub("conv2"), mid, mid, 3, nets.ConvOpts{Stride: st, Padding: 1, Init: convInit}),
				BN2:   nets.NewBatchNorm2d(bb.Sub("bn2"), mid),
				Conv3: nets.NewConv2d(bb.Sub("conv3"), mid, out, 1, nets.ConvOpts{Init: convInit}),
				BN3:   nets.NewBatchNorm2d(bb.Sub("bn3"), out),
			}
			if j == 0 && (st != 1 || in != out) {
				d := bb.Sub("downsample")
				blk.DownConv = nets.NewConv2d(d.Sub("0"), in, out, 1, nets.ConvOpts{Stride: st, Init: convInit})
				blk.DownBN = nets.NewBatchNorm2d(d.Sub("1"), out)
			}
			stage = append(stage, blk)
			in = out
		}
		e.Stages = append(e.Stages, stage)
	}
	e.FC = nets.NewLinear(b.Sub("fc"), in, cfg.Classes, nets.LinearOpts{})
	e.space = Space{Blocks: blocks, MinDepth: blocks, WidthChoices: []float64{1}, Divisor: 1}
	e.depth = append([]int(nil), blocks...)
	if inner == nil {
		e.space = ResNet50Space()
	}
	return e, nil
}

// Space returns the search space the genomes of SetGenome belong to.
func (e *Elastic) Space() Space { return e.space }

// SetSpace changes the search space (its block counts must be the network's).
func (e *Elastic) SetSpace(s Space) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if len(s.Blocks) != len(e.Stages) {
		return fmt.Errorf("space has %d stages, the network %d", len(s.Blocks), len(e.Stages))
	}
	for i, b := range s.Blocks {
		if b != len(e.Stages[i]) {
			return fmt.Errorf("space stage %d has %d blocks, the network %d", i+1, b, len(e.Stages[i]))
		}
	}
	e.space = s
	return e.SetGenome(s.Max())
}

// SetGenome selects the sub-network the next forward passes run.
func (e *Elastic) SetGenome(g Genome) error {
	if err := e.space.Check(g); err != nil {
		return err
	}
	e.depth = append(e.depth[:0], g.Depth...)
	for s, st := range e.Stages {
		for j, b := range st {
			b.Active = e.space.InnerWidth(b.Inner, g.Width[s][j])
		}
	}
	return nil
}

// Genome returns the active genome.
func (e *Elastic) Genome() Genome {
	g := e.space.Max()
	copy(g.Depth, e.depth)
	for s, st := range e.Stages {
		for j, b := range st {
			if j >= e.depth[s] {
				continue
			}
			for c := range e.space.WidthChoices {
				if e.space.InnerWidth(b.Inner, c) == b.Active {
					g.Width[s][j] = c
					break
				}
			}
		}
	}
	return g
}

// InnerWidths returns the inner widths of the active sub-network per stage and
// kept block (the description SubnetArch names).
func (e *Elastic) InnerWidths() [][]int64 {
	out := make([][]int64, len(e.Stages))
	for s, st := range e.Stages {
		for j := 0; j < e.depth[s]; j++ {
			out[s] = append(out[s], st[j].Active)
		}
	}
	return out
}

// Forward implements nets.Model with the active genome.
func (e *Elastic) Forward(x *torch.Tensor) (logits, features *torch.Tensor) {
	x = torch.Relu(e.BN1.Forward(e.Stem.Forward(x)))
	x = torch.MaxPool2d(x, []int64{3, 3}, []int64{2, 2}, []int64{1, 1}, []int64{1, 1}, false)
	for s, st := range e.Stages {
		for j := 0; j < e.depth[s]; j++ {
			x = st[j].forward(x, e.path.Training())
		}
	}
	features = nets.GlobalAvgPool.Forward(x)
	return e.FC.Forward(features), features
}

func (b *ElasticBlock) forward(x *torch.Tensor, training bool) *torch.Tensor {
	var out *torch.Tensor
	if b.Active == b.Inner {
		out = torch.Relu(b.BN1.Forward(b.Conv1.Forward(x)))
		out = torch.Relu(b.BN2.Forward(b.Conv2.Forward(out)))
		out = b.BN3.Forward(b.Conv3.Forward(out))
	} else {
		s, m := x.Scope(), b.Active
		w1 := b.Conv1.W.In(s).Narrow(0, 0, m)
		w2 := b.Conv2.W.In(s).Narrow(0, 0, m).Narrow(1, 0, m)
		w3 := b.Conv3.W.In(s).Narrow(1, 0, m)
		one, zero := []int64{1, 1}, []int64{0, 0}
		out = torch.Conv2d(x, w1, nil, one, zero, one, 1)
		out = torch.Relu(narrowBN(b.BN1, out, m, training))
		out = torch.Conv2d(out, w2, nil, []int64{b.Stride, b.Stride}, one, one, 1)
		out = torch.Relu(narrowBN(b.BN2, out, m, training))
		out = b.BN3.Forward(torch.Conv2d(out, w3, nil, one, zero, one, 1))
	}
	id := x
	if b.DownConv != nil {
		id = b.DownBN.Forward(b.DownConv.Forward(x))
	}
	return torch.Relu(out.Add(id))
}

// narrowBN runs BatchNorm on the first m channels of bn (its running statistics
// are updated in place in training mode).
func narrowBN(bn *nets.BatchNorm2d, x *torch.Tensor, m int64, training bool) *torch.Tensor {
	s := x.Scope()
	nar := func(t *torch.Tensor) *torch.Tensor { return t.In(s).Narrow(0, 0, m) }
	if training {
		if err := bn.Count.AddInt_(1); err != nil {
			return torch.Fail(s, err)
		}
	}
	return torch.BatchNorm(x, nar(bn.W), nar(bn.B), nar(bn.Mean), nar(bn.Var), training, bn.Momentum, bn.Eps)
}

// batchNorms lists every BatchNorm of the network.
func (e *Elastic) batchNorms() []*nets.BatchNorm2d {
	out := []*nets.BatchNorm2d{e.BN1}
	for _, st := range e.Stages {
		for _, b := range st {
			out = append(out, b.BN1, b.BN2, b.BN3)
			if b.DownBN != nil {
				out = append(out, b.DownBN)
			}
		}
	}
	return out
}
