package torch

// #include <stdlib.h>
// #include "shim/shim.h"
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// Tensor is a handle to a libtorch tensor.
//
// Ownership: a tensor produced by an operation belongs to the Scope of its first
// operand that has one (or, for creation functions, to the Scope passed in) and is
// released when that Scope closes. A tensor with no Scope (parameters, results of
// operations whose operands have no Scope, creation with a nil Scope) belongs to the
// caller, who releases it with Free; a cleanup (runtime.AddCleanup) frees forgotten
// ones as a last resort only, once nothing refers to them.
//
// Errors are sticky: an operation that fails in libtorch returns a tensor carrying
// the error (see Err), every operation on such a tensor fails with the same error
// without calling libtorch, and the Scope remembers the first error (Scope.Err).
type Tensor struct {
	h     C.dr_tensor
	scope *Scope
	slot  int
	err   error
	// cleanup frees h if the tensor is caller-owned and becomes unreachable.
	cleanup runtime.Cleanup
}

// ErrReleased is returned when a tensor is used after its Scope closed or it was freed.
var ErrReleased = errors.New("torch: tensor used after it was released (its scope closed or Free was called)")

// Err returns the error the tensor carries, or nil.
func (t *Tensor) Err() error {
	if t == nil {
		return errors.New("torch: nil tensor")
	}
	if t.err != nil {
		return t.err
	}
	if t.h == nil {
		return ErrReleased
	}
	return nil
}

// Fail returns a tensor that carries err (and records it in s, which may be nil):
// for composite operations that detect a failure themselves.
func Fail(s *Scope, err error) *Tensor {
	s.setErr(err)
	return &Tensor{err: err}
}

// Scope returns the scope that owns t (nil for caller-owned tensors).
func (t *Tensor) Scope() *Scope { return t.scope }

// Free releases the tensor now. Using it afterwards is an error. Free on a tensor of
// a scope takes it out of that scope.
func (t *Tensor) Free() {
	if t == nil || t.h == nil {
		return
	}
	if t.scope != nil {
		t.scope.remove(t)
	} else {
		t.cleanup.Stop()
	}
	C.dr_free(t.h)
	t.h = nil
}

// MoveTo transfers ownership of t to scope s (nil: to the caller) and returns t.
// Use it to keep a result beyond the scope that produced it.
func (t *Tensor) MoveTo(s *Scope) *Tensor {
	if t == nil || t.h == nil || t.scope == s {
		return t
	}
	if t.scope != nil {
		t.scope.remove(t)
	} else {
		t.cleanup.Stop()
	}
	adopt(s, t)
	return t
}

// In returns a second handle to the same tensor (same storage and autograd
// identity), owned by scope s. Operations on it run in s's mode and put their
// results in s.
func (t *Tensor) In(s *Scope) *Tensor {
	c := newCall("In", t)
	if c.err != nil {
		return c.fail()
	}
	c.s, c.mode = s, s.modeWord()
	h := C.dr_alias(t.h)
	runtime.KeepAlive(t)
	return c.wrap(h)
}

// freeHandle is the cleanup of a caller-owned tensor.
func freeHandle(h C.dr_tensor) { C.dr_free(h) }

// adopt gives t to scope s, or to the caller when s is nil or closed.
func adopt(s *Scope, t *Tensor) {
	if s == nil || !s.add(t) {
		callerOwned(t)
	}
}

// callerOwned makes t the caller's: its handle is freed by Free or, if t is
// forgotten, by a cleanup once t is unreachable.
func callerOwned(t *Tensor) {
	t.scope = nil
	t.cleanup = runtime.AddCleanup(t, freeHandle, t.h)
}

