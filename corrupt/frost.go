package corrupt

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/divres/divres/corrupt/internal/ljpeg"
)

// frost (../shared/corrupt/PARAMS.md §4, ci 8): a random crop of a frost texture
// blended onto the image, out = clip(a·pixel + b·frost, 0, 255) in float64 on the
// 0..255 scale.
//
// Random draws, as the original: the texture index randint(0, n) (n = 5), then the
// crop's top row y0 = randint(0, Ht − H) and left column x0 = randint(0, Wt − W),
// where Ht × Wt is the size of the texture after scaling (the high ends are
// exclusive, so the last possible offset is never chosen).
//
// Texture scale. The CIFAR original shrinks each texture with OpenCV's
// resize(fx = fy = 0.2, INTER_LINEAR), which for that factor is the subsample
// [2::5, 2::5]; the ImageNet original crops the full-resolution texture. For other
// image sizes the factor keeps the crop covering the same part of the texture as the
// original does at its own size: with S = max(H, W),
//
//	CIFAR constants:    f = S / 160  (0.2 at 32×32)
//	ImageNet constants: f = S / 224  (1, no resize, at 224×224)
//
// and is raised, if needed, until the scaled texture is larger than the image on both
// axes (the original textures always are). Scaled textures are computed once per
// texture set and image size and cached; when a set would be too large to keep (big
// images under the CIFAR constants), each crop is resized on demand instead, with the
// same pixels.

func init() {
	register(&Corruption{Name: "frost", Index: 8, Family: "weather", Benchmark: true, Random: true, Apply: frost})
}

// frostParams are the (image weight a, frost weight b) per severity.
var frostParams = sevParams[[2]float64]{
	cifar:    [5][2]float64{{1, 0.2}, {1, 0.3}, {0.9, 0.4}, {0.85, 0.4}, {0.75, 0.45}},
	imagenet: [5][2]float64{{1, 0.4}, {0.8, 0.6}, {0.7, 0.7}, {0.65, 0.7}, {0.6, 0.75}},
}

// FrostFiles are the texture files LoadFrostDir reads, in the order of the
// original's texture index (frost6.jpg is never used by the original).
var FrostFiles = []string{"frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg"}

// defaultFrostSeed is the seed of the procedural textures used when Options.Frost is
// nil.
const defaultFrostSeed = 0x66726f7374 // "frost"

// LoadFrostDir reads the original frost textures FrostFiles from dir as
// full-resolution RGB images, decoded as OpenCV's imread(IMREAD_COLOR) does: PNG
// alpha is dropped, 16-bit samples keep their high byte, grey is replicated, and JPEG
// is decoded like libjpeg-turbo (islow IDCT, fancy upsampling).
func LoadFrostDir(dir string) (*FrostTextures, error) {
	ft := &FrostTextures{Images: make([]Image, len(FrostFiles))}
	for i, name := range FrostFiles {
		img, err := LoadFrostImage(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("frost textures: %w", err)
		}
		ft.Images[i] = img
	}
	return ft, nil
}

// LoadFrostImage reads one PNG or JPEG texture (recognised by content) as RGB.
func LoadFrostImage(path string) (Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Image{}, fmt.Errorf("read %s: %w", path, err)
	}
	img, err := decodeTexture(data)
	if err != nil {
		return Image{}, fmt.Errorf("decode %s: %w", path, err)
	}
	if img.H < 2 || img.W < 2 {
		return Image{}, fmt.Errorf("decode %s: texture is %d×%d, too small", path, img.W, img.H)
	}
	return img, nil
}

var (
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
	jpegMagic = []byte{0xff, 0xd8}
)

// decodeTexture decodes PNG or JPEG data to an RGB image.
func decodeTexture(data []byte) (Image, error) {
	switch {
	case bytes.HasPrefix(data, pngMagic):
		// The header's size is checked before the pixels are allocated.
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return Image{}, err
		}
		if int64(cfg.Width)*int64(cfg.Height) > int64(ljpeg.MaxPixels) {
			return Image{}, fmt.Errorf("PNG header claims %d×%d pixels (at most %d are read)", cfg.Width, cfg.Height, ljpeg.MaxPixels)
		}
		m, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return Image{}, err
		}
		return imageToRGB(m), nil
	case bytes.HasPrefix(data, jpegMagic):
		pix, w, h, c, err := ljpeg.Decode(data)
		if err != nil {
			return Image{}, err
		}
		img := Image{H: h, W: w, C: c, Pix: pix}
		if c == 1 {
			img = greyToRGB(img)
		}
		if img.C != 3 {
			return Image{}, fmt.Errorf("unsupported JPEG with %d channels", c)
		}
		return img, nil
	}
	return Image{}, errors.New("not a PNG or JPEG file")
}

