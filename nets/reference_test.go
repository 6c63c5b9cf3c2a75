package nets

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/torch"
)

// The reference tests: one family of test functions over archTable
// (archtable_test.go). Everything they read lies under testdata/ (see
// testdata/README.md); a missing file fails the test with its name, nothing
// skips for want of material.

// archCase is what the reference tests know about one architecture.
type archCase struct {
	steps []stepCase
	// slow leaves the training steps out under -short (large models).
	slow bool
	// tinyMaps: at the spec's smallest input (down to 1×1) a batch of 2 leaves
	// some BatchNorm two values per channel, which it maps to ±1 whatever they are:
	// gradients through it vanish legitimately, so below the style's default size
	// only finiteness is required.
	tinyMaps bool
	// vanishes matches parameters whose gradient is zero in exact arithmetic in a
	// training step (e.g. a conv bias followed by BatchNorm); nil: none.
	vanishes func(param string) bool
	// prepare, if not nil, readies a fresh net for the training steps (e.g. gives
	// zero-initialised heads random values, which would otherwise stop every
	// gradient).
	prepare func(t *testing.T, n *Net)

	parity []parityCase
	rows   []rowsCase
	counts []countCase
	macs   []macsCase
	init   []initCase
}

// stepCase is one training-mode forward/backward pass with batch 2, random input
// and random targets.
type stepCase struct {
	style       Style
	width       float64
	in, classes int64   // 0: 3 and 10
	sizes       []int64 // input sides; nil: the spec's smallest and the style's default
	// features is the expected feature width, derived by hand from the
	// architecture (0: only checked against the classifier's input).
	features int64
}

// parityCase is a PyTorch state_dict and the outputs PyTorch computed with it.
type parityCase struct {
	style Style
	width float64 // 0: 1
	// weights and io name testdata/<weights>.safetensors and testdata/<io>.safetensors.
	weights, io string
	// buffers selects the BatchNorm buffers compared after the training-mode
	// forward (nil: all that the file holds).
	buffers func(name string) bool
	// evalOnly says why a net with BatchNorm buffers has no training-mode
	// reference ("": it must have one).
	evalOnly string
}

// rowsCase compares the ordered state_dict (names, shapes, parameter or buffer)
// and the parameter count of the architecture in style with a reference: a key
// of testdata/state_dicts.json.gz, or a .json file under testdata/ holding one
// entry.
type rowsCase struct {
	style Style
	ref   string
}

// countCase is a parameter count measured with PyTorch (or a formula).
type countCase struct {
	cfg    Config
	params int64
}

// macsCase is the multiply-accumulate count per image at width 1 and 10 classes
// that PyTorch forward hooks on Conv2d and Linear gave (gen_reference.py counts).
type macsCase struct {
	style Style
	size  int64
	macs  int64
}

// initCase lists initialisation rules for parameters of a freshly built net.
type initCase struct {
	cfg   Config
	rules map[string]initRule
}

// ---------------------------------------------------------------- tolerance policy

// refKind is the kind of a value compared with PyTorch's.
type refKind int

const (
	evalOutput  refKind = iota // logits and features in evaluation mode
	trainOutput                // logits and features in training mode (batch statistics)
	runningStat                // BatchNorm running statistics after a training-mode forward
)

// refBound is the one tolerance policy of the comparisons with PyTorch (float32 on
// both sides): the largest |Go − PyTorch| accepted for a value of kind k whose
// reference reaches scale in magnitude.
//
//   - evaluation-mode outputs: 5·10⁻⁶ times max(1, scale). Differences observed
//     are below 1.2·10⁻⁶ relative (resnet50 features reach 128).
//   - training-mode outputs: 10⁻⁴. Batch statistics over maps as small as 2×2
//     with a batch of 2 amplify rounding (up to 7.5·10⁻⁵ observed at values ~1.5).
//   - running statistics: 10⁻⁵ times max(1, scale): running variances of wide
//     layers reach the hundreds.
func refBound(k refKind, scale float64) float64 {
	switch k {
	case evalOutput:
		return 5e-6 * max(1, scale)
	case trainOutput:
		return 1e-4
	default:
		return 1e-5 * max(1, scale)
	}
}

