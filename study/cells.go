package study

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/torch"
)

// PlanCell is one unit of work of a stage, with explicit dependencies and
// outputs, that can run on its own: in another goroutine on another device, or
// as a Slurm job (divres study --cell ID).
//
// Every stage ends with its stage cell, "<number>/<name>", which runs the whole
// stage and records it complete; a stage with Cells runs its parts first (for
// stage 1, one training run per model and seed: "1/train/<member>"), and the
// stage cell depends on all of them and finds their work done. A part records
// its completion in RUN/cells/<escaped ID>.json.
//
// A cell is done when its record (for a stage cell, the stage's record) holds
// the stage's fingerprint, its outputs exist, and every cell it depends on is
// done and recorded no later than it: a cell whose dependency ran again is
// pending again. A done cell is skipped.
type PlanCell struct {
	// ID names the cell, e.g. "1/train/resnet18_w0.25_s0" or "2/ensembles".
	ID string
	// Stage is the number of the cell's stage.
	Stage int
	// Deps are the IDs of the cells whose outputs this one reads.
	Deps []string
	// Outputs are the paths, relative to the run directory, the cell writes.
	Outputs []string
	// Run does the cell's work in r (r.Opts.Device is the device it runs on).
	Run func(ctx context.Context, r *Run) error
}

// StageCellID is the ID of the cell that runs stage s as a whole.
func StageCellID(s Stage) string { return fmt.Sprintf("%d/%s", s.Number, s.Name) }

// Plan is the cells of a study in a run directory, every cell after the cells
// it depends on, and which of them are done.
type Plan struct {
	Cells []PlanCell
	// Done holds the IDs of the cells that are done (see PlanCell).
	Done map[string]bool

	run    *Run
	stages []Stage
	stage  map[string]Stage // the stage of a stage cell, by cell ID
	byID   map[string]int
}

// cellRecord is RUN/cells/<escaped ID>.json: a part cell finished with the
// recipe of this fingerprint.
type cellRecord struct {
	Cell        string `json:"cell"`
	Fingerprint string `json:"fingerprint"`
}

// NewPlan checks cfg and returns the plan of the study's cells in dir. It
// writes nothing: running a cell saves the recipe as RUN/study.json, like
// Execute.
func NewPlan(cfg Config, dir string, o Options) (*Plan, error) {
	return newPlan(cfg, dir, o, Stages())
}

// LoadRunConfig reads the recipe saved in run directory dir (RUN/study.json),
// as it is: what a cell run apart from the others (divres study --cell) uses.
func LoadRunConfig(dir string) (Config, error) {
	path := filepath.Join(dir, "study.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("study: %w (is %s a study's run directory?)", err, dir)
	}
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return Config{}, fmt.Errorf("study: %s: %w", path, err)
	}
	return cfg, nil
}

// save writes the plan's recipe into its run directory.
func (p *Plan) save() error {
	if err := os.MkdirAll(p.run.Dir, 0o755); err != nil {
		return err
	}
	return saveConfig(p.run.Dir, p.run.Config, p.stages)
}

func newPlan(cfg Config, dir string, o Options, stages []Stage) (*Plan, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Run{Config: cfg, Dir: dir, Opts: o}
	p := &Plan{run: r, stages: stages, stage: map[string]Stage{}, byID: map[string]int{}}
	byNumber := map[int]Stage{}
	for _, s := range stages {
		byNumber[s.Number] = s
	}
	add := func(c PlanCell) error {
		if _, dup := p.byID[c.ID]; dup {
			return fmt.Errorf("study: plan: cell %s is listed twice", c.ID)
		}
		for _, d := range c.Deps {
			if _, ok := p.byID[d]; !ok {
				return fmt.Errorf("study: plan: cell %s depends on %s, which is not an earlier cell", c.ID, d)
			}
		}
		p.byID[c.ID] = len(p.Cells)
		p.Cells = append(p.Cells, c)
		return nil
	}
	for _, s := range stages {
		var inputs []string
		for _, in := range s.Inputs {
			prev, ok := byNumber[in]
			if !ok {
				return nil, fmt.Errorf("study: plan: stage %d (%s) reads stage %d, which is not in the study", s.Number, s.Name, in)
			}
			inputs = append(inputs, StageCellID(prev))
		}
		var parts []PlanCell
		if s.Cells != nil {
			var err error
			if parts, err = s.Cells(r); err != nil {
				return nil, fmt.Errorf("study: plan: stage %d %s: %w", s.Number, s.Name, err)
			}
		}
		own := map[string]bool{}
		for _, c := range parts {
			own[c.ID] = true
		}
		all := slices.Clone(inputs)
		for _, c := range parts {
			c.Stage = s.Number
			if !slices.ContainsFunc(c.Deps, func(d string) bool { return own[d] }) {
				// A part that reads no other part of its stage reads the stage's inputs.
				c.Deps = append(slices.Clone(inputs), c.Deps...)
			}
			if c.Run == nil {
				return nil, fmt.Errorf("study: plan: cell %s has no Run", c.ID)
			}
			if err := add(c); err != nil {
				return nil, err
			}
			all = append(all, c.ID)
		}
		sc := PlanCell{ID: StageCellID(s), Stage: s.Number, Deps: all, Outputs: s.Outputs}
		p.stage[sc.ID] = s
		if err := add(sc); err != nil {
			return nil, err
		}
	}
	p.Refresh()
	return p, nil
}

