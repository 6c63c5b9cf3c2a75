package ensemble

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/data"
)

// datasetSource presents a data.Dataset (C×H×W) as a corrupt.Source (H×W×C).
type datasetSource struct{ ds data.Dataset }

func (s datasetSource) Len() int { return s.ds.Len() }

func (s datasetSource) Image(i int) (corrupt.Image, error) {
	c, h, w := s.ds.Shape()
	buf := make([]uint8, c*h*w)
	if _, err := s.ds.Image(i, buf); err != nil {
		return corrupt.Image{}, err
	}
	img := corrupt.NewImage(h, w, c)
	plane := h * w
	for ch := range c {
		for p, v := range buf[ch*plane : (ch+1)*plane] {
			img.Pix[p*c+ch] = v
		}
	}
	return img, nil
}

// GenerateOptions describe a corruption set generated from a clean test set.
type GenerateOptions struct {
	// Dataset is the spec of the clean dataset (part of the cache key).
	Dataset string
	// Seed and RNG drive the corruptions (corrupt.RunConfig).
	Seed uint64
	RNG  corrupt.RNGMode
	// Params picks the constants; nil chooses CIFAR for images below 128 pixels,
	// ImageNet otherwise.
	Params *corrupt.ParamSet
	// FrostDir holds the original frost images; "" uses procedural textures from
	// Seed.
	FrostDir string
	// Corruptions (nil: all 19) and Severities (nil: 1..5) to have in the set.
	Corruptions []string
	Severities  []int
	// CacheDir is the root of the cache (default DefaultCacheDir()).
	CacheDir string
	// Workers is the number of goroutines (0: all CPUs).
	Workers int
	// Progress, if set, is called with the images corrupted so far and the total.
	Progress func(done, total int)
}

// DefaultCacheDir is where generated corruption sets are cached by default: the
// "corrupted" directory under data.DefaultRoot().
func DefaultCacheDir() string { return filepath.Join(data.DefaultRoot(), "corrupted") }

