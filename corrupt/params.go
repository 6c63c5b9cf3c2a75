package corrupt

// Per-severity constants of the noise, blur and digital corruptions
// (../shared/corrupt/PARAMS.md §4 for CIFAR, §7 for ImageNet). Index 0 is severity 1.
// The other families keep their tables in their own files.

// sevParams holds one table for each parameter set.
type sevParams[T any] struct {
	cifar, imagenet [5]T
}

// get returns the constants of severity sev (1..5) for the parameter set p.
func (s *sevParams[T]) get(p ParamSet, sev int) T {
	if p == ImageNet {
		return s.imagenet[sev-1]
	}
	return s.cifar[sev-1]
}

// paramsOf returns the parameter set of opt (CIFAR when opt is nil).
func paramsOf(opt *Options) ParamSet {
	if opt == nil {
		return CIFAR
	}
	return opt.Params
}

var (
	gaussianNoiseStd = sevParams[float64]{
		cifar:    [5]float64{0.04, 0.06, 0.08, 0.09, 0.10},
		imagenet: [5]float64{0.08, 0.12, 0.18, 0.26, 0.38},
	}
	shotNoisePhotons = sevParams[float64]{
		cifar:    [5]float64{500, 250, 100, 75, 50},
		imagenet: [5]float64{60, 25, 12, 5, 3},
	}
	impulseAmount = sevParams[float64]{
		cifar:    [5]float64{0.01, 0.02, 0.03, 0.05, 0.07},
		imagenet: [5]float64{0.03, 0.06, 0.09, 0.17, 0.27},
	}
	speckleStd = sevParams[float64]{
		cifar:    [5]float64{0.06, 0.1, 0.12, 0.16, 0.2},
		imagenet: [5]float64{0.15, 0.2, 0.35, 0.45, 0.6},
	}
	gaussianBlurSigma = sevParams[float64]{
		cifar:    [5]float64{0.4, 0.6, 0.7, 0.8, 1},
		imagenet: [5]float64{1, 2, 3, 4, 6},
	}
	glassParams = sevParams[glassParam]{
		cifar:    [5]glassParam{{0.05, 1, 1}, {0.25, 1, 1}, {0.4, 1, 1}, {0.25, 1, 2}, {0.4, 1, 2}},
		imagenet: [5]glassParam{{0.7, 1, 2}, {0.9, 2, 1}, {1, 2, 3}, {1.1, 3, 2}, {1.5, 4, 2}},
	}
	defocusParams = sevParams[defocusParam]{
		cifar:    [5]defocusParam{{0.3, 0.4}, {0.4, 0.5}, {0.5, 0.6}, {1, 0.2}, {1.5, 0.1}},
		imagenet: [5]defocusParam{{3, 0.1}, {4, 0.5}, {6, 0.5}, {8, 0.5}, {10, 0.5}},
	}
	contrastFactor = sevParams[float64]{
		cifar:    [5]float64{0.75, 0.5, 0.4, 0.3, 0.15},
		imagenet: [5]float64{0.4, 0.3, 0.2, 0.1, 0.05},
	}
	brightnessShift = sevParams[float64]{
		cifar:    [5]float64{0.05, 0.1, 0.15, 0.2, 0.3},
		imagenet: [5]float64{0.1, 0.2, 0.3, 0.4, 0.5},
	}
	saturateParams = sevParams[[2]float64]{
		cifar:    [5][2]float64{{0.3, 0}, {0.1, 0}, {1.5, 0}, {2, 0.1}, {2.5, 0.2}},
		imagenet: [5][2]float64{{0.3, 0}, {0.1, 0}, {2, 0}, {5, 0.1}, {20, 0.2}},
	}
	pixelateFactor = sevParams[float64]{
		cifar:    [5]float64{0.95, 0.9, 0.85, 0.75, 0.65},
		imagenet: [5]float64{0.6, 0.5, 0.4, 0.3, 0.25},
	}
)

// glassParam is glass blur's (σ, max_delta, iterations).
type glassParam struct {
	sigma      float64
	delta, its int
}

// defocusParam is defocus blur's (disk radius, anti-alias σ).
type defocusParam struct {
	radius, alias float64
}