// Refresh rereads from the run directory which cells are done.
func (p *Plan) Refresh() {
	p.Done = map[string]bool{}
	recorded := map[string]time.Time{}
	for _, c := range p.Cells {
		t, ok := p.ownDone(c)
		if !ok {
			continue
		}
		for _, d := range c.Deps {
			if !p.Done[d] || recorded[d].After(t) {
				ok = false
			}
		}
		if ok {
			p.Done[c.ID], recorded[c.ID] = true, t
		}
	}
}

// ownDone reports whether c's record and outputs are there, and when c was
// recorded.
func (p *Plan) ownDone(c PlanCell) (time.Time, bool) {
	r := p.run
	var rec string
	if s, ok := p.stage[c.ID]; ok {
		if !r.complete(s) {
			return time.Time{}, false
		}
		rec = r.recordPath(s)
	} else {
		rec = r.cellRecordPath(c.ID)
		b, err := os.ReadFile(rec)
		var cr cellRecord
		if err != nil || json.Unmarshal(b, &cr) != nil || cr.Fingerprint != p.stageOf(c).Fingerprint(r.Config) {
			return time.Time{}, false
		}
		for _, o := range c.Outputs {
			if _, err := os.Stat(filepath.Join(r.Dir, o)); err != nil {
				return time.Time{}, false
			}
		}
	}
	st, err := os.Stat(rec)
	if err != nil {
		return time.Time{}, false
	}
	return st.ModTime(), true
}

func (p *Plan) stageOf(c PlanCell) Stage {
	for _, s := range p.stages {
		if s.Number == c.Stage {
			return s
		}
	}
	panic(fmt.Sprintf("study: cell %s of an unknown stage %d", c.ID, c.Stage))
}

// Cell returns the cell named id.
func (p *Plan) Cell(id string) (PlanCell, error) {
	i, ok := p.byID[id]
	if !ok {
		return PlanCell{}, fmt.Errorf("study: there is no cell %q (divres study --plan lists them)", id)
	}
	return p.Cells[i], nil
}

// selected reports whether c belongs to a stage that o.Stages names (all when
// it names none).
func (p *Plan) selected(c PlanCell) bool {
	return p.run.Opts.Stages == nil || slices.Contains(p.run.Opts.Stages, c.Stage)
}

// WriteTable prints the plan: each cell's ID, state, dependencies and outputs.
func (p *Plan) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CELL\tSTATE\tDEPS\tOUTPUTS")
	for _, c := range p.Cells {
		state := "pending"
		if p.Done[c.ID] {
			state = "done"
		}
		deps := strings.Join(c.Deps, ",")
		if len(c.Deps) > 3 {
			deps = fmt.Sprintf("%s,... (%d cells)", strings.Join(c.Deps[:2], ","), len(c.Deps))
		}
		if deps == "" {
			deps = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, state, deps, strings.Join(c.Outputs, ","))
	}
	return tw.Flush()
}