// Scope owns the tensors produced in it and releases them all at once on Close, so
// that libtorch memory (host or GPU) is returned deterministically. It also carries
// the mode of the operations whose results it receives (gradient recording,
// inference mode, autocast), passed to libtorch with each call rather than kept in
// thread-local state. A Scope may be used from several goroutines.
//
// Close a scope when done with it. A scope that is never closed is released as a
// last resort once neither it nor any of its tensors is reachable (a tensor keeps its
// scope alive): its tensors' handles are kept apart in a handle list that refers to
// no Go object of the scope, so the scope and its tensors, which point at each other,
// can be collected together while a cleanup (runtime.AddCleanup) frees the list.
type Scope struct {
	mu      sync.Mutex
	owned   []*Tensor
	handles *scopeHandles
	free    []int
	err     error
	mode    C.int
	closed  bool
	cleanup runtime.Cleanup
}

// scopeHandles holds the libtorch handles of a scope's tensors, slot by slot as in
// Scope.owned (nil where a slot is free).
type scopeHandles struct{ h []C.dr_tensor }

// release frees every handle in the list; it is the cleanup of an unclosed scope.
func (l *scopeHandles) release() {
	hs := l.h[:0]
	for _, h := range l.h {
		if h != nil {
			hs = append(hs, h)
		}
	}
	if len(hs) > 0 {
		C.dr_free_many(&hs[0], C.int64_t(len(hs)))
	}
	l.h = nil
}

// ScopeOption configures a Scope.
type ScopeOption func(*Scope)

// NoGrad makes operations in the scope run without recording gradients.
func NoGrad() ScopeOption { return func(s *Scope) { s.mode |= C.DR_MODE_NOGRAD } }

// Inference makes operations run in libtorch's inference mode (faster than NoGrad;
// results can never take part in autograd).
func Inference() ScopeOption { return func(s *Scope) { s.mode |= C.DR_MODE_INFERENCE } }

// Autocast runs operations on the given device type with automatic mixed precision
// in dtype (Float16 or BFloat16 on CUDA, BFloat16 on the CPU).
func Autocast(device DeviceType, dtype DType) ScopeOption {
	return func(s *Scope) {
		if device == DeviceCUDA {
			s.mode |= C.DR_MODE_AUTOCAST_CUDA
		} else {
			s.mode |= C.DR_MODE_AUTOCAST_CPU
		}
		s.mode |= C.int(dtype) << C.DR_MODE_DTYPE_SHIFT
	}
}

// NewScope returns an empty scope.
func NewScope(opts ...ScopeOption) *Scope {
	s := &Scope{handles: &scopeHandles{}}
	for _, o := range opts {
		o(s)
	}
	s.cleanup = runtime.AddCleanup(s, (*scopeHandles).release, s.handles)
	return s
}

// Do runs f with a new scope, closes the scope and returns f's error or, if f
// returned nil, the first error of an operation in the scope.
func Do(f func(s *Scope) error, opts ...ScopeOption) error {
	s := NewScope(opts...)
	defer s.Close()
	if err := f(s); err != nil {
		return err
	}
	return s.Err()
}

func (s *Scope) modeWord() C.int {
	if s == nil {
		return 0
	}
	return s.mode
}

// Err returns the first error of an operation whose result went to this scope.
func (s *Scope) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Len is the number of live tensors the scope owns.
func (s *Scope) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.owned) - len(s.free)
}

func (s *Scope) setErr(err error) {
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

func (s *Scope) add(t *Tensor) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	t.scope = s
	if n := len(s.free); n > 0 {
		t.slot = s.free[n-1]
		s.free = s.free[:n-1]
		s.owned[t.slot] = t
		s.handles.h[t.slot] = t.h
	} else {
		t.slot = len(s.owned)
		s.owned = append(s.owned, t)
		s.handles.h = append(s.handles.h, t.h)
	}
	return true
}

func (s *Scope) remove(t *Tensor) {
	s.mu.Lock()
	if t.slot < len(s.owned) && s.owned[t.slot] == t {
		s.owned[t.slot] = nil
		s.handles.h[t.slot] = nil
		s.free = append(s.free, t.slot)
	}
	s.mu.Unlock()
	t.scope = nil
}