// compareRef reports with t.Errorf a difference between got and PyTorch's want
// beyond refBound, and logs the difference otherwise.
func compareRef(t *testing.T, what string, k refKind, got, want *torch.Tensor) {
	t.Helper()
	if want == nil {
		t.Errorf("%s: no reference in the file", what)
		return
	}
	d := maxAbsDiff(t, what, got, want)
	scale, err := want.Abs().Max().Item()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if b := refBound(k, scale); d > b {
		t.Errorf("%s: max |Go − PyTorch| = %.3g, more than %.3g (values up to %.3g)", what, d, b, scale)
		return
	}
	t.Logf("%s: max |Go − PyTorch| = %.2g (values up to %.3g)", what, d, scale)
}

// ---------------------------------------------------------------- material

// testdataPath returns testdata/<rel> and fails the test if the file is missing.
func testdataPath(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("testdata", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("reference material missing: %v (testdata/README.md says how it is made)", err)
	}
	return p
}

// stateDictRef is one reference state_dict: the parameter count and the ordered
// rows [name, shape, …, "param" or "buffer"].
type stateDictRef struct {
	TotalParams int64   `json:"total_params"`
	StateDict   [][]any `json:"state_dict"`
}

// stateDictsFile holds the state_dict rows of ../shared/nets that archTable
// uses, keyed "<source>/<model>".
const stateDictsFile = "state_dicts.json.gz"

// stateDictsCache holds testdata/state_dicts.json.gz once read (the tests of this
// package do not run in parallel).
var stateDictsCache map[string]stateDictRef

