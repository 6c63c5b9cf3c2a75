package ensemble

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/divres/divres/data"
	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// File names of a run directory.
const (
	ConfigFile     = "config.json"
	ModelFile      = "model.safetensors"
	TrainStateFile = "train_state.safetensors"
	HistoryFile    = "history.json"
	HistoryCSV     = "history.csv"
)

const (
	modelFormat = "divres-model"
	stateFormat = "divres-train-state"
)

// Meta is the metadata of a model checkpoint: what it takes to rebuild the network
// and feed it as it was trained.
type Meta struct {
	// Model is the display name (ModelName).
	Model      string
	Arch       string
	Style      string
	Width      float64
	Classes    int
	ClassNames []string
	// InChannels, InputSize, Fit and Mean/Std (one per input channel) describe the
	// input (see Input).
	InChannels int
	InputSize  int
	Fit        string
	Mean, Std  []float32
	// Dataset is the training dataset's spec as given; Epoch the number of
	// completed epochs out of Epochs.
	Dataset       string
	Epoch, Epochs int
	Params        int64
}

// Input returns how the model's inputs are prepared.
func (m Meta) Input() (Input, error) {
	fit, err := data.ParseFit(m.Fit)
	if err != nil {
		return Input{}, err
	}
	return Input{Channels: m.InChannels, Size: m.InputSize, Fit: fit, Norm: data.Norm{Mean: m.Mean, Std: m.Std}}, nil
}

// NetConfig returns the nets configuration the checkpoint was built with.
func (m Meta) NetConfig() nets.Config {
	return nets.Config{Style: nets.Style(m.Style), Width: m.Width, InChannels: int64(m.InChannels), Classes: int64(m.Classes),
		Size: int64(m.InputSize)}
}

// Strings encodes the metadata as the safetensors metadata of a model checkpoint
// (ReadMeta and LoadModel read it back).
func (m Meta) Strings() map[string]string {
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	return map[string]string{
		"format": modelFormat, "model": m.Model, "arch": m.Arch, "style": m.Style,
		"width": strconv.FormatFloat(m.Width, 'g', -1, 64), "classes": strconv.Itoa(m.Classes),
		"class_names": js(m.ClassNames), "in_channels": strconv.Itoa(m.InChannels),
		"input_size": strconv.Itoa(m.InputSize), "fit": m.Fit, "norm_mean": js(m.Mean), "norm_std": js(m.Std),
		"dataset": m.Dataset, "epoch": strconv.Itoa(m.Epoch), "epochs": strconv.Itoa(m.Epochs),
		"params": strconv.FormatInt(m.Params, 10),
	}
}

// parseMeta decodes safetensors metadata written by Meta.Strings.
func parseMeta(md map[string]string) (Meta, error) {
	var m Meta
	if md["format"] != modelFormat {
		return m, fmt.Errorf("not a divres model checkpoint (metadata format %q)", md["format"])
	}
	var errs []error
	num := func(key string, dst *int) {
		v, err := strconv.Atoi(md[key])
		if err != nil {
			errs = append(errs, fmt.Errorf("metadata %s: %w", key, err))
		}
		*dst = v
	}
	m.Model, m.Arch, m.Style, m.Fit, m.Dataset = md["model"], md["arch"], md["style"], md["fit"], md["dataset"]
	w, err := strconv.ParseFloat(md["width"], 64)
	if err != nil {
		errs = append(errs, fmt.Errorf("metadata width: %w", err))
	}
	m.Width = w
	num("classes", &m.Classes)
	num("in_channels", &m.InChannels)
	num("input_size", &m.InputSize)
	num("epoch", &m.Epoch)
	num("epochs", &m.Epochs)
	m.Params, _ = strconv.ParseInt(md["params"], 10, 64)
	for key, dst := range map[string]any{"norm_mean": &m.Mean, "norm_std": &m.Std, "class_names": &m.ClassNames} {
		if err := json.Unmarshal([]byte(md[key]), dst); err != nil {
			errs = append(errs, fmt.Errorf("metadata %s: %w", key, err))
		}
	}
	if len(m.Mean) != m.InChannels || len(m.Std) != m.InChannels {
		errs = append(errs, fmt.Errorf("metadata: %d/%d normalisation constants for %d channels", len(m.Mean), len(m.Std), m.InChannels))
	}
	if len(errs) == 0 && (m.Classes < 1 || m.InChannels < 1 || m.InputSize < 1 || !(m.Width > 0) || math.IsInf(m.Width, 0)) {
		errs = append(errs, fmt.Errorf("metadata: %d classes, %d channels, input size %d, width %g (want positive sizes)",
			m.Classes, m.InChannels, m.InputSize, m.Width))
	}
	if len(errs) == 0 {
		return m, nil
	}
	// One line: the problems joined with "; ".
	msg := make([]string, len(errs))
	for i, e := range errs {
		msg[i] = e.Error()
	}
	return m, errors.New(strings.Join(msg, "; "))
}

// ReadMeta reads the metadata of a model checkpoint (a file, or a run directory
// holding model.safetensors) without loading the weights.
func ReadMeta(path string) (Meta, string, error) {
	path = modelPath(path)
	f, err := os.Open(path)
	if err != nil {
		return Meta{}, path, fmt.Errorf("read model: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Meta{}, path, fmt.Errorf("read model: %w", err)
	}
	h, err := torch.ReadSafetensorsHeader(bufio.NewReader(f), st.Size())
	if err != nil {
		return Meta{}, path, fmt.Errorf("read model %s: %w", path, err)
	}
	m, err := parseMeta(h.Metadata)
	if err != nil {
		return m, path, fmt.Errorf("read model %s: %w", path, err)
	}
	return m, path, nil
}

// modelPath resolves a run directory to its model file.
func modelPath(path string) string {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return filepath.Join(path, ModelFile)
	}
	return path
}

