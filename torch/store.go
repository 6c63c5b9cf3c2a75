package torch

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Var is one named entry of a Store: a trainable parameter or a buffer (running
// statistics and other state that is saved but not trained).
type Var struct {
	// Name is the PyTorch state_dict key, e.g. "layer1.0.conv1.weight".
	Name string
	// T is the tensor; the Store owns it.
	T *Tensor
	// Buffer is true for buffers.
	Buffer bool
	// NoWeightDecay excludes the parameter from weight decay (biases and
	// normalisation parameters, when a recipe asks for it).
	NoWeightDecay bool
	frozen        bool
}

// Trainable reports whether the optimizer should update v.
func (v *Var) Trainable() bool { return !v.Buffer && !v.frozen }

// Store is an ordered, named collection of parameters and buffers: the Go side of a
// PyTorch state_dict. Creation functions take a Path (a name prefix in the store).
// The store owns its tensors; Close releases them.
type Store struct {
	mu       sync.Mutex
	vars     []*Var
	byName   map[string]*Var
	device   Device
	dtype    DType
	training bool
	skipInit bool
	err      error
}

// NewStore returns an empty store whose new parameters are created with the given
// dtype and device options (float32 on the CPU by default). It starts in training
// mode.
func NewStore(opts ...Option) *Store {
	o := resolveOptions(opts)
	s := &Store{byName: map[string]*Var{}, device: CPU, dtype: Float32, training: true}
	if o.dtype >= 0 {
		s.dtype = DType(o.dtype)
	}
	if o.devType >= 0 {
		s.device = Device{Type: DeviceType(o.devType), Index: o.devIndex}
	}
	return s
}

// Device returns where the store's tensors live.
func (s *Store) Device() Device { return s.device }

// DType returns the dtype of new floating-point parameters.
func (s *Store) DType() DType { return s.dtype }

// Err returns the first error met while creating or loading entries.
func (s *Store) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Store) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// Training reports whether modules built on the store run in training mode
// (batch statistics, dropout).
func (s *Store) Training() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.training
}

// SetTraining switches between training and evaluation mode.
func (s *Store) SetTraining(on bool) {
	s.mu.Lock()
	s.training = on
	s.mu.Unlock()
}

// SkipInit makes later parameter creation skip the initialisation schemes (the
// values are left uninitialised): for building a model only to load weights into
// it or to inspect its shapes.
func (s *Store) SkipInit(skip bool) {
	s.mu.Lock()
	s.skipInit = skip
	s.mu.Unlock()
}

// Root returns the path of the store's top level.
func (s *Store) Root() Path { return Path{store: s} }

// Vars returns all entries in creation order.
func (s *Store) Vars() []*Var {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Var(nil), s.vars...)
}

// Get returns the entry with the given name, or nil.
func (s *Store) Get(name string) *Var {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byName[name]
}

// Trainable returns the parameters the optimizer updates, in order.
func (s *Store) Trainable() []*Var {
	var out []*Var
	for _, v := range s.Vars() {
		if v.Trainable() {
			out = append(out, v)
		}
	}
	return out
}

// NumParams counts the elements of all parameters (not buffers).
func (s *Store) NumParams() int64 {
	var n int64
	for _, v := range s.Vars() {
		if !v.Buffer {
			n += v.T.Numel()
		}
	}
	return n
}

// Freeze stops training of the parameters whose names start with prefix ("" for
// all); Unfreeze undoes it.
func (s *Store) Freeze(prefix string) error { return s.setFrozen(prefix, true) }

// Unfreeze resumes training of the parameters whose names start with prefix.
func (s *Store) Unfreeze(prefix string) error { return s.setFrozen(prefix, false) }

