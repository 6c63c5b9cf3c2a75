// Package nets holds the image-classifier architectures of divres and a registry by
// name (torchvision's lowercase names). Each family lives in its own file. Every
// architecture comes in the styles it supports: the CIFAR style (32×32 inputs,
// following huyvnphan/PyTorch_CIFAR10 where that collection has the family, with the
// same state_dict names and shapes) and the ImageNet style (identical to torchvision
// in names, shapes and parameter counts). A width multiplier scales the channels so
// that small variants train on a laptop CPU; any number of input channels and
// classes is supported.
package nets

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/divres/divres/torch"
)

// Style selects the input-size conventions of an architecture.
type Style string

// Styles.
const (
	CIFAR    Style = "cifar"
	ImageNet Style = "imagenet"
)

// ParseStyle parses "cifar" or "imagenet".
func ParseStyle(s string) (Style, error) {
	switch Style(strings.ToLower(s)) {
	case CIFAR:
		return CIFAR, nil
	case ImageNet:
		return ImageNet, nil
	}
	return "", fmt.Errorf("unknown style %q (want cifar or imagenet)", s)
}

// DefaultSize is the input side the style is designed for: 32 or 224.
func (s Style) DefaultSize() int64 {
	if s == ImageNet {
		return 224
	}
	return 32
}

// Config describes the model to build.
type Config struct {
	Style Style
	// Width multiplies the channel counts (1 gives the reference architecture).
	Width float64
	// InChannels is the number of input channels (3 for RGB, 1 for grayscale).
	InChannels int64
	// Classes is the number of outputs.
	Classes int64
	// Size is the input side the model is built for (0: the style's DefaultSize).
	// Only architectures whose parameters depend on it use it: LeNet (flatten
	// size), MLP-Mixer (token count) and ViTs (position embeddings); the others
	// accept any input at least MinSize.
	Size int64
}

func (c Config) withDefaults() Config {
	if c.Style == "" {
		c.Style = CIFAR
	}
	if c.Width == 0 {
		c.Width = 1
	}
	if c.InChannels == 0 {
		c.InChannels = 3
	}
	if c.Classes == 0 {
		c.Classes = 10
	}
	if c.Size == 0 {
		c.Size = c.Style.DefaultSize()
	}
	return c
}

// Model is a classifier.
type Model interface {
	// Forward maps images (N, C, H, W) to logits (N, classes) and the penultimate
	// features (N, F): the input of the final classifier layer. Training-mode
	// behaviour (batch statistics, dropout) follows the store's training flag.
	Forward(x *torch.Tensor) (logits, features *torch.Tensor)
}

// Spec registers one architecture.
type Spec struct {
	// Name is torchvision's lowercase name, e.g. "resnet18".
	Name string
	// Family groups related architectures ("resnet", "vgg", …).
	Family string
	// Styles lists the supported styles.
	Styles []Style
	// MinSize is the smallest input side per style that the network accepts
	// (defaults: the style's DefaultSize).
	MinSize map[Style]int64
	// Build constructs the model, creating its parameters under b.
	Build func(b Builder, cfg Config) (Model, error)
}

// Supports reports whether the architecture has style s.
func (s *Spec) Supports(st Style) bool {
	for _, x := range s.Styles {
		if x == st {
			return true
		}
	}
	return false
}

// MinInput returns the smallest supported input side for style st.
func (s *Spec) MinInput(st Style) int64 {
	if v, ok := s.MinSize[st]; ok {
		return v
	}
	return st.DefaultSize()
}

var registry = map[string]*Spec{}

// Register adds an architecture; families call it from init functions.
func Register(s *Spec) {
	if _, dup := registry[s.Name]; dup {
		panic("nets: duplicate architecture " + s.Name)
	}
	registry[s.Name] = s
}

// resolvers build specs for names that are not registered one by one: families
// whose names describe their own structure (the sub-networks of package nas).
var resolvers []func(name string) *Spec

// RegisterResolver adds a function that Lookup asks, in order, about a name missing
// from the registry; it returns nil for names it does not describe.
func RegisterResolver(f func(name string) *Spec) { resolvers = append(resolvers, f) }