// greyToRGB replicates a single channel into R, G and B.
func greyToRGB(g Image) Image {
	out := NewImage(g.H, g.W, 3)
	for i, v := range g.Pix {
		out.Pix[3*i], out.Pix[3*i+1], out.Pix[3*i+2] = v, v, v
	}
	return out
}

// imageToRGB converts a decoded PNG to 8-bit RGB the way OpenCV's PNG reader does for
// IMREAD_COLOR: alpha is stripped (not composited), 16-bit samples keep the high
// byte, grey is replicated, palettes are expanded.
func imageToRGB(m image.Image) Image {
	b := m.Bounds()
	out := NewImage(b.Dy(), b.Dx(), 3)
	i := 0
	each := func(f func(x, y int) (r, g, b uint8)) {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				out.Pix[i], out.Pix[i+1], out.Pix[i+2] = f(x, y)
				i += 3
			}
		}
	}
	switch t := m.(type) {
	case *image.NRGBA: // 8-bit RGBA (alpha stripped) and grey+alpha
		each(func(x, y int) (uint8, uint8, uint8) {
			p := t.Pix[t.PixOffset(x, y):]
			return p[0], p[1], p[2]
		})
	case *image.RGBA: // opaque 8-bit RGB
		each(func(x, y int) (uint8, uint8, uint8) {
			p := t.Pix[t.PixOffset(x, y):]
			return p[0], p[1], p[2]
		})
	case *image.Gray:
		each(func(x, y int) (uint8, uint8, uint8) {
			v := t.Pix[t.PixOffset(x, y)]
			return v, v, v
		})
	case *image.NRGBA64: // 16-bit: high bytes
		each(func(x, y int) (uint8, uint8, uint8) {
			p := t.Pix[t.PixOffset(x, y):]
			return p[0], p[2], p[4]
		})
	case *image.RGBA64:
		each(func(x, y int) (uint8, uint8, uint8) {
			p := t.Pix[t.PixOffset(x, y):]
			return p[0], p[2], p[4]
		})
	case *image.Gray16:
		each(func(x, y int) (uint8, uint8, uint8) {
			v := t.Pix[t.PixOffset(x, y)]
			return v, v, v
		})
	case *image.Paletted: // palette entries without their alpha
		each(func(x, y int) (uint8, uint8, uint8) {
			c := color.NRGBAModel.Convert(t.Palette[t.Pix[t.PixOffset(x, y)]]).(color.NRGBA)
			return c.R, c.G, c.B
		})
	default:
		each(func(x, y int) (uint8, uint8, uint8) {
			c := color.NRGBA64Model.Convert(m.At(x, y)).(color.NRGBA64)
			return uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8)
		})
	}
	return out
}

// frostScaleFactor returns the texture scale factor for an h×w image (see the
// comment at the top of this file).
func frostScaleFactor(ps ParamSet, h, w int) float64 {
	s := float64(max(h, w))
	if ps == ImageNet {
		return s / 224
	}
	return s / 160
}

// frostFit raises f, if needed, until the scaled texture round(th·f) × round(tw·f)
// (OpenCV's half-to-even output size) is larger than the h×w image on both axes.
func frostFit(f float64, th, tw, h, w int) float64 {
	for math.RoundToEven(float64(th)*f) <= float64(h) || math.RoundToEven(float64(tw)*f) <= float64(w) {
		f = max(f, float64(h+1)/float64(th), float64(w+1)/float64(tw)) * 1.01
	}
	return f
}

// frostCacheKey identifies a set of textures prepared for one image size.
type frostCacheKey struct {
	ft *FrostTextures
	ps ParamSet
	h  int
	w  int
}

// frostPrepared is one texture prepared for an image size: the scale factor and the
// scaled size, and the scaled pixels when the set is small enough to keep them (else
// each crop is computed from the original texture on demand, with the same result).
type frostPrepared struct {
	src    Image
	f      float64
	sh, sw int
	scaled Image // empty when crops are computed on demand
}

// frostSet is a texture set prepared for one image size.
type frostSet struct {
	once  sync.Once
	texs  []frostPrepared
	bytes int64
}

const (
	frostCacheMax   = 64        // sets
	frostCacheBytes = 256 << 20 // scaled pixels kept by all sets
)