// RunCell runs the cell named id on device dev, unless it is done. Every cell
// it depends on must be done.
func (p *Plan) RunCell(ctx context.Context, id string, dev torch.Device) error {
	c, err := p.Cell(id)
	if err != nil {
		return err
	}
	if err := p.save(); err != nil {
		return err
	}
	p.Refresh()
	if p.Done[id] {
		logrus.Infof("study: cell %s is done; skipped", id)
		return nil
	}
	for _, d := range c.Deps {
		if !p.Done[d] {
			return fmt.Errorf("study: cell %s needs cell %s, which is not done", id, d)
		}
	}
	return p.runCell(ctx, c, dev)
}

// runCell runs c on dev in a Run of its own and records it.
func (p *Plan) runCell(ctx context.Context, c PlanCell, dev torch.Device) error {
	r := &Run{Config: p.run.Config, Dir: p.run.Dir, Opts: p.run.Opts}
	r.Opts.Device = dev
	t0 := time.Now()
	logrus.Infof("study: cell %s on %s", c.ID, dev)
	var err error
	if s, ok := p.stage[c.ID]; ok {
		err = p.runStage(ctx, r, s)
	} else if err = c.Run(ctx, r); err == nil {
		err = r.markCell(c.ID, p.stageOf(c))
	}
	if ctx.Err() != nil {
		return fmt.Errorf("study: cell %s interrupted; run it again to continue", c.ID)
	}
	if err != nil {
		return fmt.Errorf("study: cell %s: %w", c.ID, err)
	}
	logrus.Infof("study: cell %s done in %.1fs", c.ID, time.Since(t0).Seconds())
	return nil
}

// runStage runs stage s as a cell: the stages before it restore what they left
// for it (as when Execute skips them), then s runs and is recorded complete.
func (p *Plan) runStage(ctx context.Context, r *Run, s Stage) error {
	out := r.Opts.Out
	r.Opts.Out = nil
	for _, prev := range p.stages {
		if prev.Number == s.Number {
			break
		}
		if prev.Resume != nil && r.complete(prev) {
			if err := prev.Resume(r); err != nil {
				r.Opts.Out = out
				return fmt.Errorf("stage %d %s: %w", prev.Number, prev.Name, err)
			}
		}
	}
	r.Opts.Out = out
	r.beginStage(s, 1, 1)
	if err := s.Run(ctx, r); err != nil {
		return err
	}
	return r.markComplete(s)
}

func (r *Run) cellRecordPath(id string) string {
	return filepath.Join(r.Dir, "cells", url.PathEscape(id)+".json")
}

// markCell records that the part cell id of stage s finished.
func (r *Run) markCell(id string, s Stage) error {
	if err := os.MkdirAll(filepath.Join(r.Dir, "cells"), 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(cellRecord{Cell: id, Fingerprint: s.Fingerprint(r.Config)}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(r.cellRecordPath(id), append(js, '\n'))
}

// trainCellID is the ID of the cell of stage 1 that trains one member.
func trainCellID(member string) string { return "1/train/" + member }

// individualCells are the parts of stage 1: one training run per model and seed.
func individualCells(r *Run) ([]PlanCell, error) {
	var cells []PlanCell
	for _, m := range r.Config.Models {
		for _, seed := range r.Config.SeedList() {
			name := MemberName(m, seed)
			cells = append(cells, PlanCell{ID: trainCellID(name),
				Outputs: []string{filepath.Join("train", name, ensemble.ModelFile)},
				Run: func(ctx context.Context, r *Run) error {
					_, err := trainMember(ctx, r, m, seed)
					return err
				}})
		}
	}
	return cells, nil
}

// trainMember trains model m with one seed into RUN/train/<member>, resuming an
// interrupted run and keeping a finished one (already: it was finished), and
// records its cell. Stage 1 and its training cells both train through it.
func trainMember(ctx context.Context, r *Run, m Model, seed uint64) (already bool, err error) {
	name := MemberName(m, seed)
	tc := r.Config.TrainConfig(m, seed, r.Opts.Device.String())
	tc.Workers = r.Opts.Workers
	res, err := ensemble.Train(ctx, tc, filepath.Join(r.Dir, "train", name),
		ensemble.TrainOptions{Resume: true, Progress: ensemble.ProgressLog})
	if err != nil {
		return false, err
	}
	if _, statErr := os.Stat(r.cellRecordPath(trainCellID(name))); res.AlreadyDone && statErr == nil {
		return true, nil
	}
	return res.AlreadyDone, r.markCell(trainCellID(name), individualStage())
}
