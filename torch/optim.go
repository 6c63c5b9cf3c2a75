package torch

// #include <stdlib.h>
// #include "shim/shim.h"
import "C"

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
)

// Optimizer updates the trainable parameters of a Store from their gradients.
type Optimizer interface {
	// Step applies one update (parameters without a gradient are skipped).
	Step() error
	// LR returns the current learning rate; SetLR changes it (schedules call it).
	LR() float64
	SetLR(lr float64)
	// State returns the optimizer's tensors by name and its scalar state, for
	// checkpoints; LoadState restores them.
	State() (map[string]*Tensor, map[string]string)
	LoadState(tensors map[string]*Tensor, meta map[string]string) error
	// Close releases the optimizer's tensors.
	Close()
}

// slotState is one per-parameter state tensor (momentum buffer, Adam moments),
// kept as handles that the fused C++ update can fill in.
type slotState struct {
	name string
	h    []C.dr_tensor
	t    []*Tensor
}

func newSlot(name string, n int) *slotState {
	return &slotState{name: name, h: make([]C.dr_tensor, n), t: make([]*Tensor, n)}
}

// adoptNew wraps handles that the C++ side created in the last step.
func (s *slotState) adoptNew() {
	for i, h := range s.h {
		if h != nil && (s.t[i] == nil || s.t[i].h != h) {
			t := &Tensor{h: h}
			callerOwned(t)
			s.t[i] = t
		}
	}
}

func (s *slotState) export(vars []*Var, m map[string]*Tensor) {
	for i, t := range s.t {
		if t != nil {
			m[vars[i].Name+"."+s.name] = t
		}
	}
}

func (s *slotState) load(vars []*Var, m map[string]*Tensor) error {
	for i, v := range vars {
		src, ok := m[v.Name+"."+s.name]
		if !ok {
			continue
		}
		if !slices.Equal(src.Shape(), v.T.Shape()) {
			return fmt.Errorf("optimizer state %s.%s has shape %v, parameter has %v", v.Name, s.name, src.Shape(), v.T.Shape())
		}
		nt := src.In(nil).ToOpts(false, v.T.DType(), v.T.Device()).Clone().Detach()
		if err := nt.Err(); err != nil {
			return err
		}
		if s.t[i] != nil {
			s.t[i].Free()
		}
		s.t[i], s.h[i] = nt, nt.h
	}
	return nil
}

func (s *slotState) close() {
	for i, t := range s.t {
		if t != nil {
			t.Free()
		}
		s.t[i], s.h[i] = nil, nil
	}
}

// groups splits the variables into those with and without weight decay, returning
// their parameter handles and slot indices.
func groups(vars []*Var) (idx [2][]int) {
	for i, v := range vars {
		g := 0
		if v.NoWeightDecay {
			g = 1
		}
		idx[g] = append(idx[g], i)
	}
	return idx
}

// eachGroup calls step with the handles of each non-empty weight-decay group of vars
// and the weight decay that applies to it (wd, or 0 for NoWeightDecay parameters).
func eachGroup(vars []*Var, wd float64, step func(idx []int, ps []C.dr_tensor, wd float64) error) error {
	for g, idx := range groups(vars) {
		if len(idx) == 0 {
			continue
		}
		ps, err := gather(vars, idx)
		if err != nil {
			return err
		}
		gwd := wd
		if g == 1 {
			gwd = 0
		}
		if err := step(idx, ps, gwd); err != nil {
			return err
		}
	}
	return nil
}

func gather(vars []*Var, idx []int) ([]C.dr_tensor, error) {
	hs := make([]C.dr_tensor, len(idx))
	for k, i := range idx {
		if err := vars[i].T.Err(); err != nil {
			return nil, fmt.Errorf("parameter %s: %w", vars[i].Name, err)
		}
		hs[k] = vars[i].T.h
	}
	return hs, nil
}

func gatherSlot(s *slotState, idx []int) []C.dr_tensor {
	hs := make([]C.dr_tensor, len(idx))
	for k, i := range idx {
		hs[k] = s.h[i]
	}
	return hs
}

func scatterSlot(s *slotState, idx []int, hs []C.dr_tensor) {
	for k, i := range idx {
		s.h[i] = hs[k]
	}
}

// SGDConfig holds the hyper-parameters of SGD (torch.optim.SGD semantics).
type SGDConfig struct {
	LR, Momentum, Dampening, WeightDecay float64
	Nesterov                             bool
}