// Close releases every tensor the scope owns. Tensors moved out with MoveTo stay.
// Closing twice is harmless.
func (s *Scope) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	owned := s.owned
	s.owned, s.free, s.closed = nil, nil, true
	s.cleanup.Stop()
	for _, t := range owned {
		if t != nil {
			t.h = nil
		}
	}
	s.handles.release()
	s.mu.Unlock()
}

// ---- call machinery used by the generated wrappers ----

// absent stands for an optional tensor argument that was not given.
var absent = &Tensor{}

func optional(t *Tensor) *Tensor {
	if t == nil {
		return absent
	}
	return t
}

func handleOrNil(t *Tensor) C.dr_tensor {
	if t == nil {
		return nil
	}
	return t.h
}

type call struct {
	op   string
	s    *Scope
	mode C.int
	err  error
}

func newCall(op string, ts ...*Tensor) call {
	c := call{op: op}
	for i, t := range ts {
		if t == absent {
			continue
		}
		c.take(t, i)
	}
	c.mode = c.s.modeWord()
	return c
}

func (c *call) take(t *Tensor, i int) {
	switch {
	case t == nil:
		if c.err == nil {
			c.err = &Error{Class: ErrValue, Op: c.op, Msg: fmt.Sprintf("tensor argument %d is nil", i)}
		}
		return
	case t.err != nil:
		if c.err == nil {
			c.err = t.err
		}
	case t.h == nil:
		if c.err == nil {
			c.err = fmt.Errorf("%s: %w", c.op, ErrReleased)
		}
	}
	if c.s == nil && t.scope != nil {
		c.s = t.scope
	}
}

func newCallScope(op string, s *Scope) call {
	return call{op: op, s: s, mode: s.modeWord()}
}

func (c *call) list(ts []*Tensor) []C.dr_tensor {
	hs := make([]C.dr_tensor, len(ts))
	hadScope := c.s != nil
	for i, t := range ts {
		c.take(t, i)
		if t != nil {
			hs[i] = t.h
		}
	}
	if !hadScope {
		c.mode = c.s.modeWord()
	}
	return hs
}

func (c *call) fail() *Tensor {
	c.s.setErr(c.err)
	return &Tensor{err: c.err, scope: nil}
}

func (c *call) check(e C.dr_err) error {
	if err := takeError(c.op, e); err != nil {
		c.err = err
		c.s.setErr(err)
		return err
	}
	return nil
}

func (c *call) wrap(h C.dr_tensor) *Tensor {
	t := &Tensor{h: h}
	adopt(c.s, t)
	return t
}

func (c *call) result(e C.dr_err, out C.dr_tensor) *Tensor {
	if c.check(e) != nil {
		return c.fail()
	}
	return c.wrap(out)
}

func (c *call) result2(e C.dr_err, a, b C.dr_tensor) (*Tensor, *Tensor) {
	if c.check(e) != nil {
		return c.fail(), c.fail()
	}
	return c.wrap(a), c.wrap(b)
}

func (c *call) resultList(e C.dr_err, outs *C.dr_tensor, n C.int64_t) ([]*Tensor, error) {
	if err := c.check(e); err != nil {
		return nil, err
	}
	hs := unsafe.Slice(outs, int(n))
	res := make([]*Tensor, len(hs))
	for i, h := range hs {
		res[i] = c.wrap(h)
	}
	C.free(unsafe.Pointer(outs))
	return res, nil
}

func handlesPtr(hs []C.dr_tensor) *C.dr_tensor {
	if len(hs) == 0 {
		return nil
	}
	return &hs[0]
}

func int64sPtr(v []int64) *C.int64_t {
	if len(v) == 0 {
		return nil
	}
	return (*C.int64_t)(unsafe.Pointer(&v[0]))
}
