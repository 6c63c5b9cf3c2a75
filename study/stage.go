package study

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/torch"
)

// Stage is one resumable step of the study.
type Stage struct {
	// Number orders the stages (1, 2, ...); Name names the stage in logs and in
	// its record file.
	Number int
	Name   string
	// Inputs are the numbers of the stages whose outputs this one reads.
	Inputs []int
	// Outputs are the paths, relative to the run directory, the stage writes.
	Outputs []string
	// Recipe returns the part of the configuration the stage's results depend on;
	// its JSON encoding is hashed into the stage's fingerprint.
	Recipe func(Config) any
	// Run does the stage's work in r, reusing what a previous run finished.
	Run func(ctx context.Context, r *Run) error
	// Resume, if set, restores into r what later stages need from the outputs of
	// the stage when it is skipped as complete.
	Resume func(r *Run) error
	// Cells, if set, splits the stage's work into cells that can run apart (on
	// other devices or as Slurm jobs) before the stage itself, which then finds
	// their work done (see PlanCell). Without it the stage is one cell.
	Cells func(r *Run) ([]PlanCell, error)
}

// Stages returns the study's stages in order.
func Stages() []Stage {
	return []Stage{individualStage(), ensemblesStage(), nasStage(), nclStage(), reportStage()}
}

// Fingerprint is the hash of the stage's recipe under cfg.
func (s Stage) Fingerprint(cfg Config) string {
	js, err := json.Marshal(s.Recipe(cfg))
	if err != nil {
		panic(fmt.Sprintf("study: stage %s: recipe is not JSON: %v", s.Name, err))
	}
	sum := sha256.Sum256(js)
	return hex.EncodeToString(sum[:])
}

// Options are the run-time settings of a study: they do not change its results.
type Options struct {
	// Device runs libtorch; Workers is the number of data and corruption
	// goroutines (0: the CPUs).
	Device  torch.Device
	Workers int
	// Stages are the numbers of the stages to run (nil: all).
	Stages []int
	// Out receives the summary table at the end (nil: not printed).
	Out io.Writer
}

// Run is the state of a study being run: the recipe, the directory and what the
// stages have computed so far.
type Run struct {
	Config Config
	Dir    string
	Opts   Options
	// Baseline is the name of the baseline model with a result after stage 1
	// ("" when there is none).
	Baseline string
	// track is the progress view of the stage being run.
	track *tracker
}

// stageRecord is RUN/stages/<number>-<name>.json: the fingerprint of the recipe a
// stage last completed with.
type stageRecord struct {
	Stage       int    `json:"stage"`
	Name        string `json:"name"`
	Fingerprint string `json:"fingerprint"`
}

func (r *Run) recordPath(s Stage) string {
	return filepath.Join(r.Dir, "stages", fmt.Sprintf("%d-%s.json", s.Number, s.Name))
}

// complete reports whether s finished with the current recipe and its outputs
// are still there.
func (r *Run) complete(s Stage) bool {
	b, err := os.ReadFile(r.recordPath(s))
	if err != nil {
		return false
	}
	var rec stageRecord
	if json.Unmarshal(b, &rec) != nil || rec.Fingerprint != s.Fingerprint(r.Config) {
		return false
	}
	for _, o := range s.Outputs {
		if _, err := os.Stat(filepath.Join(r.Dir, o)); err != nil {
			return false
		}
	}
	return true
}

func (r *Run) markComplete(s Stage) error {
	if err := os.MkdirAll(filepath.Join(r.Dir, "stages"), 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(stageRecord{Stage: s.Number, Name: s.Name, Fingerprint: s.Fingerprint(r.Config)}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(r.recordPath(s), append(js, '\n'))
}

// ParseStages parses a list of stage numbers such as "1,2" or "1-3" and checks
// them against Stages.
func ParseStages(s string) ([]int, error) {
	known := map[int]bool{}
	var names []string
	for _, st := range Stages() {
		known[st.Number] = true
		names = append(names, fmt.Sprintf("%d %s", st.Number, st.Name))
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err1 != nil || err2 != nil || b < a {
			return nil, fmt.Errorf("stages %q: want numbers such as 1,2 or 1-3", s)
		}
		for n := a; n <= b; n++ {
			if !known[n] {
				return nil, fmt.Errorf("stages: there is no stage %d (the stages are %s)", n, strings.Join(names, ", "))
			}
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("stages %q: no stage named", s)
	}
	slices.Sort(out)
	return out, nil
}

// Execute runs the study of cfg in dir: every stage of Stages (or those
// o.Stages names) in order, skipping those that completed with the same recipe.
// A stage whose inputs come from a stage that is neither run now nor complete is
// an error.
func Execute(ctx context.Context, cfg Config, dir string, o Options) error {
	return execute(ctx, cfg, dir, o, Stages())
}

func execute(ctx context.Context, cfg Config, dir string, o Options, stages []Stage) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := saveConfig(dir, cfg, stages); err != nil {
		return err
	}
	r := &Run{Config: cfg, Dir: dir, Opts: o}
	start := time.Now()
	ran := map[int]bool{}
	var errs []error
	byNumber := map[int]Stage{}
	for _, s := range stages {
		byNumber[s.Number] = s
	}
	todo := 0
	for _, s := range stages {
		if o.Stages == nil || slices.Contains(o.Stages, s.Number) {
			todo++
		}
	}
	k := 0
	for _, s := range stages {
		if o.Stages != nil && !slices.Contains(o.Stages, s.Number) {
			continue
		}
		k++
		r.beginStage(s, k, todo)
		for _, in := range s.Inputs {
			if !ran[in] && !r.complete(byNumber[in]) {
				return fmt.Errorf("study: stage %d (%s) needs stage %d, which is neither complete nor asked for", s.Number, s.Name, in)
			}
		}
		inputChanged := slices.ContainsFunc(s.Inputs, func(in int) bool { return ran[in] })
		if !inputChanged && r.complete(s) {
			logrus.Infof("study: stage %d %s is complete with this recipe; skipped", s.Number, s.Name)
			if s.Resume != nil {
				if err := s.Resume(r); err != nil {
					return fmt.Errorf("study: stage %d %s: %w", s.Number, s.Name, err)
				}
			}
			continue
		}
		t0 := time.Now()
		logrus.Infof("study [stage %d/%d: %d %s] starts", k, todo, s.Number, s.Name)
		err := s.Run(ctx, r)
		ran[s.Number] = true
		if ctx.Err() != nil {
			return fmt.Errorf("study: interrupted; rerun the same command to continue")
		}
		logrus.Infof("study: stage %d %s done in %.1fs", s.Number, s.Name, time.Since(t0).Seconds())
		if err != nil {
			// The stage kept what it finished; it is not marked complete, so a
			// rerun retries what failed.
			errs = append(errs, err)
			continue
		}
		if err := r.markComplete(s); err != nil {
			return fmt.Errorf("study: %w", err)
		}
	}
	logrus.Infof("study: %s in %.1fs", dir, time.Since(start).Seconds())
	return errors.Join(errs...)
}
