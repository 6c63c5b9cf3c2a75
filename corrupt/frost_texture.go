package corrupt

import (
	"math"
	"sync"
)

// Procedural frost textures: the default of the frost corruption, so that it needs no
// image files. Five textures with the sizes of the original frost1–frost5 are drawn
// from a seed; each is deterministic for its seed (on one platform: Go may fuse
// multiply-adds on some architectures, which can move a pixel by one level).
//
// Method (per texture):
//
//  1. Haze: fractal value noise (fBm: octaves of smoothly interpolated lattice noise,
//     each half the cell size and about half the amplitude of the previous), the
//     uneven milky layer of ice on glass. Texture 1, which in the original is a sheet
//     of wrinkled ice rather than crystals, adds ridged noise (1 − |2n − 1|)^4, whose
//     thin crests are the folds of the ice, and their relief lit from the upper left
//     (minus the sum of the central differences), which gives the crumpled look.
//  2. Crystals: dendrites grown as recursive branching strokes. A crystal is either a
//     fern (one stem) or a six-armed star (arms 60° apart, as ice grows on its
//     hexagonal lattice). Along each stem, side branches sprout alternately left and
//     right at about ±60°, their length proportional to the remaining stem (so
//     fronds taper towards the tip), and recurse two levels. Stems wiggle
//     slightly, thin out and fade towards their tips. Strokes are rasterised as
//     anti-aliased discs every half pixel, combined with max. Crystals are seeded
//     uniformly until a per-texture budget of stroke length per pixel is spent; their
//     sizes follow a skewed distribution (many small, a few large), which with the
//     recursion gives the self-similar, fractal look of frost.
//  3. Glow: the crystal layer blurred (three box passes ≈ Gaussian) and added back,
//     the light scattered around the crystals.
//  4. Grain: faint per-pixel noise.
//  5. Colour: the intensity field is mapped through a dark blue-grey → bluish-white
//     ramp with a slight low-frequency tint variation per channel, then each channel
//     is standardised to the mean and standard deviation measured on the original
//     texture (listed in frostSpecs) and rounded to 8 bits.
//
// The result matches the originals' per-channel statistics to within a few levels
// (clipping at 0 and 255 moves them slightly) and looks like frost on a window.

// frostSpec describes one procedural texture: its size, the per-channel (R, G, B)
// statistics of the original it replaces, and the mix of the layers.
type frostSpec struct {
	h, w      int
	mean, std [3]float64
	// density is the stroke length budget per pixel; maxLen the length of the
	// largest crystals in pixels; star the fraction of six-armed crystals.
	density, maxLen, star float64
	// weights of haze, ridges, embossed relief, crystals and glow in the intensity
	// field.
	haze, ridge, emboss, crystal, glow float64
	// width scales the stroke radius.
	width float64
}

// frostSpecs: sizes and statistics of the original frost1.png … frost5.jpg as
// decoded by OpenCV (mean and standard deviation of R, G, B over the whole image).
var frostSpecs = [5]frostSpec{
	{h: 600, w: 900, mean: [3]float64{77.67, 149.12, 165.74}, std: [3]float64{26.91, 16.48, 15.33},
		density: 0.08, maxLen: 120, star: 0.1, haze: 1, ridge: 0.3, emboss: 0.35, crystal: 0.3, glow: 0.2, width: 0.7},
	{h: 315, w: 560, mean: [3]float64{200.79, 205.38, 214.48}, std: [3]float64{21.37, 22.09, 22.57},
		density: 1.3, maxLen: 110, star: 0.1, haze: 0.35, crystal: 1, glow: 0.4, width: 0.8},
	{h: 315, w: 560, mean: [3]float64{200.79, 205.38, 214.48}, std: [3]float64{21.37, 22.09, 22.57},
		density: 1.2, maxLen: 80, star: 0.25, haze: 0.35, crystal: 1, glow: 0.4, width: 0.8},
	{h: 350, w: 527, mean: [3]float64{137.62, 152.77, 165.18}, std: [3]float64{28.48, 28.49, 29.86},
		density: 1.0, maxLen: 60, star: 0.35, haze: 0.45, crystal: 1, glow: 0.4, width: 0.7},
	{h: 495, w: 660, mean: [3]float64{112.38, 123.37, 134.75}, std: [3]float64{44.42, 43.26, 41.66},
		density: 1.1, maxLen: 140, star: 0.05, haze: 0.6, crystal: 1.1, glow: 0.4, width: 0.8},
}