// setKey is what identifies a generated set in the cache.
type setKey struct {
	Dataset    string `json:"dataset"`
	N          int    `json:"n"`
	Seed       uint64 `json:"seed"`
	RNG        string `json:"rng"`
	Params     string `json:"params"`
	Frost      string `json:"frost"`
	Severities []int  `json:"severities"`
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// canonicalSpec makes a dataset spec comparable: a known name as is, a path
// absolute and cleaned.
func canonicalSpec(spec string) string {
	if st, err := os.Stat(spec); err == nil && st.IsDir() {
		if abs, err := filepath.Abs(spec); err == nil {
			return abs
		}
	}
	if _, ok := data.NormFor(spec); ok {
		return datasetName(spec)
	}
	return filepath.Clean(spec)
}

// SetDir returns the cache directory of the set that GenerateSet makes from a test
// set of n images, and the set's description (for Result.Corruptions).
func SetDir(o GenerateOptions, n int, params corrupt.ParamSet) (dir, source string) {
	o = o.withDefaults()
	frost := "procedural"
	if o.FrostDir != "" {
		frost = filepath.Clean(o.FrostDir)
	}
	key := setKey{Dataset: canonicalSpec(o.Dataset), N: n, Seed: o.Seed, RNG: o.RNG.String(), Params: params.String(),
		Frost: frost, Severities: o.Severities}
	js, _ := json.Marshal(key)
	sum := sha256.Sum256(js)
	name := fmt.Sprintf("%s-n%d-seed%d-%s-%s", unsafeName.ReplaceAllString(datasetName(o.Dataset), "_"), n, o.Seed,
		o.RNG, hex.EncodeToString(sum[:])[:10])
	source = fmt.Sprintf("generated dataset=%s n=%d seed=%d rng=%s params=%s frost=%s", datasetName(o.Dataset), n,
		o.Seed, o.RNG, params, frost)
	return filepath.Join(o.CacheDir, name), source
}

func (o GenerateOptions) withDefaults() GenerateOptions {
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	if len(o.Severities) == 0 {
		o.Severities = []int{1, 2, 3, 4, 5}
	}
	o.Severities = append([]int(nil), o.Severities...)
	sort.Ints(o.Severities)
	if len(o.Corruptions) == 0 {
		o.Corruptions = append([]string(nil), corrupt.Names...)
	}
	return o
}

// GenerateSet returns the corruption set of the test images: read from the cache
// when it is there, otherwise made with corrupt.Run from test (at its native size and
// channel count; corrupt handles grayscale) and stored in the cache. Corruptions
// missing from a cached set are added to it. Every file appears atomically, so
// concurrent runs and interrupted generation leave a usable cache. It also returns
// the set's description for Result.Corruptions.
func GenerateSet(ctx context.Context, test data.Dataset, o GenerateOptions) (*corrupt.Set, string, error) {
	o = o.withDefaults()
	n := test.Len()
	c, h, w := test.Shape()
	if c != 1 && c != 3 {
		return nil, "", fmt.Errorf("generate corruptions: %d-channel images (want 1 or 3)", c)
	}
	params := corrupt.CIFAR
	if o.Params != nil {
		params = *o.Params
	} else if max(h, w) >= 128 {
		params = corrupt.ImageNet
	}
	dir, source := SetDir(o, n, params)
	var cs []*corrupt.Corruption
	for _, name := range o.Corruptions {
		cc, err := corrupt.Lookup(name)
		if err != nil {
			return nil, "", fmt.Errorf("generate corruptions: %w", err)
		}
		cs = append(cs, cc)
	}
	missing := cs
	if set, err := corrupt.OpenSet(dir); err == nil {
		if set.Info.N != n || !slices.Equal(set.Info.Severities, o.Severities) {
			return nil, "", fmt.Errorf("generate corruptions: cached set %s has %d images and severities %v, want %d and %v",
				dir, set.Info.N, set.Info.Severities, n, o.Severities)
		}
		missing = nil
		for _, cc := range cs {
			if !slices.Contains(set.Info.Corruptions, cc.Name) {
				missing = append(missing, cc)
			}
		}
		if len(missing) == 0 {
			return set, source, nil
		}
	}
	opt := &corrupt.Options{Params: params}
	for _, cc := range missing {
		if cc.Name != "frost" {
			continue
		}
		if o.FrostDir != "" {
			ft, err := corrupt.LoadFrostDir(o.FrostDir)
			if err != nil {
				return nil, "", fmt.Errorf("generate corruptions: %w", err)
			}
			opt.Frost = ft
		} else {
			opt.Frost = corrupt.ProceduralFrost(o.Seed)
		}
	}
	names := make([]string, len(missing))
	for i, cc := range missing {
		names[i] = cc.Name
	}
	frost := "procedural"
	if o.FrostDir != "" {
		frost = o.FrostDir
	}
	sw, err := corrupt.CreateSet(dir, names, o.Severities, n, h, w, c, corrupt.SetInfo{Seed: o.Seed, RNG: o.RNG.String(),
		Params: params.String(), Frost: frost})
	if err != nil {
		return nil, "", fmt.Errorf("generate corruptions: %w", err)
	}
	err = corrupt.Run(ctx, datasetSource{test}, corrupt.RunConfig{Corruptions: missing, Severities: o.Severities,
		Seed: o.Seed, RNG: o.RNG, Workers: o.Workers, Options: opt, Progress: o.Progress}, sw.Write)
	if err != nil {
		sw.Abort()
		return nil, "", fmt.Errorf("generate corruptions %s: %w", strings.Join(names, ","), err)
	}
	labels := make([]int64, n)
	for i := range labels {
		labels[i] = int64(test.Label(i))
	}
	if err := sw.Commit(labels); err != nil {
		return nil, "", fmt.Errorf("generate corruptions: %w", err)
	}
	set, err := corrupt.OpenSet(dir)
	if err != nil {
		return nil, "", err
	}
	return set, source, nil
}
