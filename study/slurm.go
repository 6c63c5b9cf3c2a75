package study

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/internal/atomicfile"
)

// SlurmOptions are how the cells of a study are submitted to Slurm.
type SlurmOptions struct {
	// Partition, Gres (e.g. gpu:1), Time (e.g. 2:00:00) and Account are passed
	// to sbatch when set.
	Partition, Gres, Time, Account string
	// Binary is the divres executable the jobs run (default: this one). The run
	// directory must be on storage the nodes share.
	Binary string
	// Args are more options of divres study the jobs pass, e.g. --device cpu.
	Args []string
	// BinDir holds sbatch, squeue, scancel and scontrol ("": found on PATH).
	BinDir string
}

// SlurmJob is one job array submitted for the cells of one stage: array task
// Tasks[i] runs cell Cells[i].
type SlurmJob struct {
	ID         string    `json:"job_id"`
	Stage      int       `json:"stage"`
	Script     string    `json:"script"`
	Cells      []string  `json:"cells"`
	Tasks      []int     `json:"tasks"`
	Dependency string    `json:"dependency,omitempty"`
	Submitted  time.Time `json:"submitted"`
	// The options it was submitted with; a later submission (--retry-failed)
	// reuses those it is not given.
	Partition string   `json:"partition,omitempty"`
	Gres      string   `json:"gres,omitempty"`
	Time      string   `json:"time,omitempty"`
	Account   string   `json:"account,omitempty"`
	Args      []string `json:"args,omitempty"`
}

// slurmJobs is RUN/slurm/jobs.json: every job submitted for the run, oldest
// first; a cell's job is the last one that holds it.
type slurmJobs struct {
	Jobs []SlurmJob `json:"jobs"`
}

// The states of a cell under Slurm.
const (
	SlurmDone         = "done"
	SlurmRunning      = "running"
	SlurmQueued       = "queued"
	SlurmBlocked      = "blocked" // queued behind a cell that failed: never runs until --retry-failed
	SlurmFailed       = "failed"  // its job ended without the cell's outputs
	SlurmNotSubmitted = "not submitted"
)

// SlurmCell is the state of one cell: from its outputs on disk and from the
// queue (squeue), with the job's final state (scontrol) when Slurm still has it.
type SlurmCell struct {
	Cell   string
	State  string
	Job    string // <job id>_<array task>
	Detail string
}

func (so SlurmOptions) command(ctx context.Context, name string, args ...string) (string, error) {
	bin := name
	if so.BinDir != "" {
		bin = filepath.Join(so.BinDir, name)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("%s: %s", name, strings.ReplaceAll(msg, "\n", "; "))
	}
	return stdout.String(), nil
}

// shellQuote quotes s for a POSIX shell: the shell reads it back as s, with
// nothing in it expanded or run.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (p *Plan) slurmDir() string { return filepath.Join(p.run.Dir, "slurm") }

func (p *Plan) readJobs() (slurmJobs, error) {
	var jobs slurmJobs
	path := filepath.Join(p.slurmDir(), "jobs.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return jobs, nil
	}
	if err != nil {
		return jobs, err
	}
	if err := json.Unmarshal(b, &jobs); err != nil {
		return jobs, fmt.Errorf("study: %s: %w", path, err)
	}
	return jobs, nil
}

func (p *Plan) writeJobs(jobs slurmJobs) error {
	js, err := json.MarshalIndent(jobs, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(p.slurmDir(), "jobs.json"), append(js, '\n'))
}

// stageCells are the cells of stage n in plan order: array task i of the
// stage's script runs cell i.
func (p *Plan) stageCells(n int) []PlanCell {
	var out []PlanCell
	for _, c := range p.Cells {
		if c.Stage == n {
			out = append(out, c)
		}
	}
	return out
}