func (s *Store) setFrozen(prefix string, frozen bool) error {
	for _, v := range s.Vars() {
		if v.Buffer || !strings.HasPrefix(v.Name, prefix) {
			continue
		}
		v.frozen = frozen
		if err := v.T.SetRequiresGrad(!frozen).Err(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) register(v *Var) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.byName[v.Name]; dup {
		return fmt.Errorf("store: duplicate name %q", v.Name)
	}
	s.byName[v.Name] = v
	s.vars = append(s.vars, v)
	return nil
}

// ZeroGrad clears the gradients of all parameters.
func (s *Store) ZeroGrad() error {
	for _, v := range s.Vars() {
		if !v.Buffer {
			if err := v.T.ZeroGrad(); err != nil {
				return err
			}
		}
	}
	return nil
}

// CopyFrom copies the values of every entry of src with the same name and shape into
// this store. With strict, a missing or extra name or a shape mismatch is an error.
func (s *Store) CopyFrom(src *Store, strict bool) error {
	seen := map[string]bool{}
	for _, v := range s.Vars() {
		w := src.Get(v.Name)
		if w == nil {
			if strict {
				return fmt.Errorf("copy: %q missing in the source", v.Name)
			}
			continue
		}
		seen[v.Name] = true
		if !slices.Equal(v.T.Shape(), w.T.Shape()) {
			return fmt.Errorf("copy: %q has shape %v, source has %v", v.Name, v.T.Shape(), w.T.Shape())
		}
		if err := v.T.Copy_(w.T); err != nil {
			return fmt.Errorf("copy %q: %w", v.Name, err)
		}
	}
	if strict {
		for _, w := range src.Vars() {
			if !seen[w.Name] {
				return fmt.Errorf("copy: unexpected %q in the source", w.Name)
			}
		}
	}
	return nil
}

// To moves every entry to device d (parameters stay leaves that require grad).
func (s *Store) To(d Device) error {
	for _, v := range s.Vars() {
		if v.T.Device() == d {
			continue
		}
		nt := v.T.In(nil).To(d).Detach()
		if err := nt.Err(); err != nil {
			return fmt.Errorf("move %q to %v: %w", v.Name, d, err)
		}
		if !v.Buffer {
			nt.SetRequiresGrad(!v.frozen)
		}
		old := v.T
		v.T = nt
		old.Free()
	}
	s.device = d
	return nil
}

// Tensors returns the entries as a name → tensor map (a state_dict).
func (s *Store) Tensors() map[string]*Tensor {
	m := map[string]*Tensor{}
	for _, v := range s.Vars() {
		m[v.Name] = v.T
	}
	return m
}

// Close releases every tensor of the store.
func (s *Store) Close() {
	for _, v := range s.Vars() {
		v.T.Free()
	}
}

// Path is a name prefix inside a Store, used to build state_dict keys the way
// PyTorch modules nest ("layer1" / "0" / "conv1" → "layer1.0.conv1.weight").
type Path struct {
	store  *Store
	prefix string
}

// Store returns the store of the path.
func (p Path) Store() *Store { return p.store }

// Sub returns the child path name.
func (p Path) Sub(name string) Path {
	if p.prefix == "" {
		return Path{p.store, name}
	}
	return Path{p.store, p.prefix + "." + name}
}

// Subf is Sub with a formatted name.
func (p Path) Subf(format string, args ...any) Path { return p.Sub(fmt.Sprintf(format, args...)) }

// Name returns the full key of an entry called name under this path.
func (p Path) Name(name string) string { return p.Sub(name).prefix }

// Training reports the store's training flag.
func (p Path) Training() bool { return p.store.Training() }

// Param creates a trainable parameter of the given shape initialised by init.
func (p Path) Param(name string, shape []int64, init Init) *Tensor {
	return p.create(name, shape, init, false, p.store.dtype)
}

// Buffer creates a non-trainable buffer (e.g. BatchNorm running statistics).
func (p Path) Buffer(name string, shape []int64, init Init, dtype DType) *Tensor {
	return p.create(name, shape, init, true, dtype)
}

func (p Path) create(name string, shape []int64, init Init, buffer bool, dtype DType) *Tensor {
	full := p.Name(name)
	t := Empty(nil, shape, dtype, p.store.device)
	err := t.Err()
	p.store.mu.Lock()
	skip := p.store.skipInit
	p.store.mu.Unlock()
	if err == nil && init != nil && !skip {
		err = init.Initialize(t)
	}
	if err == nil && !buffer {
		err = t.SetRequiresGrad(true).Err()
	}
	if err == nil {
		err = p.store.register(&Var{Name: full, T: t, Buffer: buffer})
	}
	if err != nil {
		err = fmt.Errorf("create %q %v: %w", full, shape, err)
		p.store.fail(err)
		t.Free()
		return &Tensor{err: err}
	}
	return t
}

// ---- initialisation schemes ----

// Init fills a new parameter in place.
type Init interface {
	Initialize(t *Tensor) error
}

// Fans returns the fan-in and fan-out of a weight of shape (out, in, k1, k2, …): in·Πk and out·Πk.
func Fans(shape []int64) (fanIn, fanOut int64, err error) {
	if len(shape) < 2 {
		return 0, 0, errors.New("fan in and fan out need a tensor with at least 2 dimensions")
	}
	rf := int64(1)
	for _, k := range shape[2:] {
		rf *= k
	}
	return shape[1] * rf, shape[0] * rf, nil
}

// Constant fills with a value.
type Constant float64

// Initialize implements Init.
func (c Constant) Initialize(t *Tensor) error { return t.Fill_(float64(c)) }

// Uniform fills with samples from [Lo, Hi).
type Uniform struct{ Lo, Hi float64 }

// Initialize implements Init.
func (u Uniform) Initialize(t *Tensor) error { return t.Uniform_(u.Lo, u.Hi) }

// Normal fills with samples of N(Mean, Std²).
type Normal struct{ Mean, Std float64 }

// Initialize implements Init.
func (n Normal) Initialize(t *Tensor) error { return t.Normal_(n.Mean, n.Std) }

// TruncNormal fills with N(Mean, Std²) truncated to [A, B] (absolute bounds, as
// PyTorch's trunc_normal_).
type TruncNormal struct{ Mean, Std, A, B float64 }

// Initialize implements Init.
func (n TruncNormal) Initialize(t *Tensor) error {
	cdf := func(x float64) float64 { return (1 + math.Erf(x/math.Sqrt2)) / 2 }
	l, u := cdf((n.A-n.Mean)/n.Std), cdf((n.B-n.Mean)/n.Std)
	for _, err := range []error{
		t.Uniform_(2*l-1, 2*u-1), t.Erfinv_(), t.MulScalar_(n.Std * math.Sqrt2), t.AddScalar_(n.Mean), t.Clamp_(n.A, n.B),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// FanMode selects which fan Kaiming initialisation preserves.
type FanMode int

// Fan modes.
const (
	FanIn FanMode = iota
	FanOut
)

// KaimingNormal is He initialisation with a normal distribution:
// std = gain/√fan, gain = √(2/(1+A²)) (A is the negative slope of a leaky ReLU; 0
// for ReLU).
type KaimingNormal struct {
	A    float64
	Mode FanMode
}

// Initialize implements Init.
func (k KaimingNormal) Initialize(t *Tensor) error {
	fan, err := pickFan(t, k.Mode)
	if err != nil {
		return err
	}
	return t.Normal_(0, math.Sqrt(2/(1+k.A*k.A))/math.Sqrt(float64(fan)))
}

// KaimingUniform is He initialisation with a uniform distribution: bound =
// gain·√(3/fan). KaimingUniform{A: √5} is PyTorch's default for Linear and Conv
// weights.
type KaimingUniform struct {
	A    float64
	Mode FanMode
}

// Initialize implements Init.
func (k KaimingUniform) Initialize(t *Tensor) error {
	fan, err := pickFan(t, k.Mode)
	if err != nil {
		return err
	}
	b := math.Sqrt(2/(1+k.A*k.A)) * math.Sqrt(3/float64(fan))
	return t.Uniform_(-b, b)
}

// XavierUniform is Glorot initialisation: bound = Gain·√(6/(fanIn+fanOut)).
type XavierUniform struct{ Gain float64 }

// Initialize implements Init.
func (x XavierUniform) Initialize(t *Tensor) error {
	g, fans, err := xavierFans(t, x.Gain)
	if err != nil {
		return err
	}
	b := g * math.Sqrt(6/fans)
	return t.Uniform_(-b, b)
}

// xavierFans returns the gain (a zero gain counts as 1) and fanIn+fanOut of t.
func xavierFans(t *Tensor, gain float64) (float64, float64, error) {
	fi, fo, err := Fans(t.Shape())
	if err != nil {
		return 0, 0, err
	}
	if gain == 0 {
		gain = 1
	}
	return gain, float64(fi + fo), nil
}

// XavierNormal is Glorot initialisation with std = Gain·√(2/(fanIn+fanOut)).
type XavierNormal struct{ Gain float64 }

// Initialize implements Init.
func (x XavierNormal) Initialize(t *Tensor) error {
	g, fans, err := xavierFans(t, x.Gain)
	if err != nil {
		return err
	}
	return t.Normal_(0, g*math.Sqrt(2/fans))
}

// BiasUniform is PyTorch's default bias initialisation for a layer whose weight has
// fan-in FanIn: uniform in ±1/√FanIn.
type BiasUniform struct{ FanIn int64 }

// Initialize implements Init.
func (b BiasUniform) Initialize(t *Tensor) error {
	if b.FanIn <= 0 {
		return t.Zero_()
	}
	bound := 1 / math.Sqrt(float64(b.FanIn))
	return t.Uniform_(-bound, bound)
}

func pickFan(t *Tensor, m FanMode) (int64, error) {
	fi, fo, err := Fans(t.Shape())
	if err != nil {
		return 0, err
	}
	if m == FanOut {
		return fo, nil
	}
	return fi, nil
}

// sortedNames returns the keys of m in order.
func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
