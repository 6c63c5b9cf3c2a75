package corrupt

import "fmt"

// MinSize is the smallest image side the corruptions accept.
const MinSize = 8

// Apply validates its arguments and corrupts img with c at severity sev.
//
// img may be RGB (C = 3) or grayscale (C = 1). A grayscale image is expanded to RGB by
// copying the grey value to R, G and B (exactly how the reference inputs were built
// from Fashion-MNIST), corrupted, and reduced back to one channel with ITU-R 601 luma
// in Pillow's fixed point, Y = (19595·R + 38470·G + 7471·B + 2¹⁵) >> 16 (what
// Image.convert("L") computes). The weights sum to 2¹⁶, so a grey result (R = G = B)
// gives back its grey value exactly and a grey → RGB → grey round trip is the identity.
//
// rng may be nil for corruptions that draw no random numbers; opt may be nil (CIFAR
// constants, procedural frost). A failure inside a corruption is returned as an error,
// never a panic.
func Apply(c *Corruption, img Image, sev int, rng RNG, opt *Options) (out Image, err error) {
	if c == nil || c.Apply == nil {
		return Image{}, fmt.Errorf("corrupt: no corruption given")
	}
	if sev < 1 || sev > 5 {
		return Image{}, fmt.Errorf("%s: severity %d not in 1…5", c.Name, sev)
	}
	if img.C != 1 && img.C != 3 {
		return Image{}, fmt.Errorf("%s: %d channels, want 1 (grayscale) or 3 (RGB)", c.Name, img.C)
	}
	if img.H < MinSize || img.W < MinSize {
		return Image{}, fmt.Errorf("%s: image %d×%d is smaller than %d×%d", c.Name, img.H, img.W, MinSize, MinSize)
	}
	if len(img.Pix) != img.H*img.W*img.C {
		return Image{}, fmt.Errorf("%s: image has %d values, want %d×%d×%d", c.Name, len(img.Pix), img.H, img.W, img.C)
	}
	if rng == nil {
		if c.Random {
			return Image{}, fmt.Errorf("%s: needs a random generator", c.Name)
		}
		rng = noRNG{}
	}
	defer func() {
		if p := recover(); p != nil {
			out, err = Image{}, fmt.Errorf("%s severity %d on a %d×%d image: %v", c.Name, sev, img.H, img.W, p)
		}
	}()
	if img.C == 3 {
		res := c.Apply(img, sev, rng, opt)
		return res, checkOutput(c, img, res)
	}
	rgb := GrayToRGB(img)
	res := c.Apply(rgb, sev, rng, opt)
	if err := checkOutput(c, rgb, res); err != nil {
		return Image{}, err
	}
	return RGBToGray(res), nil
}

// checkOutput verifies that a corruption returned an image of the input's shape.
func checkOutput(c *Corruption, in, out Image) error {
	if out.H != in.H || out.W != in.W || out.C != in.C || len(out.Pix) != len(in.Pix) {
		return fmt.Errorf("%s: returned a %d×%d×%d image for a %d×%d×%d input", c.Name, out.H, out.W, out.C, in.H, in.W, in.C)
	}
	return nil
}

// GrayToRGB copies the grey value of a 1-channel image to R, G and B.
func GrayToRGB(img Image) Image {
	out := NewImage(img.H, img.W, 3)
	for i, v := range img.Pix {
		out.Pix[3*i], out.Pix[3*i+1], out.Pix[3*i+2] = v, v, v
	}
	return out
}

// RGBToGray reduces an RGB image to one channel with Pillow's "L" conversion
// (ITU-R 601 luma, rounded): grey pixels keep their value exactly.
func RGBToGray(img Image) Image {
	out := NewImage(img.H, img.W, 1)
	for i := range out.Pix {
		r, g, b := uint32(img.Pix[3*i]), uint32(img.Pix[3*i+1]), uint32(img.Pix[3*i+2])
		out.Pix[i] = uint8((19595*r + 38470*g + 7471*b + 1<<15) >> 16)
	}
	return out
}

// noRNG stands in for a generator when a deterministic corruption is applied without
// one; it is never drawn from.
type noRNG struct{}

func (noRNG) Float64() float64               { panic("corrupt: deterministic corruption drew a random number") }
func (noRNG) Uniform(lo, hi float64) float64 { return noRNG{}.Float64() }
func (noRNG) Normal(loc, sc float64) float64 { return noRNG{}.Float64() }
func (noRNG) IntN(lo, hi int) int            { return int(noRNG{}.Float64()) }
func (noRNG) Poisson(lam float64) int64      { return int64(noRNG{}.Float64()) }