// loadStateDicts reads testdata/state_dicts.json.gz.
func loadStateDicts(t *testing.T) map[string]stateDictRef {
	t.Helper()
	if stateDictsCache != nil {
		return stateDictsCache
	}
	p := testdataPath(t, stateDictsFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err == nil {
		b, err = io.ReadAll(zr)
	}
	var m map[string]stateDictRef
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	stateDictsCache = m
	return m
}

// lookupStateDict returns the reference a rowsCase names.
func lookupStateDict(t *testing.T, ref string) stateDictRef {
	t.Helper()
	if strings.HasSuffix(ref, ".json") {
		b, err := os.ReadFile(testdataPath(t, ref))
		if err != nil {
			t.Fatal(err)
		}
		var r stateDictRef
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		return r
	}
	r, ok := loadStateDicts(t)[ref]
	if !ok {
		t.Fatalf("%s has no entry %q: rerun go test -run TestStateDicts -update-state-dicts with ../shared beside the checkout", stateDictsFile, ref)
	}
	return r
}

var updateStateDicts = flag.Bool("update-state-dicts", false,
	"rewrite testdata/"+stateDictsFile+" from ../shared/nets (the entries archTable uses)")

// sharedSources maps the source prefixes of archTable's references to their
// files in ../shared/nets and the field holding the rows.
var sharedSources = map[string]struct{ file, rows, params string }{
	"torchvision": {"torchvision_arch.json", "state_dict", "total_params"},
	"huyvnphan":   {"cifar_huyvnphan_arch.json", "state_dict", "total_params"},
	"kuangliu":    {"cifar_kuangliu_arch.json", "state_dict_in3", "in3_32.total_params"},
}

// writeStateDicts compacts ../shared/nets into testdata/state_dicts.json.gz:
// for every reference archTable uses, the parameter count and rows [name, shape,
// kind].
func writeStateDicts(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "nets")
	files := map[string]map[string]map[string]any{}
	out := map[string]stateDictRef{}
	for _, ref := range referencedStateDicts() {
		src, model, _ := strings.Cut(ref, "/")
		s, ok := sharedSources[src]
		if !ok {
			t.Fatalf("reference %s: unknown source %s", ref, src)
		}
		if files[src] == nil {
			b, err := os.ReadFile(filepath.Join(dir, s.file))
			if err != nil {
				t.Fatalf("-update-state-dicts needs ../shared/nets: %v", err)
			}
			var m map[string]map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("%s: %v", s.file, err)
			}
			files[src] = m
		}
		entry, ok := files[src][model]
		if !ok {
			t.Fatalf("%s has no %s", s.file, model)
		}
		var params any = entry
		for _, k := range strings.Split(s.params, ".") {
			m, _ := params.(map[string]any)
			params = m[k]
		}
		total, ok := params.(float64)
		rows, ok2 := entry[s.rows].([]any)
		if !ok || !ok2 {
			t.Fatalf("%s %s: no %s or %s", s.file, model, s.params, s.rows)
		}
		r := stateDictRef{TotalParams: int64(total)}
		for _, row := range rows {
			cells, _ := row.([]any)
			if len(cells) < 3 {
				t.Fatalf("%s %s: row %v is not [name, shape, …, kind]", s.file, model, row)
			}
			r.StateDict = append(r.StateDict, []any{cells[0], cells[1], cells[len(cells)-1]})
		}
		out[ref] = r
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err := json.NewEncoder(zw).Encode(out); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteFile(filepath.Join("testdata", stateDictsFile), buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	stateDictsCache = nil // reread what was written
	t.Logf("wrote %d entries, %d bytes", len(out), buf.Len())
}

// referencedStateDicts returns the keys of state_dicts.json.gz that archTable
// uses, sorted.
func referencedStateDicts() []string {
	set := map[string]bool{}
	for _, c := range archTable {
		for _, r := range c.rows {
			if !strings.HasSuffix(r.ref, ".json") {
				set[r.ref] = true
			}
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// tableNames returns archTable's architectures, sorted.
func tableNames() []string {
	names := make([]string, 0, len(archTable))
	for n := range archTable {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ---------------------------------------------------------------- tests

// TestArchTable checks that the table and the registry agree, that every
// architecture has training steps and a size fact from PyTorch, and that all the
// reference material in testdata/ is used and nothing is missing.
func TestArchTable(t *testing.T) {
	registered := Names()
	for _, name := range registered {
		c, ok := archTable[name]
		if !ok {
			t.Errorf("%s is registered but has no archTable entry", name)
			continue
		}
		if len(c.steps) == 0 {
			t.Errorf("%s: no training steps", name)
		}
		if len(c.rows)+len(c.counts) == 0 {
			t.Errorf("%s: neither state_dict rows nor parameter counts", name)
		}
	}
	for _, name := range tableNames() {
		if !slices.Contains(registered, name) {
			t.Errorf("archTable has %s, which is not registered", name)
		}
	}
	// every parity file is used, and every used one exists
	used := map[string]bool{}
	for _, c := range archTable {
		for _, p := range c.parity {
			used[p.weights+".safetensors"], used[p.io+".safetensors"] = true, true
		}
	}
	for f := range used {
		testdataPath(t, f)
	}
	err := filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".safetensors") {
			return err
		}
		rel, _ := filepath.Rel("testdata", p)
		if !used[filepath.ToSlash(rel)] {
			t.Errorf("%s is in no parity case", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// the compact state_dicts are exactly those the table uses
	have := loadStateDicts(t)
	want := referencedStateDicts()
	for _, k := range want {
		if _, ok := have[k]; !ok {
			t.Errorf("%s lacks %s", stateDictsFile, k)
		}
	}
	for k := range have {
		if !slices.Contains(want, k) {
			t.Errorf("%s holds %s, which no rows case uses", stateDictsFile, k)
		}
	}
}

// TestStateDicts compares the ordered state_dicts and parameter counts with
// torchvision's, huyvnphan's and kuangliu's (../shared/nets, compacted), and
// with the rows gen_reference.py wrote. With -update-state-dicts it first
// rewrites the compact file from ../shared/nets.
func TestStateDicts(t *testing.T) {
	if *updateStateDicts {
		writeStateDicts(t)
	}
	for _, name := range tableNames() {
		for _, c := range archTable[name].rows {
			t.Run(name+"/"+string(c.style), func(t *testing.T) {
				ref := lookupStateDict(t, c.ref)
				if ref.TotalParams <= 0 || len(ref.StateDict) == 0 {
					t.Fatalf("%s: empty reference (%d parameters, %d rows)", c.ref, ref.TotalParams, len(ref.StateDict))
				}
				n, err := NewUninitialized(name, Config{Style: c.style, Classes: 10}, torch.CPU)
				if err != nil {
					t.Fatal(err)
				}
				defer n.Close()
				if got := n.Store.NumParams(); got != ref.TotalParams {
					t.Errorf("%d parameters, %s %d", got, c.ref, ref.TotalParams)
				}
				if d := compareRows(ourRows(n), refRows(ref.StateDict)); len(d) > 0 {
					t.Errorf("state_dict differs from %s:\n  %s", c.ref, strings.Join(d, "\n  "))
				}
			})
		}
	}
}

// TestParameterCounts checks the parameter counts of configurations that no
// reference state_dict covers.
func TestParameterCounts(t *testing.T) {
	for _, name := range tableNames() {
		for _, c := range archTable[name].counts {
			n, err := NewUninitialized(name, c.cfg, torch.CPU)
			if err != nil {
				t.Errorf("%s %+v: %v", name, c.cfg, err)
				continue
			}
			if got := n.Store.NumParams(); got != c.params {
				t.Errorf("%s %+v: %d parameters, want %d", name, c.cfg, got, c.params)
			}
			n.Close()
		}
	}
}

// TestMACs compares Net.MACs at width 1 with the counts of PyTorch forward hooks.
func TestMACs(t *testing.T) {
	for _, name := range tableNames() {
		for _, c := range archTable[name].macs {
			n, err := NewUninitialized(name, Config{Style: c.style, Classes: 10}, torch.CPU)
			if err != nil {
				t.Fatal(err)
			}
			// uninitialised memory may hold NaNs; MACs do not depend on the values
			got, err := n.MACs(c.size)
			n.Close()
			if err != nil {
				t.Errorf("%s/%s at %d: %v", name, c.style, c.size, err)
			} else if got != c.macs {
				t.Errorf("%s/%s at %d: %d MACs, PyTorch hooks count %d", name, c.style, c.size, got, c.macs)
			}
		}
	}
}

// TestParity loads PyTorch's weights into our models and compares the outputs for
// PyTorch's input: in evaluation mode the logits and features; then, after one
// training-mode forward, the training-mode logits and features where the file
// has them and the BatchNorm buffers (counters exactly).
func TestParity(t *testing.T) {
	for _, name := range tableNames() {
		for _, c := range archTable[name].parity {
			t.Run(name+"/"+filepath.Base(c.weights), func(t *testing.T) { checkParity(t, name, c) })
		}
	}
}

func checkParity(t *testing.T, name string, c parityCase) {
	weights, ioFile := testdataPath(t, c.weights+".safetensors"), testdataPath(t, c.io+".safetensors")
	n, err := NewUninitialized(name, Config{Style: c.style, Width: c.width, Classes: 10}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if _, err := n.Store.Load(weights, true); err != nil {
		t.Fatal(err)
	}
	hasBuffers := false
	for _, v := range n.Store.Vars() {
		hasBuffers = hasBuffers || v.Buffer
	}
	err = torch.Do(func(s *torch.Scope) error {
		ref, _, err := torch.LoadSafetensors(ioFile, s, torch.CPU)
		if err != nil {
			return err
		}
		x := ref["input"]
		if x == nil {
			return fmt.Errorf("%s has no input", ioFile)
		}
		n.Store.SetTraining(false)
		logits, feats := n.Forward(x)
		compareRef(t, "eval logits", evalOutput, logits, ref["logits"])
		compareRef(t, "eval features", evalOutput, feats, ref["features"])

		var buffers []string
		for k := range ref {
			if key, ok := strings.CutPrefix(k, "after_train."); ok && (c.buffers == nil || c.buffers(key)) {
				buffers = append(buffers, key)
			}
		}
		sort.Strings(buffers)
		_, hasTrain := ref["train_logits"]
		_, hasTrainFeats := ref["train_features"]
		if c.evalOnly != "" {
			if hasTrain || hasTrainFeats || len(buffers) > 0 {
				t.Errorf("%s has training-mode references, but the case is evaluation-only (%s)", ioFile, c.evalOnly)
			}
			return nil
		}
		if hasBuffers && len(buffers) == 0 {
			t.Errorf("%s: no BatchNorm buffers to compare after a training-mode forward", ioFile)
		}
		if !hasTrain && !hasTrainFeats && len(buffers) == 0 {
			return nil
		}
		n.Store.SetTraining(true)
		defer n.Store.SetTraining(false)
		logits, feats = n.Forward(x)
		if hasTrain {
			compareRef(t, "train logits", trainOutput, logits, ref["train_logits"])
		}
		if hasTrainFeats {
			compareRef(t, "train features", trainOutput, feats, ref["train_features"])
		}
		for _, key := range buffers {
			want := ref["after_train."+key]
			v := n.Store.Get(key)
			if v == nil || !v.Buffer {
				t.Errorf("buffer %s missing", key)
				continue
			}
			if strings.HasSuffix(key, "num_batches_tracked") {
				got, err1 := v.T.ItemInt()
				exp, err2 := want.ItemInt()
				if err1 != nil || err2 != nil || got != exp {
					t.Errorf("%s = %d after a training-mode forward, PyTorch %d (%v %v)", key, got, exp, err1, err2)
				}
				continue
			}
			compareRef(t, key+" after a training-mode forward", runningStat, v.T.In(s), want)
		}
		return nil
	}, torch.NoGrad())
	if err != nil {
		t.Fatal(err)
	}
}

// TestTrainingSteps runs, for every architecture, training-mode forward/backward
// passes (batch 2): the logits must be (2, classes), the features (2, F) with F the
// classifier's input width (and the table's hand-derived value), the loss finite
// and positive, and every trainable parameter must get a finite, non-zero
// gradient, except those the table says vanish. The first size of each case also
// checks the test budget and that the features give the logits.
func TestTrainingSteps(t *testing.T) {
	for _, name := range tableNames() {
		c := archTable[name]
		spec, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range c.steps {
			sizes := sc.sizes
			if sizes == nil {
				sizes = []int64{spec.MinInput(sc.style)}
				if d := sc.style.DefaultSize(); d != sizes[0] {
					sizes = append(sizes, d)
				}
			}
			for _, size := range sizes {
				cfg := Config{Style: sc.style, Width: sc.width, InChannels: sc.in, Classes: sc.classes}
				first := size == sizes[0]
				t.Run(fmt.Sprintf("%s/%s/w%g/in%d/%d", name, sc.style, sc.width, cfg.withDefaults().InChannels, size), func(t *testing.T) {
					if c.slow && testing.Short() {
						t.Skip("-short: large model")
					}
					checkStep(t, name, c, cfg, size, sc.features, first)
				})
			}
		}
	}
}

// stepBudgetMACs bounds the multiply-accumulates per image of the first size of
// every step case, so that the package's tests stay well under a minute of CPU on
// 2 cores.
const stepBudgetMACs = 500_000_000

// checkStep runs one step case at one size. At the first size of a case it also
// checks the MAC count against the budget and, in evaluation mode, that the
// features give the logits through the classifier.
func checkStep(t *testing.T, name string, c archCase, cfg Config, size, features int64, first bool) {
	torch.ManualSeed(3)
	n, err := New(name, cfg, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if c.prepare != nil {
		c.prepare(t, n)
	}
	w, b := classifierWeight(n)
	if w == nil {
		t.Fatalf("no classifier weight with %d rows", n.Config.Classes)
	}
	if first {
		macs, err := n.MACs(size)
		if err != nil {
			t.Fatalf("forward at %d×%d: %v", size, size, err)
		}
		if macs <= 0 || macs > stepBudgetMACs {
			t.Fatalf("%.3g MACs per image at %d×%d, want more than 0 and at most %.3g (the test budget)", float64(macs), size, size,
				float64(stepBudgetMACs))
		}
	}
	r := trainStep(t, n, size, 2)
	if !slices.Equal(r.logits, []int64{2, n.Config.Classes}) {
		t.Errorf("logits %v, want [2 %d]", r.logits, n.Config.Classes)
	}
	if !slices.Equal(r.features, []int64{2, w.T.Size(1)}) || (features > 0 && w.T.Size(1) != features) {
		t.Errorf("features %v, classifier %s takes %d, want [2 %d]", r.features, w.Name, w.T.Size(1), max(features, w.T.Size(1)))
	}
	if math.IsNaN(r.loss) || math.IsInf(r.loss, 0) || r.loss <= 0 || r.loss > 1e3 {
		t.Errorf("loss %v", r.loss)
	}
	var zero []string
	for _, p := range r.zeroGrad {
		if (c.vanishes == nil || !c.vanishes(p)) && !(c.tinyMaps && size < cfg.Style.DefaultSize()) {
			zero = append(zero, p)
		}
	}
	if len(r.noGrad)+len(r.nonFinite)+len(zero) > 0 {
		t.Errorf("gradients: none for %v, non-finite for %v, zero for %v", r.noGrad, r.nonFinite, zero)
	}
	if first {
		checkFeaturesGiveLogits(t, n, w, b, size)
	}
}

// checkFeaturesGiveLogits checks in evaluation mode that, for a linear classifier
// w (with bias b, or nil), the logits are w applied to the features.
func checkFeaturesGiveLogits(t *testing.T, n *Net, w, b *torch.Var, size int64) {
	t.Helper()
	if len(w.T.Shape()) != 2 {
		return // a 1×1 convolution (squeezenet): the features are pooled after it
	}
	n.Store.SetTraining(false)
	defer n.Store.SetTraining(true)
	err := torch.Do(func(s *torch.Scope) error {
		x := torch.Randn(s, []int64{2, n.Config.InChannels, size, size})
		logits, feats := n.Forward(x)
		if err := logits.Err(); err != nil {
			return err
		}
		var bias *torch.Tensor
		if b != nil {
			bias = b.T
		}
		want := torch.Linear(feats, w.T, bias)
		diff, err := logits.Sub(want).Abs().Max().Item()
		if err != nil {
			return err
		}
		scale, err := want.Abs().Max().Item()
		if err != nil {
			return err
		}
		if diff > 1e-4*(1+scale) {
			t.Errorf("evaluation-mode logits differ from %s applied to the features by %g", w.Name, diff)
		}
		return nil
	}, torch.NoGrad())
	if err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------- initialisation

// initKind names an initialisation scheme.
type initKind int

const (
	initNormal       initKind = iota // N(0, std²), optionally truncated at ±bound
	initUniform                      // U(±bound)
	initKaimingOut                   // N(0, 2/fan_out)
	initKaimingIn                    // N(0, 2/fan_in)
	initTorchDefault                 // PyTorch's default: U(±1/√fan_in)
	initConstant                     // every value equals value
)

// initRule is the expected distribution of one parameter after New.
type initRule struct {
	kind       initKind
	std, bound float64
	value      float64
}

func normal(std float64) initRule           { return initRule{kind: initNormal, std: std} }
func truncNormal(std, cut float64) initRule { return initRule{kind: initNormal, std: std, bound: cut} }
func uniform(bound float64) initRule        { return initRule{kind: initUniform, bound: bound} }
func constant(v float64) initRule           { return initRule{kind: initConstant, value: v} }

// expected returns the standard deviation and the bound (0: none) of the rule
// for a weight with the given fans.
func (r initRule) expected(fanIn, fanOut int64) (std, bound float64) {
	switch r.kind {
	case initUniform:
		return r.bound / math.Sqrt(3), r.bound
	case initKaimingOut:
		return math.Sqrt(2 / float64(fanOut)), 0
	case initKaimingIn:
		return math.Sqrt(2 / float64(fanIn)), 0
	case initTorchDefault:
		b := 1 / math.Sqrt(float64(fanIn))
		return b / math.Sqrt(3), b
	}
	return r.std, r.bound
}

var (
	kaimingFanOut = initRule{kind: initKaimingOut}
	kaimingFanIn  = initRule{kind: initKaimingIn}
	torchDefault  = initRule{kind: initTorchDefault}
	zero          = constant(0)
	one           = constant(1)
)

// TestInitialisation builds each table configuration with fresh weights and
// checks the listed parameters: constants exactly (in float32); otherwise a
// standard deviation within max(10 %, four standard errors of the sample
// standard deviation) of the scheme's, a mean within twice that, and no value
// beyond the scheme's bound. A bias's fans are those of its layer's weight.
func TestInitialisation(t *testing.T) {
	for _, name := range tableNames() {
		for i, c := range archTable[name].init {
			t.Run(fmt.Sprintf("%s/%d", name, i), func(t *testing.T) { checkInit(t, name, c) })
		}
	}
}

func checkInit(t *testing.T, name string, c initCase) {
	torch.ManualSeed(5)
	n, err := New(name, c.cfg, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	keys := make([]string, 0, len(c.rules))
	for k := range c.rules {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		rule := c.rules[key]
		v := n.Store.Get(key)
		if v == nil {
			t.Errorf("no %s", key)
			continue
		}
		data, err := v.T.Float64s()
		if err != nil {
			t.Fatal(err)
		}
		if rule.kind == initConstant {
			want := float64(float32(rule.value))
			for i, x := range data {
				if x != want {
					t.Errorf("%s[%d] = %g, want all %g", key, i, x, rule.value)
					break
				}
			}
			continue
		}
		var sum, sq, maxAbs float64
		for _, x := range data {
			sum += x
			sq += x * x
			maxAbs = max(maxAbs, math.Abs(x))
		}
		mean := sum / float64(len(data))
		std := math.Sqrt(sq/float64(len(data)) - mean*mean)
		wv := v
		if w := strings.TrimSuffix(key, "bias") + "weight"; strings.HasSuffix(key, ".bias") && n.Store.Get(w) != nil {
			wv = n.Store.Get(w)
		}
		var fanIn, fanOut int64 = 1, 1
		if sh := wv.T.Shape(); len(sh) >= 2 {
			if fanIn, fanOut, err = torch.Fans(sh); err != nil {
				t.Fatal(err)
			}
		}
		s, bound := rule.expected(fanIn, fanOut)
		tol := max(0.1, 4/math.Sqrt(2*float64(len(data))))
		if math.Abs(std-s) > tol*s || math.Abs(mean) > 2*tol*s {
			t.Errorf("%s: mean %.3g std %.4g, want 0 and %.4g ± %.0f%%", key, mean, std, s, 100*tol)
		}
		if bound > 0 && maxAbs > bound {
			t.Errorf("%s: |value| up to %.4g, beyond the bound %.4g", key, maxAbs, bound)
		}
	}
}

// ---------------------------------------------------------------- state_dict rows

type sdRow struct {
	name   string
	shape  []int64
	buffer bool
}

func refRows(rows [][]any) []sdRow {
	out := make([]sdRow, len(rows))
	for i, r := range rows {
		out[i].name, _ = r[0].(string)
		dims, _ := r[1].([]any)
		for _, d := range dims {
			f, _ := d.(float64)
			out[i].shape = append(out[i].shape, int64(f))
		}
		kind, _ := r[len(r)-1].(string)
		out[i].buffer = kind == "buffer"
	}
	return out
}

func ourRows(n *Net) []sdRow {
	var out []sdRow
	for _, v := range n.Store.Vars() {
		out = append(out, sdRow{v.Name, v.T.Shape(), v.Buffer})
	}
	return out
}

// compareRows reports the first differences between two ordered state_dicts.
func compareRows(got, want []sdRow) []string {
	var diffs []string
	for i := 0; i < max(len(got), len(want)) && len(diffs) < 5; i++ {
		switch {
		case i >= len(got):
			diffs = append(diffs, fmt.Sprintf("missing %s %v", want[i].name, want[i].shape))
		case i >= len(want):
			diffs = append(diffs, fmt.Sprintf("extra %s %v", got[i].name, got[i].shape))
		case got[i].name != want[i].name || !slices.Equal(got[i].shape, want[i].shape) || got[i].buffer != want[i].buffer:
			diffs = append(diffs, fmt.Sprintf("#%d: %s %v (buffer %v), want %s %v (buffer %v)", i, got[i].name, got[i].shape,
				got[i].buffer, want[i].name, want[i].shape, want[i].buffer))
		}
	}
	return diffs
}