// SGD is stochastic gradient descent with momentum, Nesterov momentum and weight
// decay; the whole update is one call into libtorch.
type SGD struct {
	cfg  SGDConfig
	vars []*Var
	buf  *slotState
}

// NewSGD returns an SGD optimizer over vars (usually store.Trainable()).
func NewSGD(vars []*Var, cfg SGDConfig) (*SGD, error) {
	if cfg.Nesterov && (cfg.Momentum <= 0 || cfg.Dampening != 0) {
		return nil, fmt.Errorf("sgd: Nesterov momentum needs momentum > 0 and zero dampening")
	}
	if cfg.LR < 0 || cfg.Momentum < 0 || cfg.WeightDecay < 0 {
		return nil, fmt.Errorf("sgd: negative hyper-parameter in %+v", cfg)
	}
	return &SGD{cfg: cfg, vars: vars, buf: newSlot("momentum_buffer", len(vars))}, nil
}

// Step implements Optimizer.
func (o *SGD) Step() error {
	err := eachGroup(o.vars, o.cfg.WeightDecay, func(idx []int, ps []C.dr_tensor, wd float64) error {
		bufs := gatherSlot(o.buf, idx)
		e := C.dr_sgd_step(&ps[0], &bufs[0], C.int64_t(len(ps)), C.double(o.cfg.LR), C.double(o.cfg.Momentum),
			C.double(o.cfg.Dampening), C.double(wd), C.bool(o.cfg.Nesterov))
		scatterSlot(o.buf, idx, bufs)
		return takeError("SGD.Step", e)
	})
	if err != nil {
		return err
	}
	o.buf.adoptNew()
	runtime.KeepAlive(o.vars)
	return nil
}

// LR implements Optimizer.
func (o *SGD) LR() float64 { return o.cfg.LR }

// SetLR implements Optimizer.
func (o *SGD) SetLR(lr float64) { o.cfg.LR = lr }

// State implements Optimizer.
func (o *SGD) State() (map[string]*Tensor, map[string]string) {
	m := map[string]*Tensor{}
	o.buf.export(o.vars, m)
	return m, map[string]string{"optimizer": "sgd", "lr": strconv.FormatFloat(o.cfg.LR, 'g', -1, 64)}
}

// LoadState implements Optimizer.
func (o *SGD) LoadState(tensors map[string]*Tensor, meta map[string]string) error {
	if k := meta["optimizer"]; k != "" && k != "sgd" {
		return fmt.Errorf("optimizer state is for %q, not sgd", k)
	}
	if v, err := strconv.ParseFloat(meta["lr"], 64); err == nil {
		o.cfg.LR = v
	}
	return o.buf.load(o.vars, tensors)
}

// Close implements Optimizer.
func (o *SGD) Close() { o.buf.close() }

// AdamConfig holds the hyper-parameters of Adam and AdamW.
type AdamConfig struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	// Decoupled selects AdamW (decay applied to the weights directly) instead of
	// Adam's L2 penalty added to the gradient.
	Decoupled bool
}

