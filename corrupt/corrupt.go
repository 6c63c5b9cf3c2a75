package corrupt

import (
	"fmt"
	"sort"
	"strings"
)

// Image is an 8-bit image in row-major H×W×C layout (C is 1 or 3).
type Image struct {
	H, W, C int
	Pix     []uint8
}

// NewImage allocates a zeroed image.
func NewImage(h, w, c int) Image {
	return Image{H: h, W: w, C: c, Pix: make([]uint8, h*w*c)}
}

// At returns the value at row y, column x, channel ch.
func (m Image) At(y, x, ch int) uint8 { return m.Pix[(y*m.W+x)*m.C+ch] }

// Clone returns a deep copy.
func (m Image) Clone() Image {
	p := make([]uint8, len(m.Pix))
	copy(p, m.Pix)
	return Image{H: m.H, W: m.W, C: m.C, Pix: p}
}

// ParamSet selects the per-severity constants: the CIFAR-10-C set (32×32 images) or
// the ImageNet-C set (224×224 images).
type ParamSet int

const (
	// CIFAR is the constant set of make_cifar_c.py.
	CIFAR ParamSet = iota
	// ImageNet is the constant set of make_imagenet_c.py.
	ImageNet
)

// String returns "cifar" or "imagenet".
func (p ParamSet) String() string {
	if p == ImageNet {
		return "imagenet"
	}
	return "cifar"
}

// ParseParamSet parses "cifar" or "imagenet".
func ParseParamSet(s string) (ParamSet, error) {
	switch strings.ToLower(s) {
	case "cifar", "":
		return CIFAR, nil
	case "imagenet":
		return ImageNet, nil
	}
	return CIFAR, fmt.Errorf("unknown parameter set %q (want cifar or imagenet)", s)
}

// RNG is the source of randomness of a corruption. Its methods have the semantics of
// numpy's legacy RandomState (../shared/corrupt/PARAMS.md §2), so that a
// numpy-compatible generator reproduces the reference outputs; other implementations
// only need the same distributions.
type RNG interface {
	// Float64 is numpy's random_sample: a 53-bit double in [0, 1).
	Float64() float64
	// Uniform is lo + (hi−lo)·Float64().
	Uniform(lo, hi float64) float64
	// Normal is loc + scale·g with g a standard normal (Marsaglia polar method,
	// second value cached).
	Normal(loc, scale float64) float64
	// IntN is numpy's randint(lo, hi): an integer in [lo, hi) by masked rejection.
	IntN(lo, hi int) int
	// Poisson is numpy's legacy poisson(lam).
	Poisson(lam float64) int64
}

// Options carry what a corruption needs besides the image, the severity and the RNG.
type Options struct {
	// Params selects the CIFAR or ImageNet constants.
	Params ParamSet
	// Frost supplies the frost textures; nil means procedurally generated ones.
	Frost *FrostTextures
}

// FrostTextures are the frost images blended in by the frost corruption: the five
// textures frost1..frost5 of the original (frost6 is never used) as full-resolution
// RGB images, or procedurally generated ones of the same sizes.
type FrostTextures struct {
	Images []Image
}

// Func corrupts src (3-channel RGB) at severity sev (1..5) and returns the result, an
// image of the same size. It must not modify src.
type Func func(src Image, sev int, rng RNG, opt *Options) Image

// Corruption describes one corruption.
type Corruption struct {
	// Name is the benchmark's name, e.g. "gaussian_noise".
	Name string
	// Index is the corruption's 0-based position in the order of the reference
	// seeding rule (gaussian_noise=0 … saturate=18).
	Index int
	// Family is noise, blur, weather or digital; the extra corruptions belong to
	// theirs too (speckle_noise: noise, gaussian_blur: blur, spatter: weather,
	// saturate: digital) and are told apart by Benchmark.
	Family string
	// Benchmark is true for the 15 corruptions of the benchmark, false for the 4 extra.
	Benchmark bool
	// Random is true when the corruption draws random numbers.
	Random bool
	// Apply computes the corruption on a 3-channel image.
	Apply Func
}

var registry = map[string]*Corruption{}

// register adds a corruption; called from the init function of each family's file.
func register(c *Corruption) {
	if _, dup := registry[c.Name]; dup {
		panic("corrupt: duplicate corruption " + c.Name)
	}
	if c.Index < 0 || c.Index >= len(Names) || Names[c.Index] != c.Name {
		panic(fmt.Sprintf("corrupt: %s registered with index %d, which Names gives to another corruption", c.Name, c.Index))
	}
	registry[c.Name] = c
}

// Names lists the 19 corruption names in index order (the order of the reference
// seeding rule: the 15 benchmark corruptions, then speckle_noise, gaussian_blur,
// spatter, saturate).
var Names = []string{
	"gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
	"motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
	"elastic_transform", "pixelate", "jpeg_compression", "speckle_noise",
	"gaussian_blur", "spatter", "saturate",
}

// Lookup returns the corruption with the given name.
func Lookup(name string) (*Corruption, error) {
	c, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown corruption %q (known: %s)", name, strings.Join(Names, ", "))
	}
	return c, nil
}

// All returns the registered corruptions in index order.
func All() []*Corruption {
	out := make([]*Corruption, 0, len(registry))
	for _, c := range registry {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}
