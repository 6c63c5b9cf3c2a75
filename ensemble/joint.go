package ensemble

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// JointFile is the joint configuration in the directory of a joint run.
const JointFile = "ncl.json"

// MembersDir is the folder of a joint run that holds one run directory per member.
const MembersDir = "members"

// JointMember is one member of a joint run: its architecture, width and the seed
// of its weights.
type JointMember struct {
	Arch  string  `json:"arch"`
	Width float64 `json:"width"`
	Seed  uint64  `json:"seed"`
}

// JointConfig describes the joint training of M members with an NCL loss.
//
// Train is the recipe the members share (data, schedule, optimizer settings,
// augmentation, style); its Seed drives the data order, subsets and
// augmentation of the whole ensemble, and its Arch, Width and InitSeed are
// ignored: each member has its own (Members). Every member has its own optimizer
// and optimizer state.
type JointConfig struct {
	Train   TrainConfig   `json:"train"`
	Members []JointMember `json:"members"`
	Loss    NCL           `json:"loss"`
}

// MemberConfig returns the configuration of an independent `divres train` run of
// member i with the same recipe: with Loss λ = 1, γ = 0 the joint run produces
// bit for bit the weights of that run (same machine and thread count) for members
// without random operations in training mode (dropout, stochastic depth draw from
// libtorch's one generator, which the members then share in turn).
func (c JointConfig) MemberConfig(i int) TrainConfig {
	m := c.Members[i]
	t := c.Train
	t.Arch, t.Width = m.Arch, m.Width
	seed := m.Seed
	t.InitSeed = &seed
	return t.WithDefaults()
}

// MemberDir is the run directory of member i inside the joint run directory dir.
func (c JointConfig) MemberDir(dir string, i int) string {
	m := c.Members[i]
	return filepath.Join(dir, MembersDir, strconv.Itoa(i)+"_"+ModelName(strings.ToLower(strings.TrimSpace(m.Arch)), c.Train.WithDefaults().Style, m.Width))
}

// WithDefaults fills the recipe's defaults and each member's width (1).
func (c JointConfig) WithDefaults() JointConfig {
	c.Train = c.Train.WithDefaults()
	ms := make([]JointMember, len(c.Members))
	for i, m := range c.Members {
		m.Arch = strings.ToLower(strings.TrimSpace(m.Arch))
		if m.Width == 0 {
			m.Width = 1
		}
		ms[i] = m
	}
	c.Members = ms
	c.Train.Arch = c.archs()
	c.Train.Width, c.Train.InitSeed = 1, nil
	c.Loss.LabelSmoothing = c.Train.LabelSmoothing
	return c
}

// archs is the members' architectures joined by "+", for logs and the state file.
func (c JointConfig) archs() string {
	names := make([]string, len(c.Members))
	for i, m := range c.Members {
		names[i] = ModelName(m.Arch, c.Train.Style, m.Width)
	}
	return strings.Join(names, "+")
}

// Validate checks the configuration (after WithDefaults) and reports the first
// problem in one line.
func (c JointConfig) Validate() error {
	if len(c.Members) < 2 {
		return fmt.Errorf("ncl: joint training needs at least 2 members, not %d", len(c.Members))
	}
	if err := c.Loss.Validate(); err != nil {
		return err
	}
	for i := range c.Members {
		if err := c.MemberConfig(i).Validate(); err != nil {
			return fmt.Errorf("ncl: member %d (%s): %w", i, c.Members[i].Arch, err)
		}
	}
	return nil
}

// JointResult describes a finished (or already finished) joint run.
type JointResult struct {
	Dir string
	// MemberDirs are the members' run directories (ordinary model directories).
	MemberDirs  []string
	Config      JointConfig
	Metas       []Meta
	History     []EpochStats
	AlreadyDone bool
	ResumedFrom int
}