// DefaultAdam returns PyTorch's defaults (lr 1e-3, betas 0.9/0.999, eps 1e-8).
func DefaultAdam() AdamConfig { return AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// Adam is the Adam / AdamW optimizer with bias correction.
type Adam struct {
	cfg    AdamConfig
	vars   []*Var
	m, v   *slotState
	nsteps int64
}

// NewAdam returns an Adam (or, with cfg.Decoupled, AdamW) optimizer over vars.
func NewAdam(vars []*Var, cfg AdamConfig) (*Adam, error) {
	if cfg.LR < 0 || cfg.Eps <= 0 || cfg.Beta1 < 0 || cfg.Beta1 >= 1 || cfg.Beta2 < 0 || cfg.Beta2 >= 1 {
		return nil, fmt.Errorf("adam: invalid hyper-parameters %+v", cfg)
	}
	return &Adam{cfg: cfg, vars: vars, m: newSlot("exp_avg", len(vars)), v: newSlot("exp_avg_sq", len(vars))}, nil
}

// Step implements Optimizer.
func (o *Adam) Step() error {
	o.nsteps++
	err := eachGroup(o.vars, o.cfg.WeightDecay, func(idx []int, ps []C.dr_tensor, wd float64) error {
		ms, vs := gatherSlot(o.m, idx), gatherSlot(o.v, idx)
		e := C.dr_adam_step(&ps[0], &ms[0], &vs[0], C.int64_t(len(ps)), C.double(o.cfg.LR), C.double(o.cfg.Beta1),
			C.double(o.cfg.Beta2), C.double(o.cfg.Eps), C.double(wd), C.bool(o.cfg.Decoupled), C.int64_t(o.nsteps))
		scatterSlot(o.m, idx, ms)
		scatterSlot(o.v, idx, vs)
		return takeError("Adam.Step", e)
	})
	if err != nil {
		return err
	}
	o.m.adoptNew()
	o.v.adoptNew()
	runtime.KeepAlive(o.vars)
	return nil
}

// LR implements Optimizer.
func (o *Adam) LR() float64 { return o.cfg.LR }

// SetLR implements Optimizer.
func (o *Adam) SetLR(lr float64) { o.cfg.LR = lr }

// State implements Optimizer.
func (o *Adam) State() (map[string]*Tensor, map[string]string) {
	m := map[string]*Tensor{}
	o.m.export(o.vars, m)
	o.v.export(o.vars, m)
	kind := "adam"
	if o.cfg.Decoupled {
		kind = "adamw"
	}
	return m, map[string]string{"optimizer": kind, "step": strconv.FormatInt(o.nsteps, 10),
		"lr": strconv.FormatFloat(o.cfg.LR, 'g', -1, 64)}
}

// LoadState implements Optimizer.
func (o *Adam) LoadState(tensors map[string]*Tensor, meta map[string]string) error {
	if k := meta["optimizer"]; k != "" && k != "adam" && k != "adamw" {
		return fmt.Errorf("optimizer state is for %q, not adam", k)
	}
	if n, err := strconv.ParseInt(meta["step"], 10, 64); err == nil {
		o.nsteps = n
	}
	if v, err := strconv.ParseFloat(meta["lr"], 64); err == nil {
		o.cfg.LR = v
	}
	if err := o.m.load(o.vars, tensors); err != nil {
		return err
	}
	return o.v.load(o.vars, tensors)
}

// Close implements Optimizer.
func (o *Adam) Close() {
	o.m.close()
	o.v.close()
}

func paramHandles(vars []*Var) ([]C.dr_tensor, error) {
	idx := make([]int, len(vars))
	for i := range idx {
		idx[i] = i
	}
	return gather(vars, idx)
}

// ClipGradNorm scales the gradients so that their joint L2 norm is at most maxNorm
// and returns the norm before clipping.
func ClipGradNorm(vars []*Var, maxNorm float64) (float64, error) {
	hs, err := paramHandles(vars)
	if err != nil || len(hs) == 0 {
		return 0, err
	}
	var total C.double
	e := C.dr_clip_grad_norm(&hs[0], C.int64_t(len(hs)), C.double(maxNorm), &total)
	runtime.KeepAlive(vars)
	return float64(total), takeError("ClipGradNorm", e)
}

// GradsFinite reports whether every gradient is free of NaN and infinity.
func GradsFinite(vars []*Var) (bool, error) {
	hs, err := paramHandles(vars)
	if err != nil || len(hs) == 0 {
		return true, err
	}
	var ok C.bool
	e := C.dr_grads_finite(&hs[0], C.int64_t(len(hs)), &ok)
	runtime.KeepAlive(vars)
	return bool(ok), takeError("GradsFinite", e)
}

// ScaleGrads multiplies every gradient by factor (loss-scaling for float16).
func ScaleGrads(vars []*Var, factor float64) error {
	hs, err := paramHandles(vars)
	if err != nil || len(hs) == 0 {
		return err
	}
	e := C.dr_scale_grads(&hs[0], C.int64_t(len(hs)), C.double(factor))
	runtime.KeepAlive(vars)
	return takeError("ScaleGrads", e)
}

// RNGState returns a copy of the CPU generator's state (for exact resume).
func RNGState() (*Tensor, error) {
	var h C.dr_tensor
	if err := takeError("RNGState", C.dr_get_rng_state(&h)); err != nil {
		return nil, err
	}
	t := &Tensor{h: h}
	callerOwned(t)
	return t, nil
}

// SetRNGState restores a state returned by RNGState.
func SetRNGState(state *Tensor) error {
	if err := state.Err(); err != nil {
		return err
	}
	e := C.dr_set_rng_state(state.h)
	runtime.KeepAlive(state)
	return takeError("SetRNGState", e)
}
