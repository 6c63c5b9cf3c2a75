package torch

import (
	"math"
	"path/filepath"
	"testing"
)

// quadratic sets up a store with one parameter p and the loss Σ c_i·p_i², whose
// gradient 2·c·p is known in closed form.
func quadratic(t *testing.T, p0, c []float64) (*Store, func() error) {
	st := NewStore(Float64)
	p := st.Root().Param("p", []int64{int64(len(p0))}, nil)
	if err := CopyFrom(p, p0); err != nil {
		t.Fatal(err)
	}
	step := func() error {
		return Do(func(s *Scope) error {
			if err := st.ZeroGrad(); err != nil {
				return err
			}
			return p.In(s).Square().Mul(FromSlice(s, c, nil)).Sum().Backward()
		})
	}
	return st, step
}

func TestSGDMatchesClosedForm(t *testing.T) {
	for _, cfg := range []SGDConfig{
		{LR: 0.1},
		{LR: 0.1, Momentum: 0.9},
		{LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 0.01},
		{LR: 0.1, Momentum: 0.5, Dampening: 0.3, WeightDecay: 0.1},
	} {
		p0, c := []float64{1, -2, 0.5}, []float64{1, 0.5, 3}
		st, backward := quadratic(t, p0, c)
		opt, err := NewSGD(st.Trainable(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		// Reference: torch.optim.SGD's update rule in plain Go.
		p := append([]float64(nil), p0...)
		buf := make([]float64, len(p))
		for step := 0; step < 5; step++ {
			if err := backward(); err != nil {
				t.Fatal(err)
			}
			if err := opt.Step(); err != nil {
				t.Fatal(err)
			}
			for i := range p {
				d := 2*c[i]*p[i] + cfg.WeightDecay*p[i]
				if cfg.Momentum != 0 {
					if step == 0 {
						buf[i] = d
					} else {
						buf[i] = cfg.Momentum*buf[i] + (1-cfg.Dampening)*d
					}
					if cfg.Nesterov {
						d += cfg.Momentum * buf[i]
					} else {
						d = buf[i]
					}
				}
				p[i] -= cfg.LR * d
			}
		}
		checkParams(t, st, p, cfg)
		opt.Close()
		st.Close()
	}
}

// checkParams fails unless the store's parameter "p" equals want to 1e-12.
func checkParams(t *testing.T, st *Store, want []float64, cfg any) {
	t.Helper()
	got, err := st.Get("p").T.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("%+v: p = %v, want %v", cfg, got, want)
		}
	}
}

func TestAdamMatchesClosedForm(t *testing.T) {
	for _, cfg := range []AdamConfig{
		DefaultAdam(),
		{LR: 0.01, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.1},
		{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1, Decoupled: true},
	} {
		p0, c := []float64{1, -2, 0.5}, []float64{1, 0.5, 3}
		st, backward := quadratic(t, p0, c)
		opt, err := NewAdam(st.Trainable(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		p := append([]float64(nil), p0...)
		m, v := make([]float64, 3), make([]float64, 3)
		for step := 1; step <= 6; step++ {
			if err := backward(); err != nil {
				t.Fatal(err)
			}
			if err := opt.Step(); err != nil {
				t.Fatal(err)
			}
			for i := range p {
				g := 2 * c[i] * p[i]
				if cfg.Decoupled {
					p[i] *= 1 - cfg.LR*cfg.WeightDecay
				} else {
					g += cfg.WeightDecay * p[i]
				}
				m[i] = cfg.Beta1*m[i] + (1-cfg.Beta1)*g
				v[i] = cfg.Beta2*v[i] + (1-cfg.Beta2)*g*g
				mh := m[i] / (1 - math.Pow(cfg.Beta1, float64(step)))
				vh := math.Sqrt(v[i]) / math.Sqrt(1-math.Pow(cfg.Beta2, float64(step)))
				p[i] -= cfg.LR * mh / (vh + cfg.Eps)
			}
		}
		checkParams(t, st, p, cfg)
		opt.Close()
		st.Close()
	}
}

// Saving and restoring the optimizer state mid-run gives the same trajectory.
func TestOptimizerStateResume(t *testing.T) {
	run := func(resumeAt int) []float64 {
		st, backward := quadratic(t, []float64{1, -2, 0.5}, []float64{1, 0.5, 3})
		defer st.Close()
		opt, _ := NewAdam(st.Trainable(), DefaultAdam())
		for step := 0; step < 6; step++ {
			if step == resumeAt {
				ts, meta := opt.State()
				path := filepath.Join(t.TempDir(), "opt.safetensors")
				if err := SaveSafetensors(path, ts, meta); err != nil {
					t.Fatal(err)
				}
				opt.Close()
				opt, _ = NewAdam(st.Trainable(), AdamConfig{LR: 1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
				lt, lm, err := LoadSafetensors(path, nil, CPU)
				if err != nil {
					t.Fatal(err)
				}
				if err := opt.LoadState(lt, lm); err != nil {
					t.Fatal(err)
				}
			}
			backward()
			opt.Step()
		}
		v, _ := st.Get("p").T.Float64s()
		return v
	}
	a, b := run(-1), run(3)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("resumed run %v differs from uninterrupted %v", b, a)
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	st, backward := quadratic(t, []float64{3, 4}, []float64{0.5, 0.5}) // grad = p = (3,4), norm 5
	defer st.Close()
	backward()
	n, err := ClipGradNorm(st.Trainable(), 1)
	if err != nil || math.Abs(n-5) > 1e-12 {
		t.Fatalf("norm %v %v", n, err)
	}
	g, _ := st.Get("p").T.Grad().Float64s()
	if math.Abs(math.Hypot(g[0], g[1])-1) > 1e-5 {
		t.Fatalf("clipped grad %v", g)
	}
	ok, err := GradsFinite(st.Trainable())
	if !ok || err != nil {
		t.Fatalf("finite: %v %v", ok, err)
	}
}

func TestSchedules(t *testing.T) {
	// torch.optim.lr_scheduler.OneCycleLR(max_lr=0.1, total_steps=10) in PyTorch 1.13.
	want := []float64{0.0040000000000000036, 0.052000000000000005, 0.1, 0.09504846320134738, 0.0811745653949763,
		0.06112620219362893, 0.03887419780637107, 0.0188258346050237, 0.004951936798652629, 4e-07}
	oc := OneCycleLR{Max: 0.1, Total: 10}
	for i, w := range want {
		if got := oc.LR(i); math.Abs(got-w) > 1e-12 {
			t.Errorf("one-cycle step %d: %v, want %v", i, got, w)
		}
	}
	c := CosineLR{Base: 1, Min: 0, Warmup: 2, Total: 12}
	if c.LR(0) != 0.5 || c.LR(1) != 1 || c.LR(2) != 1 || math.Abs(c.LR(7)-0.5) > 1e-12 || c.LR(12) != 0 {
		t.Errorf("cosine: %v %v %v %v %v", c.LR(0), c.LR(1), c.LR(2), c.LR(7), c.LR(12))
	}
	s := StepLR{Base: 1, StepSize: 3, Gamma: 0.1}
	if s.LR(2) != 1 || math.Abs(s.LR(3)-0.1) > 1e-15 || math.Abs(s.LR(6)-0.01) > 1e-15 {
		t.Errorf("step: %v %v %v", s.LR(2), s.LR(3), s.LR(6))
	}
}