// slurmScript is the job script of stage n: array task i runs divres study
// --out RUN --cell <cell i>. Every value in it is quoted.
func (p *Plan) slurmScript(n int, so SlurmOptions) (string, error) {
	bin := so.Binary
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return "", fmt.Errorf("study: slurm: the path of divres: %w", err)
		}
	}
	dir, err := filepath.Abs(p.run.Dir)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	fmt.Fprintf(&b, "# divres study: the cells of stage %d as a Slurm job array; array task i runs cells[i].\n", n)
	b.WriteString("# Written and submitted by divres study --slurm; the jobs are listed in jobs.json beside it.\n")
	b.WriteString("set -eu\ncells=(\n")
	for _, c := range p.stageCells(n) {
		fmt.Fprintf(&b, "  %s\n", shellQuote(c.ID))
	}
	b.WriteString(")\nid=${cells[$SLURM_ARRAY_TASK_ID]}\nexec")
	for _, a := range append([]string{bin, "study", "--out", dir}, so.Args...) {
		b.WriteString(" " + shellQuote(a))
	}
	b.WriteString(" --cell \"$id\"\n")
	return b.String(), nil
}

// SubmitSlurm submits the cells of the plan (of the stages Options.Stages
// names) that are neither done nor queued or running: one job script per stage
// in RUN/slurm, submitted with sbatch as job arrays, a job depending (afterok)
// on the jobs of the cells it reads. The jobs are recorded in
// RUN/slurm/jobs.json.
func (p *Plan) SubmitSlurm(ctx context.Context, so SlurmOptions) ([]SlurmJob, error) {
	return p.submitSlurm(ctx, so, false)
}

// RetrySlurm cancels the jobs of the cells blocked behind failed ones and
// submits again every cell that is not done, queued or running.
func (p *Plan) RetrySlurm(ctx context.Context, so SlurmOptions) ([]SlurmJob, error) {
	return p.submitSlurm(ctx, so, true)
}