// frostProc is one cached procedural texture set.
type frostProc struct {
	once sync.Once
	ft   *FrostTextures
}

var frostProcCache sync.Map // seed → *frostProc

// ProceduralFrost returns the five procedural frost textures of a seed (sizes
// 600×900, 315×560, 315×560, 350×527, 495×660, RGB). They are generated once per
// process and seed (the five in parallel; about 4 MB per seed, kept for the life of
// the process) and shared: callers must not modify them.
func ProceduralFrost(seed uint64) *FrostTextures {
	v, ok := frostProcCache.Load(seed)
	if !ok {
		v, _ = frostProcCache.LoadOrStore(seed, &frostProc{})
	}
	e := v.(*frostProc)
	e.once.Do(func() {
		ft := &FrostTextures{Images: make([]Image, len(frostSpecs))}
		var wg sync.WaitGroup
		for i := range frostSpecs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ft.Images[i] = generateFrost(&frostSpecs[i], frostTextureSeed(seed, i))
			}()
		}
		wg.Wait()
		e.ft = ft
	})
	return e.ft
}

// frostTextureSeed derives the generator seed of texture i from the set's seed.
func frostTextureSeed(seed uint64, i int) uint64 {
	return frostHash64(seed ^ uint64(i+1)*0x9e3779b97f4a7c15)
}

// frostRand is a small deterministic generator (splitmix64) for texture synthesis.
type frostRand struct{ s uint64 }

func frostHash64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (r *frostRand) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	x := r.s
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// float returns a uniform value in [0, 1).
func (r *frostRand) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// rangeF returns a uniform value in [lo, hi).
func (r *frostRand) rangeF(lo, hi float64) float64 { return lo + (hi-lo)*r.float() }

// frostCanvas is a float32 intensity plane.
type frostCanvas struct {
	h, w int
	v    []float32
}

// generateFrost synthesises one texture.
func generateFrost(sp *frostSpec, seed uint64) Image {
	r := &frostRand{s: seed}
	h, w := sp.h, sp.w
	n := h * w
	size := float64(max(h, w))

	haze := fbmNoise(h, w, size/3, 6, 0.55, r)
	var ridge, relief []float32
	if sp.ridge > 0 || sp.emboss > 0 {
		// Ridged fractal noise: thin crests, the folds of wrinkled ice.
		ridge = fbmNoise(h, w, size/8, 6, 0.6, r)
		for i, v := range ridge {
			d := 1 - math.Abs(2*float64(v)-1)
			ridge[i] = float32(d * d * d * d)
		}
		// Relief: the crests lit from the upper left (central differences).
		relief = make([]float32, n)
		for y := 1; y < h-1; y++ {
			for x := 1; x < w-1; x++ {
				i := y*w + x
				gx := ridge[i+1] - ridge[i-1]
				gy := ridge[i+w] - ridge[i-w]
				relief[i] = -(gx + gy) * 4
			}
		}
		for y := 0; y < h; y++ { // edges copy their inner neighbours
			relief[y*w], relief[y*w+w-1] = relief[y*w+min(1, w-1)], relief[y*w+max(w-2, 0)]
		}
		copy(relief[:w], relief[min(1, h-1)*w:][:w])
		copy(relief[(h-1)*w:], relief[max(h-2, 0)*w:][:w])
	}
	cr := &frostCanvas{h: h, w: w, v: make([]float32, n)}
	growCrystals(cr, sp, r)
	glow := append([]float32(nil), cr.v...)
	rad := max(2, int(size/150))
	for k := 0; k < 3; k++ {
		boxBlurPlane(glow, h, w, rad)
	}
	// Intensity field.
	field := make([]float32, n)
	for i := range field {
		v := sp.haze*float64(haze[i]) + sp.crystal*float64(cr.v[i]) + sp.glow*float64(glow[i])
		if ridge != nil {
			v += sp.ridge*float64(ridge[i]) + sp.emboss*float64(relief[i])
		}
		v += 0.04 * (r.float() - 0.5)
		field[i] = float32(v)
	}
	// Colour ramp with a low-frequency tint per channel, then per-channel
	// standardisation to the original's statistics.
	dark := [3]float64{0.25, 0.33, 0.42}
	bright := [3]float64{0.93, 0.96, 1.0}
	tint := fbmNoise(h, w, size/2, 3, 0.5, r)
	img := NewImage(h, w, 3)
	plane := make([]float64, n)
	for ch := 0; ch < 3; ch++ {
		tsign := float64(ch - 1) // R and B tinted in opposite directions
		var sum, sum2 float64
		for i, f := range field {
			v := dark[ch] + (bright[ch]-dark[ch])*float64(f) + 0.08*tsign*(float64(tint[i])-0.5)
			plane[i] = v
			sum += v
			sum2 += v * v
		}
		mu := sum / float64(n)
		sd := math.Sqrt(max(sum2/float64(n)-mu*mu, 1e-12))
		g := sp.std[ch] / sd
		for i, v := range plane {
			o := sp.mean[ch] + (v-mu)*g
			img.Pix[3*i+ch] = uint8(min(max(math.Round(o), 0), 255))
		}
	}
	return img
}