// Names returns the registered architecture names, sorted.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the spec of an architecture.
func Lookup(name string) (*Spec, error) {
	s, ok := registry[strings.ToLower(name)]
	for _, r := range resolvers {
		if ok {
			break
		}
		s = r(strings.ToLower(name))
		ok = s != nil
	}
	if !ok {
		return nil, fmt.Errorf("unknown architecture %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return s, nil
}

// Net is a built architecture with its parameters.
type Net struct {
	Spec   *Spec
	Config Config
	Store  *torch.Store
	Model  Model
	meter  *Meter
	hooks  *Hooks
}

// New builds architecture name with fresh parameters (initialised from libtorch's
// global generator: call torch.ManualSeed first for reproducible weights) on device
// dev.
func New(name string, cfg Config, dev torch.Device) (*Net, error) {
	return build(name, cfg, dev, false)
}

// NewUninitialized builds the architecture without running the initialisation
// schemes, for loading weights into it or inspecting its shapes.
func NewUninitialized(name string, cfg Config, dev torch.Device) (*Net, error) {
	return build(name, cfg, dev, true)
}

func build(name string, cfg Config, dev torch.Device, skipInit bool) (*Net, error) {
	spec, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if !spec.Supports(cfg.Style) {
		return nil, fmt.Errorf("%s has no %s style", name, cfg.Style)
	}
	if cfg.Width <= 0 || cfg.InChannels <= 0 || cfg.Classes <= 0 || cfg.Size <= 0 {
		return nil, fmt.Errorf("%s: invalid config %+v", name, cfg)
	}
	store := torch.NewStore(dev)
	store.SkipInit(skipInit)
	meter := &Meter{}
	hooks := NewHooks()
	m, err := spec.Build(Builder{Path: store.Root(), Width: cfg.Width, Meter: meter, Hooks: hooks}, cfg)
	if err == nil {
		err = store.Err()
	}
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("build %s: %w", name, err)
	}
	store.SkipInit(false)
	return &Net{Spec: spec, Config: cfg, Store: store, Model: m, meter: meter, hooks: hooks}, nil
}

// Forward runs the model.
func (n *Net) Forward(x *torch.Tensor) (logits, features *torch.Tensor) { return n.Model.Forward(x) }

// Hooks returns the model's named intermediate outputs (see Hooks).
func (n *Net) Hooks() *Hooks { return n.hooks }

// Close releases the parameters.
func (n *Net) Close() { n.Store.Close() }

// MACs counts the multiply-accumulates of one forward pass on a single image of
// side size (convolutions, linear layers and attention matrix products).
func (n *Net) MACs(size int64) (int64, error) {
	training := n.Store.Training()
	n.Store.SetTraining(false)
	defer n.Store.SetTraining(training)
	n.meter.start()
	defer n.meter.stop()
	err := torch.Do(func(s *torch.Scope) error {
		x := torch.Zeros(s, []int64{1, n.Config.InChannels, size, size}, n.Store.Device())
		logits, _ := n.Model.Forward(x)
		return logits.Err()
	}, torch.NoGrad())
	return n.meter.macs, err
}

// Meter counts multiply-accumulates while active (see Net.MACs).
type Meter struct {
	on   bool
	macs int64
}

func (m *Meter) start() { m.on, m.macs = true, 0 }
func (m *Meter) stop()  { m.on = false }

// Active reports whether counting is on.
func (m *Meter) Active() bool { return m != nil && m.on }

// Add counts n multiply-accumulates.
func (m *Meter) Add(n int64) {
	if m.Active() {
		m.macs += n
	}
}

// Builder carries what layer constructors need: the state_dict path, the width
// multiplier and the MAC meter.
type Builder struct {
	Path  torch.Path
	Width float64
	Meter *Meter
	// Hooks receives the names of the layers that report their outputs (nil: no
	// named outputs).
	Hooks *Hooks
}

// Sub returns the builder of a child module.
func (b Builder) Sub(name string) Builder {
	b.Path = b.Path.Sub(name)
	return b
}

// Subf is Sub with a formatted name.
func (b Builder) Subf(format string, args ...any) Builder { return b.Sub(fmt.Sprintf(format, args...)) }

// Training reports whether the model is in training mode.
func (b Builder) Training() bool { return b.Path.Training() }

// Ch scales a channel count by the width multiplier (rounded, at least 1).
func (b Builder) Ch(c int64) int64 {
	if b.Width == 1 {
		return c
	}
	return max(1, int64(math.Round(float64(c)*b.Width)))
}
