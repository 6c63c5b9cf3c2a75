package nets

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/divres/divres/torch"
)

// Hooks gives access to named intermediate outputs of a model: forward hooks keyed
// by state_dict prefix names ("conv1", "layer4", "features.7", "layer1.0.bn2").
//
// A model registers the names it can report while it is built (every
// convolution, BatchNorm, Linear and LayerNorm layer under its own name, and the
// stages or stateless layers that a family hooks explicitly, such as ResNet's
// "layer1".."layer4", VGG's activations "features.N", the blocks "features.N" and
// "features.N.M" of MobileNet, EfficientNet and ConvNeXt, and DenseNet's
// "features.denseblockN", "features.denseblockN.denselayerM" and
// "features.transitionN"). A hook set with On sees
// the output of that layer on every forward pass and returns the tensor that the
// model continues with: the same tensor to observe it, another one to change the
// forward computation (for example to detach or perturb an activation). Hooks may
// be set and removed between forward passes; they are shared by all goroutines
// using the model.
type Hooks struct {
	mu     sync.RWMutex
	known  map[string]bool
	active map[string]func(*torch.Tensor) *torch.Tensor
	n      atomic.Int64 // len(active), read without the lock on the fast path
}

// NewHooks returns an empty hook table. Models built by New and NewUninitialized
// get one (Net.Hooks); custom models built from a Builder pass their own.
func NewHooks() *Hooks {
	return &Hooks{known: map[string]bool{}, active: map[string]func(*torch.Tensor) *torch.Tensor{}}
}

// register records that the layer called name reports its output.
func (h *Hooks) register(name string) {
	if h == nil || name == "" {
		return
	}
	h.mu.Lock()
	h.known[name] = true
	h.mu.Unlock()
}

// Names returns the hookable layer names, sorted.
func (h *Hooks) Names() []string {
	if h == nil {
		return nil
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]string, 0, len(h.known))
	for n := range h.known {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Has reports whether name is a hookable layer.
func (h *Hooks) Has(name string) bool {
	if h == nil {
		return false
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.known[name]
}

// On installs f as the hook of layer name (replacing an earlier one). It returns
// a function that removes it. An unknown name is an error that lists a few of the
// known ones.
func (h *Hooks) On(name string, f func(*torch.Tensor) *torch.Tensor) (remove func(), err error) {
	if h == nil {
		return nil, fmt.Errorf("unknown layer %q: the model has no named outputs", name)
	}
	if f == nil {
		return nil, fmt.Errorf("hook of layer %q: nil function", name)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.known[name] {
		return nil, fmt.Errorf("unknown layer %q (layers: %s)", name, h.summaryLocked())
	}
	h.active[name] = f
	h.n.Store(int64(len(h.active)))
	return func() {
		h.mu.Lock()
		delete(h.active, name)
		h.n.Store(int64(len(h.active)))
		h.mu.Unlock()
	}, nil
}

// summaryLocked lists the top-level names and up to 20 of the others.
func (h *Hooks) summaryLocked() string {
	var top, rest []string
	for n := range h.known {
		if strings.Contains(n, ".") {
			rest = append(rest, n)
		} else {
			top = append(top, n)
		}
	}
	sort.Strings(top)
	sort.Strings(rest)
	all := append(top, rest...)
	if len(all) > 24 {
		return strings.Join(all[:24], ", ") + fmt.Sprintf(", … (%d in all)", len(all))
	}
	return strings.Join(all, ", ")
}

// Call passes the output y of layer name through its hook, if one is set. Model
// code calls it where a named output is produced.
func (h *Hooks) Call(name string, y *torch.Tensor) *torch.Tensor {
	if h == nil || h.n.Load() == 0 {
		return y
	}
	h.mu.RLock()
	f := h.active[name]
	h.mu.RUnlock()
	if f == nil {
		return y
	}
	return f(y)
}

// Capture installs hooks that record the outputs of the given layers during the
// next forward passes (the latest output per layer) and returns the map they fill
// and a function that removes the hooks.
func (h *Hooks) Capture(names ...string) (map[string]*torch.Tensor, func(), error) {
	got := map[string]*torch.Tensor{}
	var mu sync.Mutex
	var removes []func()
	done := func() {
		for _, r := range removes {
			r()
		}
	}
	for _, n := range names {
		n := n
		r, err := h.On(n, func(y *torch.Tensor) *torch.Tensor {
			mu.Lock()
			got[n] = y
			mu.Unlock()
			return y
		})
		if err != nil {
			done()
			return nil, nil, err
		}
		removes = append(removes, r)
	}
	return got, done, nil
}

// pathName is the state_dict prefix of p ("" at the root).
func pathName(p torch.Path) string {
	return strings.TrimSuffix(strings.TrimSuffix(p.Name("_"), "_"), ".")
}

// Name returns the state_dict prefix of the builder's path and registers it as a
// hookable layer; model code passes the name to Hooks.Call in its forward pass.
func (b Builder) Name() string {
	n := pathName(b.Path)
	b.Hooks.register(n)
	return n
}

// Hooked wraps m so that its output is reported under the builder's path name.
func (b Builder) Hooked(m Module) Module {
	if b.Hooks == nil {
		return m
	}
	return hooked{name: b.Name(), m: m, h: b.Hooks}
}

// hooked is a module whose output goes through a hook.
type hooked struct {
	name string
	m    Module
	h    *Hooks
}

// Forward implements Module.
func (k hooked) Forward(x *torch.Tensor) *torch.Tensor { return k.h.Call(k.name, k.m.Forward(x)) }

// Tapped returns s followed by a step that reports its output under the builder's
// path name. The result is still a Seq holding the same modules, so code that
// walks a model's Seqs finds them where they were.
func (b Builder) Tapped(s Seq) Seq {
	if b.Hooks == nil {
		return s
	}
	name, h := b.Name(), b.Hooks
	return append(s, Func(func(x *torch.Tensor) *torch.Tensor { return h.Call(name, x) }))
}
