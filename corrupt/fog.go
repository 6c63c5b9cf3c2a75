package corrupt

import "sync"

// fog (../shared/corrupt/PARAMS.md §4): the image plus a diamond–square plasma
// fractal, rescaled by the image's maximum.
//
// The plasma map is square with a power-of-two side: 32 in the CIFAR code, 256 in the
// ImageNet code, and both crop it to the image. For images larger than that side the
// map grows to the next power of two covering the image (the original would fail);
// for images it covers, the random stream is the original's.

func init() {
	register(&Corruption{Name: "fog", Index: 9, Family: "weather", Benchmark: true, Random: true, Apply: fog})
}

// fogParam is fog's strength s and wibble decay.
type fogParam struct{ strength, decay float64 }

var fogParams = [2][5]fogParam{
	CIFAR:    {{0.2, 3}, {0.5, 3}, {0.75, 2.5}, {1, 2}, {1.5, 1.75}},
	ImageNet: {{1.5, 2}, {2, 2}, {2.5, 1.7}, {2.5, 1.5}, {3, 1.4}},
}

// fogMapSize is the plasma map side: the parameter set's (32 or 256), doubled until
// it covers h and w.
func fogMapSize(p ParamSet, h, w int) int {
	m := 32
	if p == ImageNet {
		m = 256
	}
	for m < h || m < w {
		m *= 2
	}
	return m
}

// plasmaFractal fills the m×m map (m a power of two) with the original's
// diamond–square fractal, normalised to [0, 1]: M[0,0] = 0, wibble 100 divided by
// decay after each level; per level the squares, then the two diamond passes, each
// drawing one U(−w, w) per cell in row-major order and adding w·U to the mean of
// four neighbours (indices wrap), summed in numpy's order.
func plasmaFractal(mp []float64, m int, decay float64, rng RNG) {
	mp[0] = 0
	wib := 100.0
	up, u := getF64((m / 2) * (m / 2))
	defer putF64(up)
	for d := m; d >= 2; d /= 2 {
		half := d / 2
		n := m / d
		at := func(i, j int) float64 { return mp[i*m+j] } // map coordinates
		// noise returns the next w·U(−w, w) of a pass; each pass draws its n² uniforms
		// in one bulk fill.
		k := 0
		uni := u[:n*n]
		noise := func() float64 {
			v := float64(wib * (-wib + float64((wib-(-wib))*uni[k])))
			k++
			return v
		}
		fill := func() { fillFloat64(rng, uni); k = 0 }
		// Squares: the cell centres from the corners C[i][j] = M[i·d][j·d].
		fill()
		for i := 0; i < n; i++ {
			i1 := (i + 1) % n
			for j := 0; j < n; j++ {
				j1 := (j + 1) % n
				s := (at(i*d, j*d) + at(i1*d, j*d)) + (at(i*d, j1*d) + at(i1*d, j1*d))
				mp[(half+i*d)*m+half+j*d] = s/4 + noise()
			}
		}
		// Diamonds A: M[i·d][half+j·d] from centres D[i][j], D[i−1][j] and corners
		// C[i][j], C[i][j+1].
		fill()
		for i := 0; i < n; i++ {
			im := (i + n - 1) % n
			for j := 0; j < n; j++ {
				j1 := (j + 1) % n
				s := (at(half+i*d, half+j*d) + at(half+im*d, half+j*d)) + (at(i*d, j*d) + at(i*d, j1*d))
				mp[i*d*m+half+j*d] = s/4 + noise()
			}
		}
		// Diamonds B: M[half+i·d][j·d] from centres D[i][j], D[i][j−1] and corners
		// C[i][j], C[i+1][j].
		fill()
		for i := 0; i < n; i++ {
			i1 := (i + 1) % n
			for j := 0; j < n; j++ {
				jm := (j + n - 1) % n
				s := (at(half+i*d, half+j*d) + at(half+i*d, half+jm*d)) + (at(i*d, j*d) + at(i1*d, j*d))
				mp[(half+i*d)*m+j*d] = s/4 + noise()
			}
		}
		wib /= decay
	}
	// Plain comparisons instead of min/max (the map holds no NaN; their NaN and
	// signed-zero handling makes a long dependency chain per element).
	lo := mp[0]
	for _, v := range mp[:m*m] {
		if v < lo {
			lo = v
		}
	}
	hi := 0.0
	for i, v := range mp[:m*m] {
		v -= lo
		mp[i] = v
		if v > hi {
			hi = v
		}
	}
	for i, v := range mp[:m*m] {
		mp[i] = v / hi
	}
}

var fogPool = sync.Pool{New: func() any { return new([]float64) }}

// fog is the fog corruption: y = x + s·P (P the plasma map's top-left H×W, the same
// for every channel), out = clip(y·m/(m+s), 0, 1)·255 with m the image's maximum of x.
func fog(src Image, sev int, rng RNG, opt *Options) Image {
	ps := paramSetOf(opt)
	p := fogParams[ps][sev-1]
	h, w, c := src.H, src.W, src.C
	m := fogMapSize(ps, h, w)
	bp := fogPool.Get().(*[]float64)
	defer fogPool.Put(bp)
	if cap(*bp) < m*m {
		*bp = make([]float64, m*m)
	}
	mp := (*bp)[:m*m]
	plasmaFractal(mp, m, p.decay, rng)
	var top uint8
	for _, v := range src.Pix {
		top = max(top, v)
	}
	mx := float64(top) / 255
	den := mx + p.strength
	out := NewImage(h, w, c)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			add := float64(p.strength * mp[y*m+x])
			i := (y*w + x) * c
			for ch := 0; ch < c; ch++ {
				v := inv255[src.Pix[i+ch]] + add // float64(x)/255, tabulated
				out.Pix[i+ch] = unit8(float64(v*mx) / den)
			}
		}
	}
	return out
}
