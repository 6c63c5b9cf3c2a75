package corrupt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
)

// testImages makes n deterministic 32×32 RGB images with structure (gradients, a
// random patch, a flat region).
func testImages(n, h, w, c int) []Image {
	r := NewNumpyRNG(99)
	out := make([]Image, n)
	for k := range out {
		img := NewImage(h, w, c)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				for ch := 0; ch < c; ch++ {
					v := (y*255/(h-1) + x*(ch+1)*7 + k*31) % 256
					if y > h/4 && y < h/2 && x > w/4 && x < w/2 {
						v = r.IntN(0, 256)
					}
					if y > 3*h/4 {
						v = 128
					}
					img.Pix[(y*w+x)*c+ch] = uint8(v)
				}
			}
		}
		out[k] = img
	}
	return out
}

// collect runs cfg over imgs and returns the results keyed by (name, severity).
func collect(t *testing.T, imgs []Image, cfg RunConfig) map[string][]Image {
	t.Helper()
	got := map[string][]Image{}
	err := Run(context.Background(), Images(imgs), cfg, func(b Batch) error {
		key := fmt.Sprintf("%s/%d", b.Corruption.Name, b.Severity)
		if got[key] == nil {
			got[key] = make([]Image, len(imgs))
		}
		for k, img := range b.Images {
			if got[key][b.Start+k].Pix != nil {
				return fmt.Errorf("%s image %d delivered twice", key, b.Start+k)
			}
			got[key][b.Start+k] = img
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func sameResults(t *testing.T, a, b map[string][]Image, what string) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d vs %d result sets", what, len(a), len(b))
	}
	for k, imgs := range a {
		for i := range imgs {
			if !bytes.Equal(imgs[i].Pix, b[k][i].Pix) {
				t.Fatalf("%s: %s image %d differs", what, k, i)
			}
		}
	}
}

func TestRunIndependentOfWorkersAndBatches(t *testing.T) {
	imgs := testImages(7, 32, 32, 3)
	cs := All()
	for _, mode := range []RNGMode{RNGDefault, RNGNumpy} {
		base := RunConfig{Corruptions: cs, Severities: []int{1, 3, 5}, Seed: 5, RNG: mode, Workers: 1, BatchSize: 7}
		ref := collect(t, imgs, base)
		if len(ref) != len(cs)*3 {
			t.Fatalf("%v: %d result sets, want %d", mode, len(ref), len(cs)*3)
		}
		for _, wb := range [][2]int{{2, 3}, {4, 1}} {
			cfg := base
			cfg.Workers, cfg.BatchSize = wb[0], wb[1]
			sameResults(t, ref, collect(t, imgs, cfg), fmt.Sprintf("%v workers=%d batch=%d", mode, wb[0], wb[1]))
		}
	}
}

// TestRunNumpyModeMatchesDirectCalls: numpy mode is exactly the reference seeding rule.
func TestRunNumpyModeMatchesDirectCalls(t *testing.T) {
	imgs := testImages(4, 32, 32, 3)
	c, err := Lookup("gaussian_noise")
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, imgs, RunConfig{Corruptions: []*Corruption{c}, Severities: []int{2}, Seed: 10, RNG: RNGNumpy, Workers: 2, BatchSize: 3})
	rng := NewNumpyRNG(10 + 1000*0 + 2)
	for i, img := range imgs {
		want := c.Apply(img, 2, rng, nil)
		if !bytes.Equal(want.Pix, got["gaussian_noise/2"][i].Pix) {
			t.Fatalf("image %d differs from a direct numpy-seeded call", i)
		}
	}
}

func TestRunDefaultModeDependsOnSeedAndIndex(t *testing.T) {
	imgs := testImages(2, 32, 32, 3)
	imgs[1] = imgs[0] // same picture at two indices
	c, _ := Lookup("gaussian_noise")
	a := collect(t, imgs, RunConfig{Corruptions: []*Corruption{c}, Severities: []int{3}, Seed: 1})
	b := collect(t, imgs, RunConfig{Corruptions: []*Corruption{c}, Severities: []int{3}, Seed: 2})
	if bytes.Equal(a["gaussian_noise/3"][0].Pix, a["gaussian_noise/3"][1].Pix) {
		t.Error("two image indices share a random stream")
	}
	if bytes.Equal(a["gaussian_noise/3"][0].Pix, b["gaussian_noise/3"][0].Pix) {
		t.Error("seed does not change the output")
	}
}

func TestRunErrors(t *testing.T) {
	imgs := testImages(3, 32, 32, 3)
	c, _ := Lookup("contrast")
	cases := []RunConfig{
		{},
		{Corruptions: []*Corruption{c}},
		{Corruptions: []*Corruption{c}, Severities: []int{0}},
		{Corruptions: []*Corruption{c}, Severities: []int{2, 2}},
		{Corruptions: []*Corruption{c, c}, Severities: []int{1}},
		{Corruptions: []*Corruption{c}, Severities: []int{1}, RNG: RNGNumpy, Seed: math.MaxUint32},
	}
	for i, cfg := range cases {
		if err := Run(context.Background(), Images(imgs), cfg, func(Batch) error { return nil }); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
	// A sink error stops the run and is returned.
	boom := errors.New("boom")
	err := Run(context.Background(), Images(testImages(50, 32, 32, 3)), RunConfig{Corruptions: All(), Severities: []int{1, 2, 3, 4, 5}, BatchSize: 2},
		func(Batch) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("sink error: got %v", err)
	}
	// A bad image is reported, not panicked on.
	bad := Images{NewImage(4, 4, 3)}
	if err := Run(context.Background(), bad, RunConfig{Corruptions: []*Corruption{c}, Severities: []int{1}}, func(Batch) error { return nil }); err == nil {
		t.Error("4×4 image accepted")
	}
	// Cancellation.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Run(ctx, Images(imgs), RunConfig{Corruptions: []*Corruption{c}, Severities: []int{1}}, func(Batch) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: got %v", err)
	}
}

func TestRunProgress(t *testing.T) {
	imgs := testImages(5, 32, 32, 3)
	c, _ := Lookup("brightness")
	last, calls := 0, 0
	err := Run(context.Background(), Images(imgs), RunConfig{Corruptions: []*Corruption{c}, Severities: []int{1, 2}, BatchSize: 2,
		Progress: func(done, total int) {
			calls++
			if total != 10 || done <= last {
				t.Errorf("progress %d/%d after %d", done, total, last)
			}
			last = done
		}}, func(Batch) error { return nil })
	if err != nil || last != 10 || calls != 6 {
		t.Fatalf("err %v, last %d, calls %d", err, last, calls)
	}
}

func TestStreamRNGDistributions(t *testing.T) {
	r := NewStreamRNG(1, 2, 3, 4)
	const n = 200000
	var s, s2, s4 float64
	var over2, over3, over38 int
	for i := 0; i < n; i++ {
		g := r.Normal(0, 1)
		s += g
		s2 += g * g
		s4 += g * g * g * g
		a := math.Abs(g)
		if a > 2 {
			over2++
		}
		if a > 3 {
			over3++
		}
		if a > 3.8 { // beyond the ziggurat's base strip: the tail sampler
			over38++
		}
	}
	if m, v, k := s/n, s2/n, s4/n; math.Abs(m) > 0.01 || math.Abs(v-1) > 0.015 || math.Abs(k-3) > 0.1 {
		t.Errorf("normal mean %v var %v 4th moment %v", m, v, k)
	}
	// Two-sided tail probabilities 0.0455, 0.0027, 0.000145; allow 5 standard errors.
	for _, c := range []struct {
		got int
		p   float64
	}{{over2, 0.0455003}, {over3, 0.0026998}, {over38, 0.0001447}} {
		want := c.p * n
		if math.Abs(float64(c.got)-want) > 5*math.Sqrt(want) {
			t.Errorf("tail P = %v: %d samples, want about %.0f", c.p, c.got, want)
		}
	}
	var cnt [5]int
	for i := 0; i < n; i++ {
		cnt[r.IntN(-2, 3)+2]++
	}
	for k, c := range cnt {
		if math.Abs(float64(c)/n-0.2) > 0.01 {
			t.Errorf("IntN bucket %d: %d", k, c)
		}
	}
	var ps float64
	for i := 0; i < n/10; i++ {
		ps += float64(r.Poisson(30))
	}
	if m := ps / (n / 10); math.Abs(m-30) > 0.2 {
		t.Errorf("poisson mean %v", m)
	}
	u := r.Uniform(-3, -1)
	if u < -3 || u >= -1 {
		t.Errorf("uniform %v", u)
	}
	// Keys give distinct streams; the same key repeats.
	a, b := NewStreamRNG(0, 1, 1, 0).Uint64(), NewStreamRNG(0, 1, 1, 1).Uint64()
	if a == b || a != NewStreamRNG(0, 1, 1, 0).Uint64() {
		t.Error("stream keying")
	}
}
