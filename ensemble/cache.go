package ensemble

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/corrupt"
	"github.com/divres/divres/data"
	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/internal/npyfile"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// Slice names one input set of an evaluation: the clean test set (Corruption "")
// or one corruption at one severity.
type Slice struct {
	Corruption string
	Severity   int
}

// CleanSlice is the clean test set.
var CleanSlice = Slice{}

// IsClean reports whether s is the clean test set.
func (s Slice) IsClean() bool { return s.Corruption == "" }

// String is "clean" or "<corruption>/<severity>".
func (s Slice) String() string {
	if s.IsClean() {
		return "clean"
	}
	return s.Corruption + "/" + strconv.Itoa(s.Severity)
}

// Outputs are one member's outputs on one slice, in input order.
type Outputs struct {
	N, Classes int
	Labels     []int64
	// Probs and Logits are N×Classes, row-major; Logits is nil when not asked for.
	Probs, Logits []float32
	// Features (N×D) are the penultimate features (the second output of the net's
	// Forward); nil when not asked for or not kept for this slice.
	D        int
	Features []float32
}

// PoolMember is a trained model of an ensemble: a run directory (or checkpoint
// file), its metadata and the SHA-256 of its weights file, which keys its cached
// outputs.
type PoolMember struct {
	Dir  string
	Meta Meta
	Hash string
}

// Name is the member's display name: the run directory's base name (for a model
// file of another name, that name without its extension).
func (m PoolMember) Name() string {
	d := filepath.Clean(m.Dir)
	if filepath.Base(d) == ModelFile {
		return filepath.Base(filepath.Dir(d))
	}
	if st, err := os.Stat(d); err == nil && !st.IsDir() {
		return strings.TrimSuffix(filepath.Base(d), filepath.Ext(d))
	}
	return filepath.Base(d)
}