func (p *Plan) submitSlurm(ctx context.Context, so SlurmOptions, retry bool) ([]SlurmJob, error) {
	if err := p.save(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(p.slurmDir(), "logs"), 0o755); err != nil {
		return nil, err
	}
	jobs, err := p.readJobs()
	if err != nil {
		return nil, err
	}
	if n := len(jobs.Jobs); n > 0 {
		last := jobs.Jobs[n-1]
		for _, o := range []struct{ v, prev *string }{{&so.Partition, &last.Partition}, {&so.Gres, &last.Gres},
			{&so.Time, &last.Time}, {&so.Account, &last.Account}} {
			if *o.v == "" {
				*o.v = *o.prev
			}
		}
		if so.Args == nil {
			so.Args = last.Args
		}
	}
	states, err := p.slurmStates(ctx, so, jobs)
	if err != nil {
		return nil, err
	}
	active := map[string]string{} // cell → the job id it waits or runs in
	for _, st := range states {
		switch {
		case st.State == SlurmBlocked && retry:
			if _, err := so.command(ctx, "scancel", st.Job); err != nil {
				return nil, fmt.Errorf("study: slurm: %w", err)
			}
			logrus.Infof("study: slurm: cancelled %s (cell %s, blocked behind a failed cell)", st.Job, st.Cell)
		case st.State == SlurmQueued || st.State == SlurmRunning || st.State == SlurmBlocked:
			active[st.Cell], _, _ = strings.Cut(st.Job, "_")
		}
	}
	// The cells to submit, and their depth: 0 for a cell that reads only done or
	// active cells, else one more than the deepest cell to submit it reads.
	depth := map[string]int{}
	var todo []PlanCell
	for _, c := range p.Cells {
		if p.Done[c.ID] || active[c.ID] != "" || !p.selected(c) {
			continue
		}
		d := 0
		for _, dep := range c.Deps {
			if p.Done[dep] || active[dep] != "" {
				continue
			}
			dd, ok := depth[dep]
			if !ok {
				return nil, fmt.Errorf("study: cell %s needs cell %s, which is neither done nor asked for", c.ID, dep)
			}
			d = max(d, dd+1)
		}
		depth[c.ID] = d
		todo = append(todo, c)
	}
	type group struct{ depth, stage int }
	var order []group
	members := map[group][]PlanCell{}
	for _, c := range todo {
		g := group{depth[c.ID], c.Stage}
		if members[g] == nil {
			order = append(order, g)
		}
		members[g] = append(members[g], c)
	}
	slices.SortStableFunc(order, func(a, b group) int {
		if a.depth != b.depth {
			return a.depth - b.depth
		}
		return a.stage - b.stage
	})
	jobOf := map[string]string{}
	for c, j := range active {
		jobOf[c] = j
	}
	var submitted []SlurmJob
	scripts := map[int]string{}
	for _, g := range order {
		s := p.stageOf(members[g][0])
		if scripts[g.stage] == "" {
			text, err := p.slurmScript(g.stage, so)
			if err != nil {
				return submitted, err
			}
			path := filepath.Join(p.slurmDir(), fmt.Sprintf("stage%d-%s.sh", s.Number, s.Name))
			if err := atomicfile.WriteFile(path, []byte(text)); err != nil {
				return submitted, err
			}
			if scripts[g.stage], err = filepath.Abs(path); err != nil {
				return submitted, err
			}
		}
		index := map[string]int{}
		for i, c := range p.stageCells(g.stage) {
			index[c.ID] = i
		}
		job := SlurmJob{Stage: g.stage, Script: scripts[g.stage], Partition: so.Partition, Gres: so.Gres, Time: so.Time,
			Account: so.Account, Args: so.Args}
		var after []string
		for _, c := range members[g] {
			job.Cells = append(job.Cells, c.ID)
			job.Tasks = append(job.Tasks, index[c.ID])
			for _, dep := range c.Deps {
				if j := jobOf[dep]; j != "" && !slices.Contains(after, j) {
					after = append(after, j)
				}
			}
		}
		slices.Sort(after)
		args := []string{"--parsable", fmt.Sprintf("--job-name=divres-%d-%s", s.Number, s.Name),
			"--array=" + joinInts(job.Tasks),
			"--output=" + strings.ReplaceAll(filepath.Join(filepath.Dir(scripts[g.stage]), "logs"), "%", "%%") + "/%x-%A_%a.out"}
		for _, o := range []struct{ flag, v string }{{"partition", so.Partition}, {"gres", so.Gres}, {"time", so.Time}, {"account", so.Account}} {
			if o.v != "" {
				args = append(args, "--"+o.flag+"="+o.v)
			}
		}
		if len(after) > 0 {
			job.Dependency = "afterok:" + strings.Join(after, ":")
			args = append(args, "--dependency="+job.Dependency)
		}
		out, err := so.command(ctx, "sbatch", append(args, job.Script)...)
		if err != nil {
			return submitted, fmt.Errorf("study: slurm: %w", err)
		}
		id, _, _ := strings.Cut(strings.TrimSpace(out), ";")
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return submitted, fmt.Errorf("study: slurm: sbatch --parsable answered %q, not a job id", strings.TrimSpace(out))
		}
		job.ID, job.Submitted = id, time.Now().UTC()
		for _, c := range job.Cells {
			jobOf[c] = id
		}
		jobs.Jobs = append(jobs.Jobs, job)
		submitted = append(submitted, job)
		if err := p.writeJobs(jobs); err != nil {
			return submitted, err
		}
		logrus.Infof("study: slurm: job %s: stage %d, %d cells %s", id, g.stage, len(job.Cells), job.Dependency)
	}
	return submitted, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// SlurmStatus returns the state of every cell of the plan under Slurm.
func (p *Plan) SlurmStatus(ctx context.Context, so SlurmOptions) ([]SlurmCell, error) {
	jobs, err := p.readJobs()
	if err != nil {
		return nil, err
	}
	return p.slurmStates(ctx, so, jobs)
}

