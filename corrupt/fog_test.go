package corrupt

import "testing"

// geoCountRNG counts the draws made through it; uniforms counts Uniform and Float64
// calls (bulk fills fall back to Float64 for generators outside the package).
type geoCountRNG struct {
	RNG
	uniforms, normals int
}

func (r *geoCountRNG) Uniform(lo, hi float64) float64 { r.uniforms++; return r.RNG.Uniform(lo, hi) }
func (r *geoCountRNG) Float64() float64               { r.uniforms++; return r.RNG.Float64() }
func (r *geoCountRNG) Normal(loc, scale float64) float64 {
	r.normals++
	return r.RNG.Normal(loc, scale)
}

// The plasma map spans [0, 1] exactly and draws 3·(1+4+…+(m/2)²) uniforms.
func TestPlasmaFractal(t *testing.T) {
	for _, c := range []struct{ m, draws int }{{32, 1023}, {256, 65535}} {
		r := &geoCountRNG{RNG: NewNumpyRNG(5)}
		mp := make([]float64, c.m*c.m)
		for i := range mp {
			mp[i] = -7 // every cell must be written
		}
		plasmaFractal(mp, c.m, 2, r)
		if r.uniforms != c.draws {
			t.Errorf("m=%d: %d uniforms, want %d", c.m, r.uniforms, c.draws)
		}
		lo, hi := 1.0, 0.0
		for _, v := range mp {
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo != 0 || hi != 1 {
			t.Errorf("m=%d: range [%v, %v], want [0, 1]", c.m, lo, hi)
		}
	}
	if g := fogMapSize(CIFAR, 32, 32); g != 32 {
		t.Errorf("map size %d", g)
	}
	if g := fogMapSize(ImageNet, 224, 224); g != 256 {
		t.Errorf("map size %d", g)
	}
	if g := fogMapSize(CIFAR, 40, 70); g != 128 {
		t.Errorf("map size %d", g)
	}
}

// An all-black image stays black, whatever the fog.
func TestFogBlackStaysBlack(t *testing.T) {
	img := NewImage(20, 24, 3)
	for sev := 1; sev <= 5; sev++ {
		out := fog(img, sev, NewNumpyRNG(uint32(sev)), nil)
		for i, v := range out.Pix {
			if v != 0 {
				t.Fatalf("sev %d: pixel %d = %d", sev, i, v)
			}
		}
	}
}

func BenchmarkGeoFog(b *testing.B) { geoBench(b, "fog") }
