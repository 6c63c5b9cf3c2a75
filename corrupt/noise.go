package corrupt

// The noise corruptions: gaussian_noise, shot_noise, impulse_noise and speckle_noise
// (../shared/corrupt/PARAMS.md §4). Each draws one value per element in (row, column,
// channel) order.

func init() {
	register(&Corruption{Name: "gaussian_noise", Index: 0, Family: "noise", Benchmark: true, Random: true, Apply: gaussianNoise})
	register(&Corruption{Name: "shot_noise", Index: 1, Family: "noise", Benchmark: true, Random: true, Apply: shotNoise})
	register(&Corruption{Name: "impulse_noise", Index: 2, Family: "noise", Benchmark: true, Random: true, Apply: impulseNoise})
	register(&Corruption{Name: "speckle_noise", Index: 15, Family: "noise", Benchmark: false, Random: true, Apply: speckleNoise})
}

// inv255 holds v/255 in float64 for every 8-bit value, the original's x = pixel/255.
var inv255 = func() (t [256]float64) {
	for i := range t {
		t[i] = float64(i) / 255
	}
	return
}()

// unit8 converts a value on the [0, 1] scale like the original's final step:
// uint8(clip(v, 0, 1)·255), truncating.
// For v in [0, 1] this is v·255 truncated; NaN gives 0. Branch-free (MINSD,
// truncating conversion, CMOV): noisy inputs made the clipping branches mispredict.
func unit8(v float64) uint8 {
	// min keeps a NaN, whose conversion gives math.MinInt64, as does −Inf.
	return uint8(max(int64(min(v*255, 255)), 0))
}

// unitF32To8 is the float32 pipelines' final step, uint8(float32(clip(v, 0, 1)·255))
// (NaN gives 0). The float32 product truncated to an integer and clamped there
// gives the same byte as clipping first: v·255 for v < 0 truncates to 0 or below,
// and v > 1 is clipped to 1 by a rarely taken branch, before the product.
func unitF32To8(v float32) uint8 {
	if v > 1 {
		v = 1
	}
	return uint8(max(int32(v*255), 0))
}

// gaussianNoise: out = clip(x + N(0, c), 0, 1)·255.
func gaussianNoise(src Image, sev int, rng RNG, opt *Options) Image {
	c := gaussianNoiseStd.get(paramsOf(opt), sev)
	out := NewImage(src.H, src.W, src.C)
	np, noise := getF64(len(src.Pix))
	fillNormal(rng, noise, 0, c)
	for i, p := range src.Pix {
		out.Pix[i] = unit8(inv255[p] + noise[i])
	}
	putF64(np)
	return out
}

// shotNoise: out = clip(Poisson(x·c)/c, 0, 1)·255. The Poisson variates are numpy's
// legacy algorithm on rng.Float64 (what RNG.Poisson computes), with the per-λ
// constants computed once per pixel value.
//
// With the default mode's StreamRNG the variates come from CDF inversion instead
// (poisson_table.go): the same distribution, several times faster.
func shotNoise(src Image, sev int, rng RNG, opt *Options) Image {
	c := shotNoisePhotons.get(paramsOf(opt), sev)
	if s, ok := rng.(*StreamRNG); ok {
		return shotNoiseStream(src, c, s)
	}
	out := NewImage(src.H, src.W, src.C)
	var consts [256]poissonConsts
	var have [256]bool
	for i, p := range src.Pix {
		if !have[p] {
			consts[p] = newPoissonConsts(inv255[p] * c)
			have[p] = true
		}
		out.Pix[i] = unit8(float64(consts[p].sample(rng)) / c)
	}
	return out
}

// impulseNoise is skimage ≤ 0.18 random_noise(mode='s&p', amount): all "flipped"
// draws first (u < amount, as np.random.choice with p = [amount, 1−amount]), then
// all "salt" draws (u < 0.5); flipped salt elements become 255, flipped pepper ones 0.
func impulseNoise(src Image, sev int, rng RNG, opt *Options) Image {
	amount := impulseAmount.get(paramsOf(opt), sev)
	// np.random.choice normalises the cdf by its last entry.
	pFlip := amount / (amount + (1 - amount))
	out := NewImage(src.H, src.W, src.C)
	up, u := getF64(2 * len(src.Pix)) // all "flipped" draws, then all "salt" draws
	fillFloat64(rng, u)
	flip, salt := u[:len(src.Pix)], u[len(src.Pix):]
	for i, p := range src.Pix {
		switch {
		case !(flip[i] < pFlip):
			out.Pix[i] = unit8(inv255[p])
		case salt[i] < 0.5:
			out.Pix[i] = 255
		default:
			out.Pix[i] = 0
		}
	}
	putF64(up)
	return out
}

// speckleNoise: out = clip(x + x·N(0, c), 0, 1)·255.
func speckleNoise(src Image, sev int, rng RNG, opt *Options) Image {
	c := speckleStd.get(paramsOf(opt), sev)
	out := NewImage(src.H, src.W, src.C)
	np, noise := getF64(len(src.Pix))
	fillNormal(rng, noise, 0, c)
	for i, p := range src.Pix {
		x := inv255[p]
		out.Pix[i] = unit8(x + float64(x*noise[i]))
	}
	putF64(np)
	return out
}