// OpenPoolMembers reads the metadata of the checkpoints in dirs (run directories or
// model files) and hashes their weights. Members must be distinct and trained on the
// same classes (count and names) with inputs of the same shape.
func OpenPoolMembers(dirs []string) ([]PoolMember, error) {
	if len(dirs) == 0 {
		return nil, errors.New("ensemble: no members")
	}
	out := make([]PoolMember, 0, len(dirs))
	seen := map[string]string{}
	for _, d := range dirs {
		meta, file, err := ReadMeta(d)
		if err != nil {
			return nil, fmt.Errorf("ensemble member %s: %w", d, err)
		}
		h, err := hashFile(file)
		if err != nil {
			return nil, fmt.Errorf("ensemble member %s: %w", d, err)
		}
		if prev, ok := seen[h]; ok {
			return nil, fmt.Errorf("ensemble: members %s and %s are the same checkpoint", prev, d)
		}
		seen[h] = d
		m := PoolMember{Dir: d, Meta: meta, Hash: h}
		for _, o := range out {
			if o.Name() == m.Name() {
				return nil, fmt.Errorf("ensemble: members %s and %s have the same name %q: give them run directories of different names", o.Dir, d, m.Name())
			}
		}
		if len(out) > 0 {
			a := out[0].Meta
			if a.Classes != meta.Classes || !slices.Equal(a.ClassNames, meta.ClassNames) {
				return nil, fmt.Errorf("ensemble: members trained on different class sets: %s has %d classes %v, %s has %d classes %v",
					out[0].Dir, a.Classes, a.ClassNames, d, meta.Classes, meta.ClassNames)
			}
			if datasetName(a.Dataset) != datasetName(meta.Dataset) {
				return nil, fmt.Errorf("ensemble: members trained on different datasets: %s on %s, %s on %s",
					out[0].Dir, a.Dataset, d, meta.Dataset)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// InputSlice is a slice with the images it consists of, loaded on demand.
type InputSlice struct {
	Slice
	Load func() (data.Dataset, error)
}

// EvalSlices returns the clean slice (the first n images of clean; all when n is 0)
// followed by every corruption × severity of set asked for (nil names or sevs: all of
// the set's), in that order, each reading the first n images of its slice when it is
// loaded. set may be nil (clean only).
func EvalSlices(clean data.Dataset, set *corrupt.Set, names []string, sevs []int, n int) ([]InputSlice, error) {
	if n == 0 {
		n = clean.Len()
	}
	if n <= 0 || n > clean.Len() {
		return nil, fmt.Errorf("ensemble: %d images asked; the test set has %d", n, clean.Len())
	}
	if clean.Len() > n {
		clean = data.FirstK(clean, n)
	}
	out := []InputSlice{{Slice: CleanSlice, Load: func() (data.Dataset, error) { return clean, nil }}}
	if set == nil {
		return out, nil
	}
	if n > set.Info.N {
		return nil, fmt.Errorf("ensemble: %d images asked; the corruption set %s has %d per slice", n, set.Dir, set.Info.N)
	}
	if names == nil {
		names = set.Info.Corruptions
	}
	if sevs == nil {
		sevs = set.Info.Severities
	}
	for _, c := range names {
		if !slices.Contains(set.Info.Corruptions, c) {
			return nil, fmt.Errorf("ensemble: the corruption set %s has no %s", set.Dir, c)
		}
	}
	for _, s := range sevs {
		if !slices.Contains(set.Info.Severities, s) {
			return nil, fmt.Errorf("ensemble: the corruption set %s has no severity %d (has %v)", set.Dir, s, set.Info.Severities)
		}
	}
	labels, err := setLabels(set, clean, n)
	if err != nil {
		return nil, err
	}
	for _, c := range names {
		for _, s := range sevs {
			out = append(out, InputSlice{Slice: Slice{Corruption: c, Severity: s}, Load: func() (data.Dataset, error) {
				imgs, err := set.ReadRange(c, s, 0, n)
				if err != nil {
					return nil, err
				}
				return data.FromImages(imgs, labels, clean.ClassNames())
			}})
		}
	}
	return out, nil
}

// FingerprintDataset returns the SHA-256 of a dataset's content: its shape, class
// names, labels and image bytes in order. Two slices with the same fingerprint feed
// a model the same inputs.
func FingerprintDataset(ds data.Dataset) (string, error) {
	h := sha256.New()
	c, hh, w := ds.Shape()
	var hdr []byte
	for _, v := range []int{ds.Len(), c, hh, w, ds.NumClasses()} {
		hdr = binary.LittleEndian.AppendUint64(hdr, uint64(v))
	}
	h.Write(hdr)
	for _, n := range ds.ClassNames() {
		h.Write([]byte(n))
		h.Write([]byte{0})
	}
	buf := make([]byte, data.ImageSize(ds))
	var lb [8]byte
	for i := range ds.Len() {
		l, err := ds.Image(i, buf)
		if err != nil {
			return "", fmt.Errorf("fingerprint image %d: %w", i, err)
		}
		binary.LittleEndian.PutUint64(lb[:], uint64(l))
		h.Write(lb[:])
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// PredictionCache keeps members' outputs on disk so that each member runs over each
// input slice once: entries are DIR/<checkpoint hash>/<input fingerprint>/ with
// probs.npy, logits.npy (float32, N×C), features.npy (float32, N×D, when kept) and
// outputs.json (sizes, labels, the size and SHA-256 of each array file; written
// last, so an entry without it is incomplete). Every file is written atomically.
// An entry read back is checked against outputs.json (sizes, checksums, shapes,
// the count of non-finite values, the slice's labels); one that fails is
// recomputed with a warning.
type PredictionCache struct {
	Dir string
	// Log receives the warnings about entries recomputed (nil: logrus's
	// standard logger).
	Log    logrus.FieldLogger
	passes atomic.Int64
}

// NewPredictionCache opens (creating) a cache in dir.
func NewPredictionCache(dir string) (*PredictionCache, error) {
	if dir == "" {
		return nil, errors.New("prediction cache: no directory")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("prediction cache: %w", err)
	}
	return &PredictionCache{Dir: dir}, nil
}

// DefaultPredictionCacheDir is where divres caches member outputs by default.
func DefaultPredictionCacheDir() string { return filepath.Join(data.DefaultRoot(), "predictions") }

// ForwardPasses returns the number of batches this cache has run through a model
// (0 when everything came from disk).
func (c *PredictionCache) ForwardPasses() int64 { return c.passes.Load() }

// OutputsOptions configure PredictionCache.Outputs.
type OutputsOptions struct {
	// Batch and Workers as in PredictOptions.
	Batch, Workers int
	// Logits loads the logits too (they are always computed and stored).
	Logits bool
	// Features loads the penultimate features of the clean slice (stored for the
	// clean slice only: they are what activation diversity compares).
	Features bool
	// Progress, if set, is called after each slice with the number done and the total.
	Progress func(done, total int)
}

type entryInfo struct {
	Format     string  `json:"format"`
	Member     string  `json:"member"`
	Slice      string  `json:"slice"`
	N          int     `json:"n"`
	Classes    int     `json:"classes"`
	D          int     `json:"d"`
	Labels     []int64 `json:"labels"`
	Checkpoint string  `json:"checkpoint"`
	Input      string  `json:"input"`
	// Files describe each array file as written.
	Files map[string]fileSum `json:"files"`
}

// fileSum is the size and SHA-256 of a cached array file and the number of NaN
// or Inf values it held when written.
type fileSum struct {
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	NonFinite int64  `json:"nonfinite"`
}

func sumOf(b []byte) fileSum {
	h := sha256.Sum256(b)
	return fileSum{Size: int64(len(b)), SHA256: hex.EncodeToString(h[:])}
}

func countNonFinite(v []float32) int64 {
	var n int64
	for _, x := range v {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			n++
		}
	}
	return n
}

// entryFormat names the layout of outputs.json (2: with the checksums of the
// arrays; entries of format 1 are recomputed).
const entryFormat = "divres-outputs-2"

// Outputs returns every member's outputs on every slice, out[m][s], from the cache,
// running a member's model (loaded once per worker, on device dev) only over the
// slices whose entry is missing. A slice's images are loaded once and
// fingerprinted. On a multi-thread CPU the slices are shared among one-thread
// workers (RunOneThread); every output is the same as a one-thread run's.
func (c *PredictionCache) Outputs(ctx context.Context, members []PoolMember, ins []InputSlice, dev torch.Device, o OutputsOptions) ([][]*Outputs, error) {
	out := make([][]*Outputs, len(members))
	for i := range out {
		out[i] = make([]*Outputs, len(ins))
	}
	ws := make([]*outputsWorker, Workers(dev, len(ins)))
	for i := range ws {
		ws[i] = &outputsWorker{c: c, members: members, dev: dev, o: o, nets: make([]*nets.Net, len(members))}
		defer ws[i].close()
	}
	var mu sync.Mutex
	done := 0
	err := RunOneThread(ctx, dev, len(ins), func(ctx context.Context, w, si int) error {
		if err := ws[w].slice(ctx, ins[si], si, out); err != nil {
			return err
		}
		if o.Progress != nil {
			mu.Lock()
			done++
			o.Progress(done, len(ins))
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// outputsWorker computes the missing entries of the slices given to one worker
// of Outputs, with its own copy of each member's model.
type outputsWorker struct {
	c       *PredictionCache
	members []PoolMember
	dev     torch.Device
	o       OutputsOptions
	nets    []*nets.Net
}

func (w *outputsWorker) close() {
	for _, n := range w.nets {
		if n != nil {
			n.Close()
		}
	}
}

// slice fills out[·][si] for the input slice in: each member's entry read back,
// or computed and stored.
func (w *outputsWorker) slice(ctx context.Context, in InputSlice, si int, out [][]*Outputs) error {
	ds, err := in.Load()
	if err != nil {
		return fmt.Errorf("ensemble: load %s: %w", in.Slice, err)
	}
	fp, err := FingerprintDataset(ds)
	if err != nil {
		return fmt.Errorf("ensemble: %s: %w", in.Slice, err)
	}
	o := w.o
	wantF := o.Features && in.IsClean()
	for mi, m := range w.members {
		dir := filepath.Join(w.c.Dir, m.Hash[:24], fp[:24])
		r, err := readEntry(dir, m, fp, o.Logits, wantF)
		if err == nil {
			err = checkEntryLabels(dir, r, ds)
		}
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				w.c.logger().WithField("member", m.Name()).WithField("slice", in.Slice.String()).
					Warnf("prediction cache: %v; recomputing the entry", err)
			}
			if w.nets[mi] == nil {
				net, _, err := LoadModel(m.Dir, w.dev)
				if err != nil {
					return err
				}
				w.nets[mi] = net
			}
			inp, err := m.Meta.Input()
			if err != nil {
				return fmt.Errorf("ensemble member %s: %w", m.Dir, err)
			}
			r, err = w.c.run(ctx, w.nets[mi], ds, inp, w.dev, o, in.IsClean())
			if err != nil {
				return fmt.Errorf("ensemble member %s on %s: %w", m.Name(), in.Slice, err)
			}
			if err := writeEntry(dir, m, in.Slice, fp, r); err != nil {
				return err
			}
			if !o.Logits {
				r.Logits = nil
			}
			if !wantF {
				r.Features, r.D = nil, 0
			}
		}
		if r.Classes != m.Meta.Classes {
			return fmt.Errorf("ensemble member %s gives %d outputs for %d classes", m.Name(), r.Classes, m.Meta.Classes)
		}
		out[mi][si] = r
	}
	return nil
}

// logger is c.Log or logrus's standard logger.
func (c *PredictionCache) logger() logrus.FieldLogger {
	if c.Log != nil {
		return c.Log
	}
	return logrus.StandardLogger()
}

// checkEntryLabels checks that a cached entry holds one output per image of ds
// and the labels of ds.
func checkEntryLabels(dir string, r *Outputs, ds data.Dataset) error {
	if r.N != ds.Len() {
		return fmt.Errorf("cached entry %s has %d samples, the slice %d", dir, r.N, ds.Len())
	}
	for i, l := range r.Labels {
		if l != int64(ds.Label(i)) {
			return fmt.Errorf("cached entry %s: label %d of image %d, the slice has %d", dir, l, i, ds.Label(i))
		}
	}
	return nil
}

// run computes a model's outputs on ds: softmax probabilities, logits and (when
// features is set) the penultimate features.
func (c *PredictionCache) run(ctx context.Context, net *nets.Net, ds data.Dataset, in Input, dev torch.Device, o OutputsOptions, features bool) (*Outputs, error) {
	batch := o.Batch
	if batch <= 0 {
		batch = 256
	}
	l, err := data.NewLoader(ds, in.LoaderOptions(batch, o.Workers))
	if err != nil {
		return nil, err
	}
	defer net.Store.SetTraining(net.Store.Training())
	net.Store.SetTraining(false)
	r := &Outputs{}
	for b, err := range l.Batches(ctx, 0) {
		if err != nil {
			return nil, err
		}
		err := torch.Do(func(s *torch.Scope) error {
			x := torch.FromSlice(s, b.X, []int64{int64(b.N), int64(b.C), int64(b.H), int64(b.W)}, dev)
			lg, ft := net.Forward(x)
			c.passes.Add(1)
			lg = lg.ToDType(torch.Float32)
			r.Classes = int(lg.Size(1))
			lv, err := lg.Float32s()
			if err != nil {
				return err
			}
			pv, err := lg.Softmax(1).Float32s()
			if err != nil {
				return err
			}
			r.Logits, r.Probs = append(r.Logits, lv...), append(r.Probs, pv...)
			if features {
				if ft == nil {
					return fmt.Errorf("the model returns no features")
				}
				ft = ft.ToDType(torch.Float32).Reshape([]int64{int64(b.N), -1})
				r.D = int(ft.Size(1))
				fv, err := ft.Float32s()
				if err != nil {
					return err
				}
				r.Features = append(r.Features, fv...)
			}
			for i := range b.N {
				r.Labels = append(r.Labels, b.Y[i])
			}
			return nil
		}, torch.Inference())
		r.N += b.N
		b.Release()
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// writeEntry stores r in dir: the arrays first, outputs.json last.
func writeEntry(dir string, m PoolMember, s Slice, fp string, r *Outputs) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("prediction cache: %w", err)
	}
	// A rewrite interrupted before outputs.json is a plain miss.
	if err := os.Remove(filepath.Join(dir, "outputs.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("prediction cache: %w", err)
	}
	sums := map[string]fileSum{}
	write := func(name string, shape []int, v []float32) error {
		var b bytes.Buffer
		if err := npyfile.WriteFloat32(&b, shape, v); err != nil {
			return err
		}
		sum := sumOf(b.Bytes())
		sum.NonFinite = countNonFinite(v)
		sums[name] = sum
		path := filepath.Join(dir, name)
		// A damaged entry may hold something else than a file there.
		if st, err := os.Lstat(path); err == nil && !st.Mode().IsRegular() {
			if err := os.RemoveAll(path); err != nil {
				return err
			}
		}
		return atomicfile.WriteFile(path, b.Bytes())
	}
	if err := write("probs.npy", []int{r.N, r.Classes}, r.Probs); err != nil {
		return fmt.Errorf("prediction cache: %w", err)
	}
	if err := write("logits.npy", []int{r.N, r.Classes}, r.Logits); err != nil {
		return fmt.Errorf("prediction cache: %w", err)
	}
	if r.Features != nil {
		if err := write("features.npy", []int{r.N, r.D}, r.Features); err != nil {
			return fmt.Errorf("prediction cache: %w", err)
		}
	}
	info := entryInfo{Format: entryFormat, Member: m.Dir, Slice: s.String(), N: r.N, Classes: r.Classes, D: r.D,
		Labels: r.Labels, Checkpoint: m.Hash, Input: fp, Files: sums}
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "outputs.json"), append(b, '\n')); err != nil {
		return fmt.Errorf("prediction cache: %w", err)
	}
	return nil
}

// readEntry reads a cache entry; an error wrapping os.ErrNotExist means there is
// none (or it lacks what is asked for).
func readEntry(dir string, m PoolMember, fp string, logits, features bool) (*Outputs, error) {
	b, err := os.ReadFile(filepath.Join(dir, "outputs.json"))
	if err != nil {
		return nil, err
	}
	var info entryInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("%s/outputs.json: %w", dir, err)
	}
	if info.Format != entryFormat || info.Checkpoint != m.Hash || info.Input != fp {
		return nil, fmt.Errorf("%s/outputs.json: not the entry of this checkpoint and input", dir)
	}
	if len(info.Labels) != info.N {
		return nil, fmt.Errorf("%s/outputs.json: %d labels for %d samples", dir, len(info.Labels), info.N)
	}
	if features && info.D == 0 {
		return nil, fmt.Errorf("%s: no features stored: %w", dir, os.ErrNotExist)
	}
	if info.N < 0 || info.Classes < 1 || info.D < 0 {
		return nil, fmt.Errorf("%s/outputs.json: %d samples of %d classes, %d features", dir, info.N, info.Classes, info.D)
	}
	r := &Outputs{N: info.N, Classes: info.Classes, Labels: info.Labels}
	read := func(name string, cols int) ([]float32, error) {
		path := filepath.Join(dir, name)
		want, ok := info.Files[name]
		if !ok {
			return nil, fmt.Errorf("%s/outputs.json: no checksum of %s", dir, name)
		}
		st, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if st.Size() != want.Size {
			return nil, fmt.Errorf("%s holds %d bytes, outputs.json says %d", path, st.Size(), want.Size)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if got := sumOf(b); got.Size != want.Size || got.SHA256 != want.SHA256 {
			return nil, fmt.Errorf("%s: SHA-256 %s, outputs.json says %s", path, got.SHA256, want.SHA256)
		}
		f, err := npyfile.New(bytes.NewReader(b), int64(len(b)), path)
		if err != nil {
			return nil, err
		}
		if len(f.Shape) != 2 || f.Shape[0] != info.N || f.Shape[1] != cols {
			return nil, fmt.Errorf("%s has shape %v, want (%d, %d)", path, f.Shape, info.N, cols)
		}
		v, err := f.ReadFloat32s(0, f.Elems())
		if err != nil {
			return nil, err
		}
		if n := countNonFinite(v); n != want.NonFinite {
			return nil, fmt.Errorf("%s holds %d NaN or Inf values, outputs.json says %d", path, n, want.NonFinite)
		}
		return v, nil
	}
	if r.Probs, err = read("probs.npy", info.Classes); err != nil {
		return nil, err
	}
	if logits {
		if r.Logits, err = read("logits.npy", info.Classes); err != nil {
			return nil, err
		}
	}
	if features {
		r.D = info.D
		if r.Features, err = read("features.npy", info.D); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// PoolSetup describes how to build a Pool from members' run directories: the clean
// test set, the corruption set and what to keep of the outputs.
type PoolSetup struct {
	// Members are run directories or model files.
	Members []string
	// Data is the clean dataset (default: the members' training dataset);
	// TestSubset the number of its first test images to use (0: all).
	Data       string
	TestSubset int
	// Set is a corruption set directory, or with Generate set the set is generated
	// from the clean test set with Generation (Dataset, Corruptions, Severities and
	// Workers are filled in here); with neither, only the clean test set is used.
	Set        string
	Generate   bool
	Generation GenerateOptions
	// Corruptions (nil: all of the set's) and Severities (nil: all of the set's).
	// A corruption the set lacks is an error.
	Corruptions []string
	Severities  []int
	// CacheDir holds the prediction cache (default DefaultPredictionCacheDir).
	CacheDir string
	Device   torch.Device
	// Outputs says what to keep (Batch, Workers, Logits, Features, Progress).
	Outputs OutputsOptions
	// GenerateProgress follows the generation of the corruption set (images).
	GenerateProgress func(done, total int)
}

// LoadPool opens the members (OpenPoolMembers), their clean test set and the
// corruption set, and fills the pool's outputs from the prediction cache, running
// each member only over the slices not cached yet. It returns the pool, the
// description of the corruption source ("" for clean only), the dataset's name and
// the number of forward passes run.
func LoadPool(ctx context.Context, o PoolSetup) (p *Pool, source, dataset string, passes int64, err error) {
	members, err := OpenPoolMembers(o.Members)
	if err != nil {
		return nil, "", "", 0, err
	}
	spec := o.Data
	if spec == "" {
		spec = members[0].Meta.Dataset
	}
	test, err := data.OpenTest(spec, data.OpenOptions{})
	if err != nil {
		return nil, "", "", 0, fmt.Errorf("ensemble: clean test set: %w", err)
	}
	if n := test.NumClasses(); n != members[0].Meta.Classes {
		return nil, "", "", 0, fmt.Errorf("ensemble: the test set %s has %d classes, the members %d", spec, n, members[0].Meta.Classes)
	}
	if n := o.TestSubset; n > 0 {
		if n > test.Len() {
			return nil, "", "", 0, fmt.Errorf("ensemble: a test subset of %d images: the test set has %d", n, test.Len())
		}
		test = data.FirstK(test, n)
	}
	var set *corrupt.Set
	switch {
	case o.Generate:
		gen := o.Generation
		gen.Dataset, gen.Corruptions, gen.Severities, gen.Workers = spec, o.Corruptions, o.Severities, o.Outputs.Workers
		if gen.Corruptions == nil {
			gen.Corruptions = slices.Clone(corrupt.Names)
		}
		if gen.Severities == nil {
			gen.Severities = []int{1, 2, 3, 4, 5}
		}
		gen.Progress = o.GenerateProgress
		if set, source, err = GenerateSet(ctx, test, gen); err != nil {
			return nil, "", "", 0, err
		}
	case o.Set != "":
		if set, err = corrupt.OpenSet(o.Set); err != nil {
			return nil, "", "", 0, err
		}
		source = o.Set
		if o.TestSubset == 0 && set.Info.N != test.Len() {
			return nil, "", "", 0, fmt.Errorf("ensemble: the corruption set has %d images per slice, the test set %d: give a test subset size",
				set.Info.N, test.Len())
		}
	}
	ins, err := EvalSlices(test, set, o.Corruptions, o.Severities, test.Len())
	if err != nil {
		return nil, "", "", 0, err
	}
	dir := o.CacheDir
	if dir == "" {
		dir = DefaultPredictionCacheDir()
	}
	cache, err := NewPredictionCache(dir)
	if err != nil {
		return nil, "", "", 0, err
	}
	outs, err := cache.Outputs(ctx, members, ins, o.Device, o.Outputs)
	if err != nil {
		return nil, "", "", 0, err
	}
	p = &Pool{Members: members, Outputs: outs}
	for _, in := range ins {
		p.Slices = append(p.Slices, in.Slice)
	}
	return p, source, datasetName(spec), cache.ForwardPasses(), nil
}

// LayerFeatures runs member m over ds and returns the output of its layer called
// layer (a name of nets.Hooks, such as "layer4" or "features.7"), flattened per
// sample to (N, D) float32. PredictionCache.LayerFeatures caches it.
func LayerFeatures(ctx context.Context, m PoolMember, ds data.Dataset, layer string, dev torch.Device, batch, workers int) ([]float32, int, error) {
	net, meta, err := LoadModel(m.Dir, dev)
	if err != nil {
		return nil, 0, err
	}
	defer net.Close()
	in, err := meta.Input()
	if err != nil {
		return nil, 0, fmt.Errorf("ensemble member %s: %w", m.Dir, err)
	}
	if batch <= 0 {
		batch = 256
	}
	l, err := data.NewLoader(ds, in.LoaderOptions(batch, workers))
	if err != nil {
		return nil, 0, err
	}
	var out []float32
	d := 0
	for b, err := range l.Batches(ctx, 0) {
		if err != nil {
			return nil, 0, err
		}
		err := torch.Do(func(s *torch.Scope) error {
			var got *torch.Tensor
			remove, err := net.Hooks().On(layer, func(y *torch.Tensor) *torch.Tensor { got = y; return y })
			if err != nil {
				return err
			}
			defer remove()
			x := torch.FromSlice(s, b.X, []int64{int64(b.N), int64(b.C), int64(b.H), int64(b.W)}, dev)
			net.Forward(x)
			if got == nil {
				return fmt.Errorf("layer %s produced no output", layer)
			}
			f := got.ToDType(torch.Float32).Reshape([]int64{int64(b.N), -1})
			d = int(f.Size(1))
			v, err := f.Float32s()
			if err != nil {
				return err
			}
			out = append(out, v...)
			return nil
		}, torch.Inference())
		b.Release()
		if err != nil {
			return nil, 0, fmt.Errorf("ensemble member %s, layer %s: %w", m.Name(), layer, err)
		}
	}
	return out, d, nil
}