// TrainJoint trains the members of cfg jointly into dir: a fresh run, the
// continuation of an interrupted one (opts.Resume), or nothing when dir holds
// the finished run. The loop, checkpoints, exact resume, NaN stop and history
// are Train's:
//
//	DIR/ncl.json                       the joint configuration
//	DIR/train_state.safetensors        every member's weights and optimizer state, RNG, epoch, step, history
//	DIR/history.json, .csv             the ensemble's per-epoch loss L (see NCL) and accuracy
//	DIR/members/<i>_<model>/           an ordinary run directory per member: config.json
//	                                   (MemberConfig) and model.safetensors after every epoch
//
// so that evaluation, prediction, diversity and attribution take a member like
// any trained model. The members are built in order, each right after seeding
// libtorch's generator with its own seed, as an independent run does.
func TrainJoint(ctx context.Context, cfg JointConfig, dir string, opts TrainOptions) (*JointResult, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = logrus.StandardLogger()
	}
	statePath := filepath.Join(dir, TrainStateFile)
	res := &JointResult{Dir: dir, Config: cfg}
	for i := range cfg.Members {
		res.MemberDirs = append(res.MemberDirs, cfg.MemberDir(dir, i))
	}
	var prev *trainState
	switch pcfg, pst, err := readStateInfo(statePath); {
	case errors.Is(err, os.ErrNotExist):
		if opts.Resume {
			log.Infof("ncl: %s has no checkpoint to resume; starting a new run", dir)
		}
	case err != nil:
		return nil, fmt.Errorf("ncl: %w", err)
	default:
		if diff := jointDiff(dir, pcfg, cfg); len(diff) > 0 {
			return nil, fmt.Errorf("ncl: %s holds a joint run with another configuration (%s); choose another output directory",
				dir, strings.Join(diff, ", "))
		}
		if pst.Finished {
			log.Infof("ncl: %s already holds the finished run (%d epochs); nothing to do", dir, pst.Epoch)
			for _, d := range res.MemberDirs {
				meta, _, err := ReadMeta(d)
				if err != nil {
					return nil, fmt.Errorf("ncl: %w", err)
				}
				res.Metas = append(res.Metas, meta)
			}
			res.History, res.AlreadyDone = pst.History, true
			return res, nil
		}
		if !opts.Resume {
			return nil, fmt.Errorf("ncl: %s holds an unfinished run (%d of %d epochs done); pass --resume to continue it or choose another output directory",
				dir, pst.Epoch, cfg.Train.Epochs)
		}
		prev = &pst
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	base := cfg.Train
	if base.Threads > 0 {
		p := torch.NumThreads()
		torch.SetNumThreads(base.Threads)
		defer torch.SetNumThreads(p)
	}
	dev, err := torch.ParseDevice(base.Device)
	if err != nil {
		return nil, fmt.Errorf("ncl: %w", err)
	}
	if dev.IsCUDA() && !torch.CUDAAvailable() {
		return nil, fmt.Errorf("ncl: device %s requested but CUDA is not available", dev)
	}
	prec, err := resolvePrecision(base.AMP, dev)
	if err != nil {
		return nil, fmt.Errorf("ncl: %w", err)
	}
	td, err := prepareData(cfg.MemberConfig(0))
	if err != nil {
		return nil, fmt.Errorf("ncl: %w", err)
	}
	mcfg := make([]TrainConfig, len(cfg.Members))
	members := make([]*Member, len(cfg.Members))
	names := make([]string, len(cfg.Members))
	classes := make([]int, len(cfg.Members))
	defer func() {
		for _, m := range members {
			if m != nil {
				m.Opt.Close()
				m.Net.Close()
			}
		}
	}()
	for i := range cfg.Members {
		mc := cfg.MemberConfig(i)
		mcfg[i] = mc
		torch.ManualSeed(mc.initSeed())
		ncfg := nets.Config{Style: nets.Style(mc.Style), Width: mc.Width, InChannels: int64(td.input.Channels),
			Classes: int64(len(td.classes)), Size: int64(td.input.Size)}
		net, err := nets.New(mc.Arch, ncfg, dev)
		if err != nil {
			return nil, fmt.Errorf("ncl: member %d: %w", i, err)
		}
		m, err := newMember(filepath.Base(res.MemberDirs[i]), net, mc)
		if err != nil {
			net.Close()
			return nil, fmt.Errorf("ncl: %w", err)
		}
		members[i] = m
		names[i], classes[i] = m.Name, int(net.Config.Classes)
	}
	if err := CheckClassCounts(names, classes); err != nil {
		return nil, err
	}
	t := &trainer{cfg: base, dir: dir, opts: opts, log: log, dev: dev, prec: prec, data: td,
		members: members, loss: cfg.Loss, mcfg: mcfg, mdirs: res.MemberDirs}
	if prec.scaler {
		t.scaler = NewLossScaler()
	}
	if prev != nil {
		if err := loadState(statePath, t.members); err != nil {
			return nil, fmt.Errorf("ncl: %w", err)
		}
		t.epoch, t.step, t.history = prev.Epoch, prev.Step, prev.History
		if prev.Scaler != nil {
			t.scaler = prev.Scaler
		}
		res.ResumedFrom = prev.Epoch
		log.Infof("ncl: resuming %s at epoch %d of %d (step %d)", dir, prev.Epoch+1, base.Epochs, prev.Step)
	} else {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("ncl: %w", err)
		}
		js, err := json.MarshalIndent(cfg, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := writeBytes(filepath.Join(dir, JointFile), append(js, '\n')); err != nil {
			return nil, fmt.Errorf("ncl: %w", err)
		}
		for i, d := range res.MemberDirs {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, fmt.Errorf("ncl: %w", err)
			}
			mj, err := mcfg[i].marshal()
			if err != nil {
				return nil, err
			}
			if err := writeBytes(filepath.Join(d, ConfigFile), append(mj, '\n')); err != nil {
				return nil, fmt.Errorf("ncl: %w", err)
			}
		}
	}
	if err := t.run(ctx); err != nil {
		return nil, err
	}
	for i := range members {
		res.Metas = append(res.Metas, t.meta(i))
	}
	res.History = t.history
	return res, nil
}

// jointDiff lists what differs between the joint run in dir (its state's recipe
// pcfg and its ncl.json) and cfg, ignoring the fields that may change on resume.
func jointDiff(dir string, pcfg TrainConfig, cfg JointConfig) []string {
	diff := recipeDiff(pcfg.WithDefaults(), cfg.Train)
	b, err := os.ReadFile(filepath.Join(dir, JointFile))
	if err != nil {
		return append(diff, fmt.Sprintf("%s unreadable: %v", JointFile, err))
	}
	var prev JointConfig
	if err := json.Unmarshal(b, &prev); err != nil {
		return append(diff, fmt.Sprintf("%s: %v", JointFile, err))
	}
	if !reflect.DeepEqual(prev.Members, cfg.Members) {
		diff = append(diff, fmt.Sprintf("members (%v → %v)", prev.Members, cfg.Members))
	}
	if prev.Loss != cfg.Loss {
		diff = append(diff, fmt.Sprintf("loss (%+v → %+v)", prev.Loss, cfg.Loss))
	}
	return diff
}
