package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // register the JPEG decoder
	_ "image/png"  // register the PNG decoder
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/image/draw"
)

// FolderOptions say how an image folder is read.
type FolderOptions struct {
	// Eager decodes every image when the folder is opened (memory: C·H·W bytes per
	// image); otherwise images are decoded from disk on every access.
	Eager bool
	// Width and Height resize every image to that size (bilinear); zero means the
	// size of the first image, which every other image must then have.
	Width, Height int
	// Gray reads the images as one luminance channel; otherwise as RGB.
	Gray bool
}

// Folder is a dataset of image files laid out as root/<class>/<file>.png|jpg|jpeg:
// classes are the subdirectories sorted by name, files are found recursively and
// sorted by path.
type Folder struct {
	root    string
	opts    FolderOptions
	c, h, w int
	files   []string
	labels  []int32
	classes []string
	mem     *Memory // set when eager
}

func isImageFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// OpenFolder lists an image folder and, with opts.Eager, decodes it.
func OpenFolder(root string, opts FolderOptions) (*Folder, error) {
	if opts.Width < 0 || opts.Height < 0 || (opts.Width == 0) != (opts.Height == 0) {
		return nil, fmt.Errorf("image folder %s: bad size %d×%d (give both or neither)", root, opts.Width, opts.Height)
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("image folder: %w", err)
	}
	f := &Folder{root: root, opts: opts, c: 3}
	if opts.Gray {
		f.c = 1
	}
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		f.classes = append(f.classes, e.Name())
	}
	sort.Strings(f.classes)
	if len(f.classes) == 0 {
		return nil, fmt.Errorf("image folder %s: no class subdirectories", root)
	}
	for ci, class := range f.classes {
		var files []string
		err := filepath.WalkDir(filepath.Join(root, class), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != filepath.Join(root, class) {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() && isImageFile(d.Name()) && !strings.HasPrefix(d.Name(), ".") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("image folder %s: %w", root, err)
		}
		sort.Strings(files)
		for _, p := range files {
			f.files = append(f.files, p)
			f.labels = append(f.labels, int32(ci))
		}
	}
	if len(f.files) == 0 {
		return nil, fmt.Errorf("image folder %s: no .png/.jpg/.jpeg files under %d class directories", root, len(f.classes))
	}
	f.w, f.h = opts.Width, opts.Height
	if f.w == 0 {
		img, err := decodeImageFile(f.files[0])
		if err != nil {
			return nil, err
		}
		b := img.Bounds()
		f.w, f.h = b.Dx(), b.Dy()
		if f.w == 0 || f.h == 0 {
			return nil, fmt.Errorf("image %s is empty", f.files[0])
		}
	}
	if opts.Eager {
		m, err := Load(f)
		if err != nil {
			return nil, fmt.Errorf("image folder %s: %w", root, err)
		}
		f.mem = m
	}
	return f, nil
}

// Len implements Dataset.
func (f *Folder) Len() int { return len(f.files) }

// Shape implements Dataset.
func (f *Folder) Shape() (c, h, w int) { return f.c, f.h, f.w }

// NumClasses implements Dataset.
func (f *Folder) NumClasses() int { return len(f.classes) }

// ClassNames implements Dataset.
func (f *Folder) ClassNames() []string { return f.classes }

// Label implements Dataset.
func (f *Folder) Label(i int) int { return int(f.labels[i]) }

// Path returns the file of image i.
func (f *Folder) Path(i int) string { return f.files[i] }

// Image implements Dataset: from memory when eager, else decoded from disk.
func (f *Folder) Image(i int, dst []uint8) (int, error) {
	if f.mem != nil {
		return f.mem.Image(i, dst)
	}
	if i < 0 || i >= len(f.files) {
		return 0, fmt.Errorf("image %d out of range [0, %d)", i, len(f.files))
	}
	if len(dst) < f.c*f.h*f.w {
		return 0, fmt.Errorf("image %d: buffer of %d bytes, need %d", i, len(dst), f.c*f.h*f.w)
	}
	img, err := decodeImageFile(f.files[i])
	if err != nil {
		return 0, err
	}
	b := img.Bounds()
	if b.Dx() != f.w || b.Dy() != f.h {
		if f.opts.Width == 0 {
			return 0, fmt.Errorf("image %s is %d×%d, the folder's images are %d×%d (set a size to resize)", f.files[i], b.Dx(), b.Dy(), f.w, f.h)
		}
		dst := image.NewNRGBA(image.Rect(0, 0, f.w, f.h))
		draw.BiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
		img = dst
	}
	imageToCHW(dst, img, f.c)
	return int(f.labels[i]), nil
}

// maxImagePixels bounds the pixels of an image file that is decoded, so that a
// header claiming a huge image is refused before its pixels are allocated.
const maxImagePixels = 1 << 26

// decodeImageFile decodes a PNG or JPEG file.
func decodeImageFile(path string) (image.Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return nil, fmt.Errorf("decode %s: header claims %d×%d pixels (at most %d are read)", path, cfg.Width, cfg.Height, int64(maxImagePixels))
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return img, nil
}

// luma is the ITU-R 601 luminance of 8-bit RGB, rounded (as PIL's "L" conversion).
func luma(r, g, b uint8) uint8 {
	return uint8((19595*uint32(r) + 38470*uint32(g) + 7471*uint32(b) + 1<<15) >> 16)
}

// imageToCHW writes img as planar 8-bit channels (c = 1: luminance, c = 3: RGB) into
// dst. Alpha is dropped: the colour channels are the non-premultiplied ones.
func imageToCHW(dst []uint8, img image.Image, c int) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	plane := w * h
	put := func(p int, r, g, bl uint8) {
		if c == 1 {
			dst[p] = luma(r, g, bl)
			return
		}
		dst[p], dst[plane+p], dst[2*plane+p] = r, g, bl
	}
	switch m := img.(type) {
	case *image.Gray:
		for y := range h {
			o := m.PixOffset(b.Min.X, b.Min.Y+y)
			row := m.Pix[o : o+w]
			for x, v := range row {
				put(y*w+x, v, v, v)
			}
		}
	case *image.NRGBA:
		for y := range h {
			o := m.PixOffset(b.Min.X, b.Min.Y+y)
			row := m.Pix[o : o+4*w]
			for x := range w {
				put(y*w+x, row[4*x], row[4*x+1], row[4*x+2])
			}
		}
	case *image.YCbCr:
		for y := range h {
			for x := range w {
				yi, ci := m.YOffset(b.Min.X+x, b.Min.Y+y), m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				put(y*w+x, r, g, bl)
			}
		}
	default:
		for y := range h {
			for x := range w {
				n := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				put(y*w+x, n.R, n.G, n.B)
			}
		}
	}
}
