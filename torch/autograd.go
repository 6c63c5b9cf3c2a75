package torch

// #include <stdlib.h>
// #include "shim/shim.h"
import "C"

import "runtime"

// SetRequiresGrad marks a leaf tensor as needing gradients (or not) and returns it.
func (t *Tensor) SetRequiresGrad(r bool) *Tensor {
	if t.Err() != nil {
		return t
	}
	e := C.dr_set_requires_grad(t.h, C.bool(r))
	runtime.KeepAlive(t)
	if err := takeError("SetRequiresGrad", e); err != nil {
		t.scope.setErr(err)
		return &Tensor{err: err}
	}
	return t
}

// RequiresGrad reports whether gradients are recorded for t.
func (t *Tensor) RequiresGrad() bool {
	if t.Err() != nil {
		return false
	}
	defer runtime.KeepAlive(t)
	return bool(C.dr_requires_grad(t.h))
}

// IsLeaf reports whether t is a leaf of the autograd graph.
func (t *Tensor) IsLeaf() bool {
	if t.Err() != nil {
		return false
	}
	defer runtime.KeepAlive(t)
	return bool(C.dr_is_leaf(t.h))
}

// Backward computes the gradient of the scalar t with respect to every leaf that
// requires it, accumulating into their Grad.
func (t *Tensor) Backward() error { return t.BackwardWith(nil, false, false) }

// BackwardWith is Backward with an explicit output gradient (nil for a scalar),
// keeping the graph for another backward pass (retain) and/or recording the
// backward pass itself for higher-order gradients (create).
func (t *Tensor) BackwardWith(grad *Tensor, retain, create bool) error {
	c := newCall("Backward", t, optional(grad))
	if c.err != nil {
		return c.err
	}
	e := C.dr_backward(c.mode, t.h, handleOrNil(grad), C.bool(retain), C.bool(create))
	runtime.KeepAlive(t)
	runtime.KeepAlive(grad)
	return c.check(e)
}

// Grad returns the accumulated gradient of t, or nil if it has none. The result
// belongs to t's scope (to the caller for tensors without one); use In to place it
// in another scope.
func (t *Tensor) Grad() *Tensor {
	c := newCall("Grad", t)
	if c.err != nil {
		return c.fail()
	}
	var out C.dr_tensor
	e := C.dr_grad(t.h, &out)
	runtime.KeepAlive(t)
	if c.check(e) != nil {
		return c.fail()
	}
	if out == nil {
		return nil
	}
	return c.wrap(out)
}

// SetGrad replaces the accumulated gradient (nil clears it).
func (t *Tensor) SetGrad(g *Tensor) error {
	c := newCall("SetGrad", t, optional(g))
	if c.err != nil {
		return c.err
	}
	e := C.dr_set_grad(t.h, handleOrNil(g))
	runtime.KeepAlive(t)
	runtime.KeepAlive(g)
	return c.check(e)
}

// ZeroGrad clears the accumulated gradient (PyTorch's zero_grad(set_to_none=True)).
func (t *Tensor) ZeroGrad() error { return t.SetGrad(nil) }

// Grad returns the gradients of the sum of outputs (weighted by gradOutputs, which
// may be nil for scalar outputs) with respect to inputs, without accumulating into
// Grad. With createGraph the result is itself differentiable, so a loss that
// contains these gradients can be differentiated again (double backward);
// retainGraph keeps the graph for later backward passes (implied by createGraph in
// PyTorch; pass it explicitly here). An input that does not influence the outputs
// gets a nil gradient. Results belong to the scope of the first output that has one.
func Grad(outputs, inputs, gradOutputs []*Tensor, retainGraph, createGraph bool) ([]*Tensor, error) {
	c := newCall("Grad")
	outH := c.list(outputs)
	inH := c.list(inputs)
	var gH []C.dr_tensor
	if gradOutputs != nil {
		if len(gradOutputs) != len(outputs) {
			return nil, &Error{Class: ErrValue, Op: "Grad", Msg: "gradOutputs must be nil or as long as outputs"}
		}
		gH = make([]C.dr_tensor, len(gradOutputs))
		for i, g := range gradOutputs {
			if g != nil {
				c.take(g, i)
				gH[i] = g.h
			}
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	if len(outputs) == 0 || len(inputs) == 0 {
		return nil, &Error{Class: ErrValue, Op: "Grad", Msg: "need at least one output and one input"}
	}
	res := make([]C.dr_tensor, len(inputs))
	e := C.dr_autograd_grad(c.mode, &outH[0], C.int64_t(len(outH)), &inH[0], C.int64_t(len(inH)),
		handlesPtr(gH), C.bool(retainGraph), C.bool(createGraph), C.bool(true), &res[0])
	runtime.KeepAlive(outputs)
	runtime.KeepAlive(inputs)
	runtime.KeepAlive(gradOutputs)
	if err := c.check(e); err != nil {
		return nil, err
	}
	out := make([]*Tensor, len(res))
	for i, h := range res {
		if h != nil {
			out[i] = c.wrap(h)
		}
	}
	return out, nil
}
