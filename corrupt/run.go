package corrupt

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
)

// RNGMode selects how a run draws random numbers.
type RNGMode int

const (
	// RNGDefault gives every image its own StreamRNG keyed by (seed, corruption
	// index, severity, image index): output does not depend on the worker count, the
	// batch size or which other images are corrupted.
	RNGDefault RNGMode = iota
	// RNGNumpy reproduces the reference harness: numpy's legacy generator reseeded
	// with seed + 1000·ci + severity before each (corruption, severity) batch, the
	// images drawn in index order. With seed 0 it reproduces reference.npz.
	RNGNumpy
)

// String returns "default" or "numpy".
func (m RNGMode) String() string {
	if m == RNGNumpy {
		return "numpy"
	}
	return "default"
}

// ParseRNGMode parses "default" or "numpy".
func ParseRNGMode(s string) (RNGMode, error) {
	switch strings.ToLower(s) {
	case "default", "":
		return RNGDefault, nil
	case "numpy":
		return RNGNumpy, nil
	}
	return RNGDefault, fmt.Errorf("unknown random mode %q (want default or numpy)", s)
}

// Source supplies the input images of a run by index. Image may be called from
// several goroutines at once.
type Source interface {
	Len() int
	Image(i int) (Image, error)
}

// Images is an in-memory Source.
type Images []Image

// Len returns the number of images.
func (s Images) Len() int { return len(s) }

// Image returns image i.
func (s Images) Image(i int) (Image, error) { return s[i], nil }

// Batch is a run of consecutive corrupted images of one corruption and severity: image
// Start+k of the source is Images[k]. The sink owns the images.
type Batch struct {
	Corruption *Corruption
	Severity   int
	Start      int
	Images     []Image
}

// RunConfig describes a batch run.
type RunConfig struct {
	// Corruptions to apply, each at every severity of Severities (1..5).
	Corruptions []*Corruption
	Severities  []int
	// Seed drives every random draw (see RNGMode).
	Seed uint64
	RNG  RNGMode
	// Workers is the number of goroutines; 0 means runtime.NumCPU().
	Workers int
	// Options are passed to every corruption (nil: CIFAR constants, procedural frost).
	Options *Options
	// BatchSize is the number of images per Batch handed to the sink (default 128).
	BatchSize int
	// Progress, if set, is called after each batch with the number of corrupted
	// images so far and the total (images × corruptions × severities).
	Progress func(done, total int)
}

// runUnit is one piece of work: images [start, end) of one corruption and severity.
type runUnit struct {
	c          *Corruption
	sev        int
	start, end int
}

// Run corrupts every image of src with every corruption and severity of cfg and
// hands the results to sink in batches. sink is called from one goroutine at a time,
// in no particular order; memory stays bounded (about two batches per worker) however
// many images there are. The first error (from a corruption, the source, the sink or
// ctx) stops the run and is returned.
//
// In the default random mode the work is split into batches of images and spread over
// all workers; in numpy mode each (corruption, severity) pair is one sequential stream
// and the pairs run in parallel.
func Run(ctx context.Context, src Source, cfg RunConfig, sink func(Batch) error) error {
	n := src.Len()
	if err := validateRun(cfg, n); err != nil {
		return err
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	bs := cfg.BatchSize
	if bs <= 0 {
		bs = 128
	}
	total := n * len(cfg.Corruptions) * len(cfg.Severities)
	if total == 0 {
		return nil
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	units := make(chan runUnit)
	results := make(chan Batch, workers)
	errc := make(chan error, workers+1)

	go func() {
		defer close(units)
		for _, c := range cfg.Corruptions {
			for _, sev := range cfg.Severities {
				step := bs
				if cfg.RNG == RNGNumpy {
					step = n // one sequential stream per (corruption, severity)
				}
				for s := 0; s < n; s += step {
					select {
					case units <- runUnit{c: c, sev: sev, start: s, end: min(s+step, n)}:
					case <-ctx.Done():
						return
					}
				}
			}
		}
	}()

	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := &StreamRNG{}
			for u := range units {
				if err := runOne(ctx, src, cfg, u, bs, stream, results); err != nil {
					errc <- err
					cancel()
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	done := 0
	var sinkErr error
	for b := range results {
		if sinkErr != nil {
			continue // drain so the workers can finish
		}
		if err := sink(b); err != nil {
			sinkErr = err
			cancel()
			continue
		}
		done += len(b.Images)
		if cfg.Progress != nil {
			cfg.Progress(done, total)
		}
	}
	if sinkErr != nil {
		return sinkErr
	}
	select {
	case err := <-errc: // the first error; later ones are cancellations
		return err
	default:
	}
	return ctx.Err()
}

// runOne corrupts the images of one unit and sends them in batches of at most bs.
func runOne(ctx context.Context, src Source, cfg RunConfig, u runUnit, bs int, stream *StreamRNG, out chan<- Batch) error {
	var rng RNG
	if cfg.RNG == RNGNumpy {
		rng = NewNumpyRNG(uint32(cfg.Seed + uint64(1000*u.c.Index+u.sev)))
	}
	for s := u.start; s < u.end; s += bs {
		e := min(s+bs, u.end)
		b := Batch{Corruption: u.c, Severity: u.sev, Start: s, Images: make([]Image, 0, e-s)}
		for i := s; i < e; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			img, err := src.Image(i)
			if err != nil {
				return fmt.Errorf("input image %d: %w", i, err)
			}
			if cfg.RNG == RNGDefault {
				stream.Reset(cfg.Seed, u.c.Index, u.sev, i)
				rng = stream
			}
			res, err := Apply(u.c, img, u.sev, rng, cfg.Options)
			if err != nil {
				return fmt.Errorf("image %d: %w", i, err)
			}
			b.Images = append(b.Images, res)
		}
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// validateRun checks a configuration before any work starts.
func validateRun(cfg RunConfig, n int) error {
	if len(cfg.Corruptions) == 0 {
		return fmt.Errorf("no corruptions to apply")
	}
	seen := map[string]bool{}
	for _, c := range cfg.Corruptions {
		if c == nil || c.Apply == nil {
			return fmt.Errorf("nil corruption in the run")
		}
		if seen[c.Name] {
			return fmt.Errorf("corruption %s listed twice", c.Name)
		}
		seen[c.Name] = true
	}
	if len(cfg.Severities) == 0 {
		return fmt.Errorf("no severities to apply")
	}
	sevs := map[int]bool{}
	for _, s := range cfg.Severities {
		if s < 1 || s > 5 {
			return fmt.Errorf("severity %d not in 1…5", s)
		}
		if sevs[s] {
			return fmt.Errorf("severity %d listed twice", s)
		}
		sevs[s] = true
	}
	if n < 0 {
		return fmt.Errorf("negative image count")
	}
	if cfg.RNG == RNGNumpy && cfg.Seed > math.MaxUint32-1000*uint64(len(Names))-5 {
		return fmt.Errorf("numpy random mode needs seed + 1000·index + severity below 2³², got seed %d", cfg.Seed)
	}
	return nil
}
