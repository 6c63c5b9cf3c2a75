package ensemble

import (
	"fmt"

	"github.com/divres/divres/torch"
)

// precision is a resolved mixed-precision mode.
type precision struct {
	autocast bool
	dtype    torch.DType
	scaler   bool
}

// resolvePrecision checks an AMP mode against the device.
func resolvePrecision(mode string, dev torch.Device) (precision, error) {
	switch mode {
	case "none", "":
		return precision{}, nil
	case "bf16":
		return precision{autocast: true, dtype: torch.BFloat16}, nil
	case "fp16":
		if !dev.IsCUDA() {
			return precision{}, fmt.Errorf("fp16 mixed precision needs a CUDA device (use bf16 on the CPU)")
		}
		return precision{autocast: true, dtype: torch.Float16, scaler: true}, nil
	}
	return precision{}, fmt.Errorf("unknown mixed-precision mode %q", mode)
}

// scopeOptions returns the options of the forward-pass scope.
func (p precision) scopeOptions(dev torch.Device) []torch.ScopeOption {
	if !p.autocast {
		return nil
	}
	return []torch.ScopeOption{torch.Autocast(dev.Type, p.dtype)}
}

// LossScaler is a dynamic loss scaler for float16 training (the rule of PyTorch's
// GradScaler): the loss is multiplied by Scale before the backward pass; when every
// gradient is finite they are divided by Scale and the optimizer steps, and after
// GrowthInterval such steps in a row Scale doubles; a non-finite gradient skips the
// step and halves Scale.
type LossScaler struct {
	Scale          float64 `json:"scale"`
	GrowthInterval int     `json:"growth_interval"`
	GoodSteps      int     `json:"good_steps"`
	Skipped        int     `json:"skipped"`
}

// NewLossScaler returns a scaler with PyTorch's defaults (2¹⁶, growth every 2000
// steps).
func NewLossScaler() *LossScaler { return &LossScaler{Scale: 65536, GrowthInterval: 2000} }

// Unscale checks the gradients of vars after a backward pass of the scaled loss. If
// they are all finite it divides them by Scale and returns true; otherwise it halves
// Scale, counts a skipped step and returns false (the caller skips the optimizer
// step).
func (s *LossScaler) Unscale(vars []*torch.Var) (bool, error) {
	ok, err := torch.GradsFinite(vars)
	if err != nil {
		return false, err
	}
	if !ok {
		s.Scale /= 2
		s.GoodSteps = 0
		s.Skipped++
		return false, nil
	}
	return true, torch.ScaleGrads(vars, 1/s.Scale)
}

// Update records a completed step (all members unscaled successfully).
func (s *LossScaler) Update() {
	s.GoodSteps++
	if s.GrowthInterval > 0 && s.GoodSteps >= s.GrowthInterval {
		s.Scale *= 2
		s.GoodSteps = 0
	}
}
