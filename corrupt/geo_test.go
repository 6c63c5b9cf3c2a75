package corrupt

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"codeberg.org/sbinet/npyio"
	"codeberg.org/sbinet/npyio/npz"
)

// Shared helpers of the tests of motion_blur, zoom_blur, snow, fog and
// elastic_transform: a parity check against ../shared/corrupt/reference.npz (made by
// the original code, see the README there) and 32×32 benchmark inputs.

const (
	geoRefPath    = "../../shared/corrupt/reference.npz"
	geoInputsPath = "../../shared/corrupt/inputs.npy"
)

var geoRef struct {
	once   sync.Once
	err    error
	inputs []Image
	r      *npz.Reader
	mu     sync.Mutex
}

// geoInputs loads the 80 reference inputs (uint8 (80, 32, 32, 3)).
func geoInputs(t testing.TB) []Image {
	t.Helper()
	geoRef.once.Do(func() {
		r, err := npz.Open(geoRefPath)
		if err != nil {
			geoRef.err = fmt.Errorf("open %s: %w", geoRefPath, err)
			return
		}
		geoRef.r = r
		var pix []uint8
		f, err := os.Open(geoInputsPath)
		if err != nil {
			geoRef.err = err
			return
		}
		defer f.Close()
		if err := npyio.Read(f, &pix); err != nil {
			geoRef.err = fmt.Errorf("read %s: %w", geoInputsPath, err)
			return
		}
		const n, side = 80, 32
		if len(pix) != n*side*side*3 {
			geoRef.err = fmt.Errorf("%s: %d values, want %d", geoInputsPath, len(pix), n*side*side*3)
			return
		}
		for i := 0; i < n; i++ {
			geoRef.inputs = append(geoRef.inputs, Image{H: side, W: side, C: 3, Pix: pix[i*side*side*3 : (i+1)*side*side*3]})
		}
	})
	if geoRef.err != nil {
		t.Skipf("reference data unavailable: %v", geoRef.err)
	}
	return geoRef.inputs
}

// geoReference returns the reference output of name at severity sev.
func geoReference(t testing.TB, name string, sev int) []uint8 {
	t.Helper()
	geoInputs(t)
	geoRef.mu.Lock()
	defer geoRef.mu.Unlock()
	var pix []uint8
	key := fmt.Sprintf("%s_%d.npy", name, sev)
	if err := geoRef.r.Read(key, &pix); err != nil {
		t.Fatalf("read %s from %s: %v", key, geoRefPath, err)
	}
	return pix
}

// geoParity runs corruption name at severity sev over the reference inputs with the
// reference seeding rule (np.random.seed(1000·ci + sev), images in order, one
// generator) and returns the number of values, the number identical to the
// reference and the largest absolute difference.
func geoParity(t testing.TB, name string, sev int) (n, same, maxDiff int) {
	t.Helper()
	in := geoInputs(t)
	ref := geoReference(t, name, sev)
	c, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	rng := NewNumpyRNG(uint32(1000*c.Index + sev))
	opt := &Options{Params: CIFAR}
	per := 32 * 32 * 3
	for i, img := range in {
		out := c.Apply(img, sev, rng, opt)
		want := ref[i*per : (i+1)*per]
		for k, v := range out.Pix {
			d := int(v) - int(want[k])
			if d < 0 {
				d = -d
			}
			n++
			if d == 0 {
				same++
			}
			maxDiff = max(maxDiff, d)
		}
	}
	return
}

// geoCheckParity asserts parity for all five severities: identical values, or ±1 on
// at most maxFrac of them.
func geoCheckParity(t *testing.T, name string, maxFrac float64) {
	for sev := 1; sev <= 5; sev++ {
		n, same, md := geoParity(t, name, sev)
		frac := float64(n-same) / float64(n)
		t.Logf("%s sev %d: %d/%d identical (%.4f%%), max diff %d", name, sev, same, n, 100*float64(same)/float64(n), md)
		if md > 1 || frac > maxFrac {
			t.Errorf("%s sev %d: %d of %d values differ (max %d), allowed ±1 on %.3f%%", name, sev, n-same, n, md, 100*maxFrac)
		}
	}
}

// geoBenchInputs returns the reference inputs, or deterministic 32×32 RGB images when
// the reference data is unavailable.
func geoBenchInputs(b *testing.B) []Image {
	if _, err := os.Stat(geoRefPath); err == nil {
		return geoInputs(b)
	}
	r := NewNumpyRNG(7)
	imgs := make([]Image, 16)
	for i := range imgs {
		imgs[i] = NewImage(32, 32, 3)
		for k := range imgs[i].Pix {
			imgs[i].Pix[k] = uint8(r.IntN(0, 256))
		}
	}
	return imgs
}

// geoBench measures one corruption at severity 3 on 32×32 inputs, one goroutine,
// and reports images/s.
func geoBench(b *testing.B, name string) {
	imgs := geoBenchInputs(b)
	c, err := Lookup(name)
	if err != nil {
		b.Fatal(err)
	}
	rng := NewNumpyRNG(1)
	opt := &Options{Params: CIFAR}
	cpu0 := geoCPUTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Apply(imgs[i%len(imgs)], 3, rng, opt)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	// On a shared machine the wall clock includes time other processes held the
	// CPU; the process's CPU time per image is the steadier figure.
	if cpu := geoCPUTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "images/cpu-s")
	}
}

// geoCPUTime is the process's user+system CPU time.
func geoCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
