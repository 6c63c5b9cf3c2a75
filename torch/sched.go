package torch

import "math"

// Schedule gives the learning rate of optimizer step i (0-based).
type Schedule interface {
	LR(step int) float64
}

// ConstantLR keeps the learning rate fixed.
type ConstantLR float64

// LR implements Schedule.
func (c ConstantLR) LR(int) float64 { return float64(c) }

// StepLR multiplies the base rate by Gamma every StepSize steps.
type StepLR struct {
	Base     float64
	StepSize int
	Gamma    float64
}

// LR implements Schedule.
func (s StepLR) LR(step int) float64 {
	if s.StepSize <= 0 {
		return s.Base
	}
	return s.Base * math.Pow(s.Gamma, float64(step/s.StepSize))
}

// CosineLR warms up linearly from 0 to Base over Warmup steps, then follows a
// half cosine from Base down to Min at step Total.
type CosineLR struct {
	Base, Min     float64
	Warmup, Total int
}

// LR implements Schedule.
func (c CosineLR) LR(step int) float64 {
	if step < c.Warmup {
		return c.Base * float64(step+1) / float64(c.Warmup)
	}
	span := c.Total - c.Warmup
	if span <= 0 {
		return c.Base
	}
	p := math.Min(1, float64(step-c.Warmup)/float64(span))
	return c.Min + (c.Base-c.Min)*(1+math.Cos(math.Pi*p))/2
}

// OneCycleLR is torch.optim.lr_scheduler.OneCycleLR with cosine annealing (two
// phases): from Max/DivFactor up to Max over PctStart of Total steps, then down to
// Max/(DivFactor·FinalDivFactor). Zero fields take PyTorch's defaults (PctStart 0.3,
// DivFactor 25, FinalDivFactor 1e4).
type OneCycleLR struct {
	Max                                 float64
	Total                               int
	PctStart, DivFactor, FinalDivFactor float64
}

// LR implements Schedule.
func (o OneCycleLR) LR(step int) float64 {
	pct, div, fdiv := o.PctStart, o.DivFactor, o.FinalDivFactor
	if pct == 0 {
		pct = 0.3
	}
	if div == 0 {
		div = 25
	}
	if fdiv == 0 {
		fdiv = 1e4
	}
	initial := o.Max / div
	final := initial / fdiv
	upEnd := pct*float64(o.Total) - 1
	downEnd := float64(o.Total) - 1
	anneal := func(start, end, p float64) float64 { return end + (start-end)/2*(math.Cos(math.Pi*p)+1) }
	s := float64(step)
	if s <= upEnd {
		if upEnd <= 0 {
			return o.Max
		}
		return anneal(initial, o.Max, s/upEnd)
	}
	if downEnd <= upEnd {
		return final
	}
	return anneal(o.Max, final, math.Min(1, (s-upEnd)/(downEnd-upEnd)))
}