func (p *Plan) slurmStates(ctx context.Context, so SlurmOptions, jobs slurmJobs) ([]SlurmCell, error) {
	taskOf := map[string]string{}
	for _, j := range jobs.Jobs {
		for i, c := range j.Cells {
			taskOf[c] = fmt.Sprintf("%s_%d", j.ID, j.Tasks[i])
		}
	}
	// The queue first, then the disk: a task that leaves the queue between the
	// two has written its outputs before.
	queue := map[string]string{}
	if len(jobs.Jobs) > 0 {
		out, err := so.command(ctx, "squeue", "--me", "--noheader", "--array", "--format=%i|%T|%r")
		if err != nil {
			return nil, fmt.Errorf("study: slurm: %w", err)
		}
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Split(strings.TrimSpace(line), "|"); len(f) == 3 {
				queue[f[0]] = f[1]
				if f[1] == "PENDING" && f[2] == "DependencyNeverSatisfied" {
					// Behind a job that ended badly even if its cell is done
					// (killed after it wrote its outputs).
					queue[f[0]] = "BLOCKED"
				}
			}
		}
	}
	p.Refresh()
	var out []SlurmCell
	state := map[string]string{}
	final := map[string]map[string]string{} // job id → task → final state
	for _, c := range p.Cells {
		st := SlurmCell{Cell: c.ID, Job: taskOf[c.ID]}
		q, inQueue := queue[st.Job]
		switch {
		case p.Done[c.ID]:
			st.State = SlurmDone
		case st.Job == "":
			st.State = SlurmNotSubmitted
		case inQueue && q == "BLOCKED":
			st.State, st.Detail = SlurmBlocked, "its dependency can never be satisfied"
		case inQueue && q == "PENDING":
			st.State, st.Detail = SlurmQueued, ""
			for _, d := range c.Deps {
				if state[d] == SlurmFailed || state[d] == SlurmBlocked {
					st.State, st.Detail = SlurmBlocked, "behind "+d
				}
			}
		case inQueue:
			st.State, st.Detail = SlurmRunning, strings.ToLower(q)
		default:
			st.State = SlurmFailed
			job, task, _ := strings.Cut(st.Job, "_")
			if final[job] == nil {
				final[job] = finalStates(ctx, so, job)
			}
			st.Detail = final[job][task]
			if st.Detail == "" {
				st.Detail = "ended without its outputs"
			}
		}
		state[c.ID] = st.State
		out = append(out, st)
	}
	return out, nil
}

// finalStates asks scontrol for the states of the tasks of a job that left the
// queue (Slurm forgets them after MinJobAge); task → "STATE exit CODE".
func finalStates(ctx context.Context, so SlurmOptions, job string) map[string]string {
	states := map[string]string{}
	out, err := so.command(ctx, "scontrol", "--oneliner", "show", "job", job)
	if err != nil {
		return states
	}
	for _, line := range strings.Split(out, "\n") {
		f := map[string]string{}
		for _, kv := range strings.Fields(line) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				f[k] = v
			}
		}
		if f["ArrayJobId"] == job && f["JobState"] != "" {
			states[f["ArrayTaskId"]] = fmt.Sprintf("%s, exit %s", f["JobState"], f["ExitCode"])
		}
	}
	return states
}

// WriteSlurmStatus prints the cells' states as a table, with a count per state.
func WriteSlurmStatus(w io.Writer, cells []SlurmCell) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CELL\tSTATE\tJOB\tDETAIL")
	count := map[string]int{}
	for _, c := range cells {
		count[c.State]++
		job := c.Job
		if job == "" {
			job = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Cell, c.State, job, c.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var parts []string
	for _, s := range []string{SlurmDone, SlurmRunning, SlurmQueued, SlurmBlocked, SlurmFailed, SlurmNotSubmitted} {
		if count[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[s], s))
		}
	}
	_, err := fmt.Fprintf(w, "%d cells: %s\n", len(cells), strings.Join(parts, ", "))
	return err
}
