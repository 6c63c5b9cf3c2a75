package corrupt

import (
	"math"
	"sync"
	"sync/atomic"
)

// Fast Poisson variates for shot noise in the default random mode: inversion of the
// Poisson CDF, tabulated once per rate. Shot noise's rates are x·c for the 256 pixel
// values x and a handful of photon counts c, so the tables are few and reused by
// every image. The numpy mode keeps numpy's own algorithms (exact reproduction).

// poissonTable holds the CDF of Poisson(λ) for k = 0..len(cdf)−1 (the last entry is
// forced to 1, cutting a tail of probability below 1e-30) and a guide table: guide[j]
// is the smallest k with cdf[k] > j/len(guide).
type poissonTable struct {
	cdf   []float64
	guide []int32
}

func newPoissonTable(lam float64) *poissonTable {
	if lam <= 0 {
		return &poissonTable{cdf: []float64{1}, guide: []int32{0}}
	}
	kmax := int(lam + 12*math.Sqrt(lam) + 20)
	cdf := make([]float64, kmax+1)
	loglam := math.Log(lam)
	s := 0.0
	for k := range cdf {
		lg, _ := math.Lgamma(float64(k + 1))
		s += math.Exp(-lam + float64(k)*loglam - lg)
		cdf[k] = s
	}
	cdf[kmax] = 1
	g := make([]int32, len(cdf))
	k := 0
	for j := range g {
		t := float64(j) / float64(len(g))
		for cdf[k] <= t {
			k++
		}
		g[j] = int32(k)
	}
	return &poissonTable{cdf: cdf, guide: g}
}

// sample returns the smallest k with u < cdf[k], for u uniform in [0, 1).
func (t *poissonTable) sample(u float64) int64 {
	k := int(t.guide[int(u*float64(len(t.guide)))])
	for t.cdf[k] <= u {
		k++
	}
	return int64(k)
}

// shotTable inverts the same CDF as poissonTable but returns shot noise's output
// byte directly: out = uint8(clip(k/c, 0, 1)·255) is non-decreasing in k, so the
// smallest k with u < cdf[k] has the byte of the smallest group of equal-byte ks
// whose last cdf value exceeds u. The table keeps one entry per group (at most 256:
// the cdf value of its last k, bit for bit, and the byte), which makes it a few
// times smaller than the k table for the large photon counts, and its guide table
// has a fixed power-of-two size (u·shotGuide is exact).
type shotTable struct {
	cdf   []float64
	out   []uint8
	guide [shotGuide]uint8 // smallest entry i with cdf[i] > j/shotGuide
}

const shotGuide = 512

func newShotTable(lam, c float64) *shotTable {
	pt := newPoissonTable(lam)
	st := &shotTable{}
	for k, v := range pt.cdf {
		b := unit8(float64(k) / c)
		if n := len(st.out); n > 0 && st.out[n-1] == b {
			st.cdf[n-1] = v
			continue
		}
		st.out = append(st.out, b)
		st.cdf = append(st.cdf, v)
	}
	i := 0
	for j := range st.guide {
		t := float64(j) / shotGuide
		for st.cdf[i] <= t {
			i++
		}
		st.guide[j] = uint8(i)
	}
	return st
}

// sample returns the output byte for the uniform u in [0, 1).
func (t *shotTable) sample(u float64) uint8 {
	i := int(t.guide[int(u*shotGuide)])
	for t.cdf[i] <= u {
		i++
	}
	return t.out[i]
}

// shotTables are the 256 tables of one photon count, built on first use.
type shotTables [256]atomic.Pointer[shotTable]

var (
	shotTablesMu sync.Mutex
	shotTableSet = map[float64]*shotTables{}
)

// shotTablesFor returns the table set of photon count c.
func shotTablesFor(c float64) *shotTables {
	shotTablesMu.Lock()
	defer shotTablesMu.Unlock()
	t, ok := shotTableSet[c]
	if !ok {
		if len(shotTableSet) >= 64 {
			clear(shotTableSet)
		}
		t = &shotTables{}
		shotTableSet[c] = t
	}
	return t
}

// get returns the table of pixel value p (rate p/255·c).
func (s *shotTables) get(p uint8, c float64) *shotTable {
	if t := s[p].Load(); t != nil {
		return t
	}
	t := newShotTable(inv255[p]*c, c)
	s[p].Store(t)
	return t
}

// shotNoiseStream is shot noise for the default mode: one uniform per element,
// Poisson by CDF inversion (through the output-byte tables).
func shotNoiseStream(src Image, c float64, rng *StreamRNG) Image {
	tabs := shotTablesFor(c)
	var local [256]*shotTable
	out := NewImage(src.H, src.W, src.C)
	up, u := getF64(len(src.Pix))
	rng.fillFloat64(u)
	for i, p := range src.Pix {
		t := local[p]
		if t == nil {
			t = tabs.get(p, c)
			local[p] = t
		}
		out.Pix[i] = t.sample(u[i])
	}
	putF64(up)
	return out
}