// frostScaledPerSet is the largest scaled texture set (in bytes) whose pixels are
// kept; larger sets resize each crop on demand.
var frostScaledPerSet = 32 << 20

var (
	frostCache      sync.Map // frostCacheKey → *frostSet
	frostCacheCount atomic.Int64
	frostCacheSize  atomic.Int64
)

// preparedFrost returns ft's textures prepared for an h×w image under ps, computed
// once and cached (the cache is emptied when it holds more than frostCacheMax sets or
// frostCacheBytes of scaled pixels). The cache is keyed by the FrostTextures
// pointer: textures must not be modified after their first use.
func preparedFrost(ft *FrostTextures, ps ParamSet, h, w int) []frostPrepared {
	key := frostCacheKey{ft, ps, h, w}
	v, ok := frostCache.Load(key)
	if !ok {
		if frostCacheCount.Load() >= frostCacheMax || frostCacheSize.Load() >= frostCacheBytes {
			frostCache.Clear()
			frostCacheCount.Store(0)
			frostCacheSize.Store(0)
		}
		var loaded bool
		v, loaded = frostCache.LoadOrStore(key, &frostSet{})
		if !loaded {
			frostCacheCount.Add(1)
		}
	}
	e := v.(*frostSet)
	e.once.Do(func() {
		f0 := frostScaleFactor(ps, h, w)
		e.texs = make([]frostPrepared, len(ft.Images))
		total := 0
		for i, t := range ft.Images {
			f := frostFit(f0, t.H, t.W, h, w)
			sh, sw := resizedSize(t.H, t.W, f, f)
			e.texs[i] = frostPrepared{src: t, f: f, sh: sh, sw: sw}
			if f == 1 {
				e.texs[i].sh, e.texs[i].sw, e.texs[i].scaled = t.H, t.W, t
			} else {
				total += sh * sw * t.C
			}
		}
		if total <= frostScaledPerSet {
			for i := range e.texs {
				if t := &e.texs[i]; t.f != 1 {
					t.scaled = resizeLinearU8(t.src, t.f, t.f)
				}
			}
			e.bytes = int64(total)
			frostCacheSize.Add(e.bytes)
		}
	})
	return e.texs
}

// crop returns the h×w window at (y0, x0) of the scaled texture as an image and the
// offset of the window in it.
func (t *frostPrepared) crop(y0, x0, h, w int) (Image, int, int) {
	if t.scaled.Pix != nil {
		return t.scaled, y0, x0
	}
	return resizeLinearRegion(t.src, t.f, t.f, y0, x0, h, w), 0, 0
}

// frostTextures returns the textures of opt, or the cached procedural ones.
func frostTextures(opt *Options) *FrostTextures {
	if opt != nil && opt.Frost != nil && len(opt.Frost.Images) > 0 {
		return opt.Frost
	}
	return ProceduralFrost(defaultFrostSeed)
}

// frost applies the corruption to a 3-channel image of any size.
func frost(src Image, sev int, rng RNG, opt *Options) Image {
	ab := frostParams.get(paramsOf(opt), clampSev(sev))
	h, w, c := src.H, src.W, src.C
	texs := preparedFrost(frostTextures(opt), paramsOf(opt), h, w)
	tp := &texs[rng.IntN(0, len(texs))]
	y0 := rng.IntN(0, tp.sh-h)
	x0 := rng.IntN(0, tp.sw-w)
	t, ty, tx := tp.crop(y0, x0, h, w)

	var ta, tb [256]float64
	for v := range ta {
		ta[v] = ab[0] * float64(v)
		tb[v] = ab[1] * float64(v)
	}
	out := NewImage(h, w, c)
	tc := t.C
	for y := 0; y < h; y++ {
		trow := t.Pix[((ty+y)*t.W+tx)*tc:][:w*tc]
		srow := src.Pix[y*w*c:][:w*c]
		orow := out.Pix[y*w*c:][:w*c]
		if c == 3 && tc == 3 {
			for i, p := range srow {
				orow[i] = frostMix(ta[p], tb[trow[i]])
			}
			continue
		}
		for x := 0; x < w; x++ {
			for ch := 0; ch < c; ch++ {
				orow[x*c+ch] = frostMix(ta[srow[x*c+ch]], tb[trow[x*tc+min(ch, tc-1)]])
			}
		}
	}
	return out
}

// frostMix is np.uint8(np.clip(a·p + b·f, 0, 255)) given the two products.
func frostMix(ap, bf float64) uint8 {
	v := ap + bf
	if v >= 255 {
		return 255
	}
	return uint8(v)
}
