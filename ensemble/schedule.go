package ensemble

import (
	"math"

	"github.com/divres/divres/torch"
)

// warmupSchedule ramps linearly from LR/steps to the inner schedule's rate over the
// first steps optimizer steps.
type warmupSchedule struct {
	inner torch.Schedule
	steps int
}

// LR implements torch.Schedule.
func (w warmupSchedule) LR(step int) float64 {
	lr := w.inner.LR(step)
	if step < w.steps {
		return lr * float64(step+1) / float64(w.steps)
	}
	return lr
}

// makeSchedule returns the learning-rate schedule of cfg per optimizer step.
func makeSchedule(cfg TrainConfig, stepsPerEpoch int) torch.Schedule {
	total := cfg.Epochs * stepsPerEpoch
	warm := int(math.Round(cfg.Warmup * float64(stepsPerEpoch)))
	switch cfg.Schedule {
	case "onecycle":
		return torch.OneCycleLR{Max: cfg.LR, Total: total}
	case "step":
		return warmupSchedule{torch.StepLR{Base: cfg.LR, StepSize: cfg.StepEpochs * stepsPerEpoch, Gamma: cfg.StepGamma}, warm}
	case "constant":
		return warmupSchedule{torch.ConstantLR(cfg.LR), warm}
	}
	return torch.CosineLR{Base: cfg.LR, Warmup: warm, Total: total}
}