// fbmNoise returns fractal value noise in [0, 1]: octaves of lattice noise
// interpolated with smoothstep weights, the first with the given cell size, each next
// one with half the cell size and gain times the amplitude.
func fbmNoise(h, w int, cell float64, octaves int, gain float64, r *frostRand) []float32 {
	out := make([]float32, h*w)
	amp := 1.0
	for o := 0; o < octaves && cell >= 1.5; o++ {
		addValueNoise(out, h, w, cell, float32(amp), r)
		amp *= gain
		cell /= 2
	}
	lo, hi := out[0], out[0]
	for _, v := range out {
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi > lo {
		s := 1 / (hi - lo)
		for i, v := range out {
			out[i] = (v - lo) * s
		}
	}
	return out
}

// addValueNoise adds amp times one octave of value noise (random lattice values,
// smoothstep-interpolated) with the given cell size.
func addValueNoise(out []float32, h, w int, cell float64, amp float32, r *frostRand) {
	gw := int(float64(w)/cell) + 2
	gh := int(float64(h)/cell) + 2
	grid := make([]float32, gw*gh)
	for i := range grid {
		grid[i] = float32(r.float())
	}
	ix := make([]int, w)
	fx := make([]float32, w)
	for x := 0; x < w; x++ {
		g := float64(x) / cell
		ix[x] = int(g)
		fx[x] = smoothstep(float32(g - math.Floor(g)))
	}
	for y := 0; y < h; y++ {
		g := float64(y) / cell
		iy := int(g)
		fy := smoothstep(float32(g - math.Floor(g)))
		r0 := grid[iy*gw:][:gw]
		r1 := grid[(iy+1)*gw:][:gw]
		o := out[y*w:][:w]
		for x := range o {
			i := ix[x]
			a := r0[i] + (r0[i+1]-r0[i])*fx[x]
			b := r1[i] + (r1[i+1]-r1[i])*fx[x]
			o[x] += amp * (a + (b-a)*fy)
		}
	}
}

func smoothstep(t float32) float32 { return t * t * (3 - 2*t) }

// growCrystals seeds crystals until the stroke length budget is spent.
func growCrystals(c *frostCanvas, sp *frostSpec, r *frostRand) {
	budget := sp.density * float64(c.h*c.w)
	for budget > 0 {
		x := r.rangeF(-10, float64(c.w)+10)
		y := r.rangeF(-10, float64(c.h)+10)
		u := r.float()
		length := sp.maxLen * (0.2 + 0.8*u*u)
		bright := 0.35 + 0.65*r.float()
		width := sp.width * (0.7 + 0.6*u)
		if r.float() < sp.star {
			a0 := r.rangeF(0, math.Pi/3)
			for k := 0; k < 6; k++ {
				budget -= c.branch(r, x, y, a0+float64(k)*math.Pi/3, length*0.4*r.rangeF(0.8, 1.1), width, bright, 2)
			}
			continue
		}
		budget -= c.branch(r, x, y, r.rangeF(0, 2*math.Pi), length, width, bright, 2)
	}
}

// branch draws one stem from (x, y) in direction angle and recursively its side
// branches; it returns the stroke length drawn.
func (c *frostCanvas) branch(r *frostRand, x, y, angle, length, width, bright float64, depth int) float64 {
	const step = 0.5
	drawn := 0.0
	gap := math.Max(1.2, length*0.05) * r.rangeF(0.7, 1.3)
	next := gap * r.rangeF(0.5, 1.5)
	side := 1.0
	if r.float() < 0.5 {
		side = -1
	}
	ca, sa := math.Cos(angle), math.Sin(angle)
	for s := 0.0; s < length; s += step {
		t := s / length
		x += step * ca
		y += step * sa
		if int(s/step)%4 == 0 { // wiggle
			angle += 0.08 * (r.float() - 0.5)
			ca, sa = math.Cos(angle), math.Sin(angle)
		}
		c.splat(x, y, width*(1-0.6*t), bright*(1-0.5*t))
		drawn += step
		if depth > 0 && s >= next {
			sub := (length - s) * r.rangeF(0.2, 0.45)
			if sub > 1.5 {
				a := angle + side*(math.Pi/3+0.1*(r.float()-0.5))
				drawn += c.branch(r, x, y, a, sub, width*0.7, bright*0.85, depth-1)
				if r.float() < 0.7 { // often a pair
					a = angle - side*(math.Pi/3+0.1*(r.float()-0.5))
					drawn += c.branch(r, x, y, a, sub*r.rangeF(0.7, 1), width*0.7, bright*0.85, depth-1)
				}
			}
			side = -side
			next += gap * r.rangeF(0.6, 1.4)
		}
		if x < -length || y < -length || x > float64(c.w)+length || y > float64(c.h)+length {
			break
		}
	}
	return drawn
}

// splat draws an anti-aliased disc of radius rad and intensity v at (x, y) with max.
func (c *frostCanvas) splat(x, y, rad, v float64) {
	rad = max(rad, 0.35)
	x0, x1 := int(math.Floor(x-rad-0.5)), int(math.Ceil(x+rad+0.5))
	y0, y1 := int(math.Floor(y-rad-0.5)), int(math.Ceil(y+rad+0.5))
	x0, y0 = max(x0, 0), max(y0, 0)
	x1, y1 = min(x1, c.w-1), min(y1, c.h-1)
	outer := (rad + 0.5) * (rad + 0.5)
	for py := y0; py <= y1; py++ {
		dy := float64(py) - y
		row := c.v[py*c.w:][:c.w]
		for px := x0; px <= x1; px++ {
			dx := float64(px) - x
			d2 := dx*dx + dy*dy
			if d2 >= outer {
				continue
			}
			cov := rad + 0.5 - math.Sqrt(d2)
			if cov > 1 {
				cov = 1
			}
			if a := float32(v * cov); a > row[px] {
				row[px] = a
			}
		}
	}
}

// boxBlurPlane blurs an h×w plane in place with a (2r+1)-wide box, rows then
// columns, edges clamped.
func boxBlurPlane(v []float32, h, w, r int) {
	line := make([]float32, max(h, w))
	blur1 := func(get func(i int) float32, set func(i int, x float32), n int) {
		for i := 0; i < n; i++ {
			line[i] = get(i)
		}
		norm := 1 / float32(2*r+1)
		var acc float32
		for k := -r; k <= r; k++ {
			acc += line[min(max(k, 0), n-1)]
		}
		for i := 0; i < n; i++ {
			set(i, acc*norm)
			acc += line[min(i+r+1, n-1)] - line[max(i-r, 0)]
		}
	}
	for y := 0; y < h; y++ {
		row := v[y*w:][:w]
		blur1(func(i int) float32 { return row[i] }, func(i int, x float32) { row[i] = x }, w)
	}
	for x := 0; x < w; x++ {
		blur1(func(i int) float32 { return v[i*w+x] }, func(i int, s float32) { v[i*w+x] = s }, h)
	}
}