// LoadModel builds the network of a checkpoint (a model.safetensors file or a run
// directory) on device dev, loads its weights and switches it to evaluation mode.
func LoadModel(path string, dev torch.Device) (*nets.Net, Meta, error) {
	meta, file, err := ReadMeta(path)
	if err != nil {
		return nil, meta, err
	}
	net, err := nets.NewUninitialized(meta.Arch, meta.NetConfig(), dev)
	if err != nil {
		return nil, meta, fmt.Errorf("load %s: %w", file, err)
	}
	if _, err := net.Store.Load(file, true); err != nil {
		net.Close()
		return nil, meta, fmt.Errorf("load %s: %w", file, err)
	}
	net.Store.SetTraining(false)
	return net, meta, nil
}

// trainState is the scalar part of train_state.safetensors.
type trainState struct {
	Epoch    int          `json:"epoch"` // completed epochs
	Step     int          `json:"step"`  // optimizer steps taken (incl. skipped fp16 steps)
	Finished bool         `json:"finished"`
	Scaler   *LossScaler  `json:"scaler,omitempty"`
	History  []EpochStats `json:"history"`
}

// memberPrefix is the name prefix of member i's tensors in the training state.
func memberPrefix(i int) string { return "m" + strconv.Itoa(i) + "." }

// saveState writes train_state.safetensors: every member's weights and optimizer
// state, libtorch's RNG state, the configuration and the scalar state.
func saveState(path string, members []*Member, cfg TrainConfig, st trainState) error {
	tensors := map[string]*torch.Tensor{}
	md := map[string]string{"format": stateFormat}
	for i, m := range members {
		p := memberPrefix(i)
		for name, t := range m.Net.Store.Tensors() {
			tensors[p+"model."+name] = t
		}
		ot, om := m.Opt.State()
		for name, t := range ot {
			tensors[p+"optim."+name] = t
		}
		for k, v := range om {
			md[p+"optim."+k] = v
		}
	}
	rng, err := torch.RNGState()
	if err != nil {
		return fmt.Errorf("save training state: %w", err)
	}
	defer rng.Free()
	tensors["rng_state"] = rng
	cj, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	sj, err := json.Marshal(st)
	if err != nil {
		return err
	}
	md["config"], md["state"] = string(cj), string(sj)
	if err := torch.SaveSafetensors(path, tensors, md); err != nil {
		return fmt.Errorf("save training state: %w", err)
	}
	return nil
}

// readStateInfo reads the configuration and scalar state of a training state file
// without its tensors.
func readStateInfo(path string) (TrainConfig, trainState, error) {
	var cfg TrainConfig
	var st trainState
	f, err := os.Open(path)
	if err != nil {
		return cfg, st, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return cfg, st, err
	}
	h, err := torch.ReadSafetensorsHeader(bufio.NewReader(f), fi.Size())
	if err != nil {
		return cfg, st, fmt.Errorf("%s: %w", path, err)
	}
	if h.Metadata["format"] != stateFormat {
		return cfg, st, fmt.Errorf("%s: not a divres training state", path)
	}
	if err := json.Unmarshal([]byte(h.Metadata["config"]), &cfg); err != nil {
		return cfg, st, fmt.Errorf("%s: config: %w", path, err)
	}
	if err := json.Unmarshal([]byte(h.Metadata["state"]), &st); err != nil {
		return cfg, st, fmt.Errorf("%s: state: %w", path, err)
	}
	return cfg, st, nil
}

// loadState restores the members' weights and optimizers and libtorch's RNG from a
// training state file.
func loadState(path string, members []*Member) error {
	sc := torch.NewScope(torch.NoGrad())
	defer sc.Close()
	ts, md, err := torch.LoadSafetensors(path, sc, torch.CPU)
	if err != nil {
		return fmt.Errorf("load training state: %w", err)
	}
	for i, m := range members {
		p := memberPrefix(i)
		for _, v := range m.Net.Store.Vars() {
			t, ok := ts[p+"model."+v.Name]
			if !ok {
				return fmt.Errorf("load training state %s: %s missing", path, v.Name)
			}
			if err := v.T.Copy_(t); err != nil {
				return fmt.Errorf("load training state %s: %s: %w", path, v.Name, err)
			}
		}
		opt := map[string]*torch.Tensor{}
		for name, t := range ts {
			if rest, ok := strings.CutPrefix(name, p+"optim."); ok {
				opt[rest] = t
			}
		}
		om := map[string]string{}
		for k, v := range md {
			if rest, ok := strings.CutPrefix(k, p+"optim."); ok {
				om[rest] = v
			}
		}
		if err := m.Opt.LoadState(opt, om); err != nil {
			return fmt.Errorf("load training state %s: member %s optimizer: %w", path, m.Name, err)
		}
	}
	rng, ok := ts["rng_state"]
	if !ok {
		return fmt.Errorf("load training state %s: no RNG state", path)
	}
	if err := torch.SetRNGState(rng); err != nil {
		return fmt.Errorf("load training state %s: %w", path, err)
	}
	return nil
}
