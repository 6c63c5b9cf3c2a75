package nas

import (
	"fmt"

	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// ReorderByImportance sorts the inner channels of every block by importance, most
// important first, so that a narrow sub-network (which keeps the first channels)
// keeps the most important filters. The importance of an output channel of conv2
// is the L1 norm of the conv3 weights that read it; conv2's output filters, BN2 and
// conv3's input columns are permuted together. Then the output channels of conv1
// are ranked by the L1 norm of the (permuted) conv2 weights that read them, and
// conv1, BN1 and conv2's input columns follow. The full network computes the same
// function (up to the order of floating-point sums). Reorder before creating an
// optimizer: its state is not permuted.
func (e *Elastic) ReorderByImportance() error {
	return torch.Do(func(s *torch.Scope) error {
		for si, st := range e.Stages {
			for j, b := range st {
				idx2 := b.Conv3.W.In(s).Abs().SumDims([]int64{0, 2, 3}, false).Argsort(0, true)
				if err := permuteAll(s, idx2, dimT{b.Conv2.W, 0}, dimT{b.Conv3.W, 1}); err != nil {
					return fmt.Errorf("reorder layer%d.%d: %w", si+1, j, err)
				}
				if err := permuteBN(s, b.BN2, idx2); err != nil {
					return fmt.Errorf("reorder layer%d.%d: %w", si+1, j, err)
				}
				idx1 := b.Conv2.W.In(s).Abs().SumDims([]int64{0, 2, 3}, false).Argsort(0, true)
				if err := permuteAll(s, idx1, dimT{b.Conv1.W, 0}, dimT{b.Conv2.W, 1}); err != nil {
					return fmt.Errorf("reorder layer%d.%d: %w", si+1, j, err)
				}
				if err := permuteBN(s, b.BN1, idx1); err != nil {
					return fmt.Errorf("reorder layer%d.%d: %w", si+1, j, err)
				}
			}
		}
		return s.Err()
	}, torch.NoGrad())
}

// dimT is a tensor and the dimension along which it is permuted.
type dimT struct {
	t   *torch.Tensor
	dim int64
}

func permuteAll(s *torch.Scope, idx *torch.Tensor, ts ...dimT) error {
	for _, d := range ts {
		if err := d.t.In(s).Copy_(d.t.In(s).IndexSelect(d.dim, idx)); err != nil {
			return err
		}
	}
	return nil
}

func permuteBN(s *torch.Scope, bn *nets.BatchNorm2d, idx *torch.Tensor) error {
	return permuteAll(s, idx, dimT{bn.W, 0}, dimT{bn.B, 0}, dimT{bn.Mean, 0}, dimT{bn.Var, 0})
}
