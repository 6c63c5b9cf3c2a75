package study

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/divres/divres/data"
	"github.com/divres/divres/torch"
)

func TestParseDevices(t *testing.T) {
	names := func(s []Slot) []string {
		var out []string
		for _, x := range s {
			out = append(out, x.Name+"="+x.Device.String())
		}
		return out
	}
	for _, c := range []struct {
		in   string
		gpus int
		want []string
	}{
		{"cpu:3", 2, []string{"cpu:0=cpu", "cpu:1=cpu", "cpu:2=cpu"}},
		{"cpu", 2, []string{"cpu:0=cpu"}},
		{"auto", 0, []string{"cpu:0=cpu"}},
		{"auto", 2, []string{"cuda:0=cuda:0", "cuda:1=cuda:1"}},
		{"cuda:1, cuda:0", 0, []string{"cuda:1=cuda:1", "cuda:0=cuda:0"}},
	} {
		got, err := parseDevices(c.in, func() int { return c.gpus })
		if err != nil || !reflect.DeepEqual(names(got), c.want) {
			t.Errorf("parseDevices(%q) with %d GPUs = %v, %v; want %v", c.in, c.gpus, names(got), err, c.want)
		}
	}
	for _, bad := range []string{"cpu:0", "cpu:x", "cuda:0,cuda:0", "tpu:1", "cuda:-1"} {
		if _, err := parseDevices(bad, func() int { return 1 }); err == nil {
			t.Errorf("parseDevices(%q) accepted", bad)
		}
	}
}

// event is one start or end of a cell, numbered in the order they happened.
type event struct {
	cell, slot string
	start, end int64
}

type recorder struct {
	mu     sync.Mutex
	seq    atomic.Int64
	events map[string]*event
}

func (rc *recorder) run(p *Plan) func(context.Context, PlanCell, Slot) error {
	return func(ctx context.Context, c PlanCell, s Slot) error {
		ev := &event{cell: c.ID, slot: s.Name, start: rc.seq.Add(1)}
		rc.mu.Lock()
		rc.events[c.ID] = ev
		rc.mu.Unlock()
		err := p.runCell(ctx, c, s.Device)
		ev.end = rc.seq.Add(1)
		return err
	}
}

// rendezvous makes two cells wait for each other: each returns only once both
// have started, so they must run at the same time (on two slots) or fail.
type rendezvous struct{ a, b chan struct{} }

func (z rendezvous) meet(mine, other chan struct{}) error {
	select {
	case <-mine:
	default:
		close(mine)
	}
	select {
	case <-other:
		return nil
	case <-time.After(20 * time.Second):
		return errors.New("the other cell never started while this one ran")
	}
}

// cellStages are two fake stages: stage 1 with parts a and b (which meet, see
// rendezvous) and c (reads a), stage 2 without parts.
func cellStages(z rendezvous, runs map[string]int, mu *sync.Mutex) []Stage {
	write := func(name string, wait func() error) func(context.Context, *Run) error {
		return func(_ context.Context, r *Run) error {
			mu.Lock()
			runs[name]++
			mu.Unlock()
			if wait != nil {
				if err := wait(); err != nil {
					return err
				}
			}
			return os.WriteFile(filepath.Join(r.Dir, name+".out"), []byte(name), 0o644)
		}
	}
	return []Stage{
		{Number: 1, Name: "parts", Outputs: []string{"parts.out"}, Recipe: func(c Config) any { return c.Epochs },
			Run: write("parts", nil),
			Cells: func(r *Run) ([]PlanCell, error) {
				return []PlanCell{
					{ID: "1/a", Outputs: []string{"a.out"}, Run: write("a", func() error { return z.meet(z.a, z.b) })},
					{ID: "1/b", Outputs: []string{"b.out"}, Run: write("b", func() error { return z.meet(z.b, z.a) })},
					{ID: "1/c", Deps: []string{"1/a"}, Outputs: []string{"c.out"}, Run: write("c", nil)},
				}, nil
			}},
		{Number: 2, Name: "after", Inputs: []int{1}, Outputs: []string{"after.out"}, Recipe: func(c Config) any { return c.Seed },
			Run: write("after", nil)},
	}
}

// The scheduler runs independent cells at once on two CPU slots, never two on
// one slot, each after the cells it depends on; a rerun runs nothing; a lost
// output reruns its cell and the cells that read it, and only those.
func TestScheduleCells(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	runs := map[string]int{}
	z := rendezvous{make(chan struct{}), make(chan struct{})}
	p, err := newPlan(Default(), dir, Options{}, cellStages(z, runs, &mu))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range p.Cells {
		ids = append(ids, c.ID+"<"+strings.Join(c.Deps, ","))
	}
	if want := []string{"1/a<", "1/b<", "1/c<1/a", "1/parts<1/a,1/b,1/c", "2/after<1/parts"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("plan %v, want %v", ids, want)
	}
	var table bytes.Buffer
	if err := p.WriteTable(&table); err != nil || !strings.Contains(table.String(), "1/c ") || strings.Contains(table.String(), "done") {
		t.Fatalf("plan table %q (%v)", table.String(), err)
	}
	slots, _ := parseDevices("cpu:2", func() int { return 0 })
	rc := &recorder{events: map[string]*event{}}
	if err := p.schedule(context.Background(), slots, rc.run(p)); err != nil {
		t.Fatal(err)
	}
	ev := rc.events
	if len(ev) != 5 {
		t.Fatalf("%d cells ran, want 5: %v", len(ev), runs)
	}
	if a, b := ev["1/a"], ev["1/b"]; !(a.start < b.end && b.start < a.end) || a.slot == b.slot {
		t.Errorf("a %+v and b %+v did not run at once on two slots", *a, *b)
	}
	for _, x := range ev {
		for _, y := range ev {
			if x != y && x.slot == y.slot && x.start < y.end && y.start < x.end {
				t.Errorf("%s and %s overlap on slot %s", x.cell, y.cell, x.slot)
			}
		}
	}
	for _, c := range p.Cells {
		for _, d := range c.Deps {
			if ev[d].end > ev[c.ID].start {
				t.Errorf("%s started (%d) before its dependency %s ended (%d)", c.ID, ev[c.ID].start, d, ev[d].end)
			}
		}
		if !p.Done[c.ID] {
			t.Errorf("%s is not done after the run", c.ID)
		}
	}

	// A rerun runs nothing (the rendezvous channels are closed: a rerun of a or b
	// would pass, and be counted).
	if err := p.schedule(context.Background(), slots, rc.run(p)); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"a": 1, "b": 1, "c": 1, "parts": 1, "after": 1}
	if !reflect.DeepEqual(runs, want) {
		t.Fatalf("runs %v after a rerun, want %v", runs, want)
	}
	if err := os.Remove(filepath.Join(dir, "a.out")); err != nil {
		t.Fatal(err)
	}
	p.Refresh()
	for id, done := range map[string]bool{"1/a": false, "1/b": true, "1/c": false, "1/parts": false, "2/after": false} {
		if p.Done[id] != done {
			t.Errorf("after a.out was lost: %s done %v, want %v", id, p.Done[id], done)
		}
	}
	// One cell at a time on one slot.
	if err := p.Schedule(context.Background(), slots[:1]); err != nil {
		t.Fatal(err)
	}
	want = map[string]int{"a": 2, "b": 1, "c": 2, "parts": 2, "after": 2}
	if !reflect.DeepEqual(runs, want) {
		t.Fatalf("runs %v, want %v", runs, want)
	}
	// A cell run on its own refuses when what it reads is not done.
	if err := os.Remove(filepath.Join(dir, "c.out")); err != nil {
		t.Fatal(err)
	}
	p.Refresh()
	if err := p.RunCell(context.Background(), "1/parts", torch.CPU); err == nil || !strings.Contains(err.Error(), "needs cell 1/c") {
		t.Fatalf("RunCell(1/parts) without 1/c: %v", err)
	}
}

// A failed cell stops the cells that read it and nothing else.
func TestScheduleFailure(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	runs := map[string]int{}
	z := rendezvous{make(chan struct{}), make(chan struct{})}
	stages := cellStages(z, runs, &mu)
	inner := stages[0].Cells
	stages[0].Cells = func(r *Run) ([]PlanCell, error) {
		cells, err := inner(r)
		cells[0].Run = func(context.Context, *Run) error { close(z.a); return errors.New("a broke") }
		return cells, err
	}
	p, err := newPlan(Default(), dir, Options{}, stages)
	if err != nil {
		t.Fatal(err)
	}
	slots, _ := parseDevices("cpu:2", func() int { return 0 })
	err = p.Schedule(context.Background(), slots)
	if err == nil || !strings.Contains(err.Error(), "a broke") || !strings.Contains(err.Error(), "1/c, 1/parts, 2/after") {
		t.Fatalf("error %v, want a's failure and the three cells behind it", err)
	}
	if !p.Done["1/b"] || p.Done["1/a"] || runs["c"] != 0 {
		t.Fatalf("done %v, runs %v", p.Done, runs)
	}
}

// tinyStudy is a study small enough for a test: two models, one seed, a few
// images, one corruption.
func tinyStudy(t *testing.T) Config {
	if _, err := os.Stat(filepath.Join(data.FashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Fatal("Fashion-MNIST is not installed (build.sh installs dataset-fashion-mnist)")
	}
	cfg := Default()
	cfg.PerClass, cfg.TestSubset, cfg.Epochs, cfg.Batch = 6, 20, 1, 20
	cfg.Baseline = "lenet"
	cfg.Models = []Model{{Arch: "lenet", Width: 0.5}, {Arch: "lenet", Width: 0.25}}
	cfg.Corruptions, cfg.Severities = []string{"contrast"}, []int{1, 3}
	cfg.Seeds, cfg.Bootstrap = 1, 50
	return cfg
}

// resultFiles are the contents of the result files of a run (the eval and
// statistics JSON, the per-image outcomes, the trained weights, fake stage
// outputs), by path.
func resultFiles(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if strings.HasSuffix(rel, ".out") || strings.HasSuffix(rel, "model.safetensors") ||
			(strings.HasSuffix(rel, ".json") && (strings.HasPrefix(rel, "eval/") || strings.HasPrefix(rel, "seeds/") || strings.HasPrefix(rel, "stats/"))) {
			b, err := os.ReadFile(path)
			out[rel] = string(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The tiny real stage 1 and a fake stage 2 reading its results give the same
// files run serially (Execute) and as cells on two CPU slots.
func TestScheduleSameAsSerial(t *testing.T) {
	cfg := tinyStudy(t)
	summary := Stage{Number: 2, Name: "summary", Inputs: []int{1}, Outputs: []string{"summary.out"},
		Recipe: func(c Config) any { return c },
		Run: func(_ context.Context, r *Run) error {
			b, err := os.ReadFile(filepath.Join(r.Dir, "eval", "lenet_w0.5", "eval.json"))
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(r.Dir, "summary.out"), []byte(fmt.Sprintf("%s %d", r.Baseline, len(b))), 0o644)
		}}
	stages := []Stage{individualStage(), summary}
	serial, cells := t.TempDir(), t.TempDir()
	ctx := context.Background()
	if err := execute(ctx, cfg, serial, Options{Device: torch.CPU}, stages); err != nil {
		t.Fatal(err)
	}
	p, err := newPlan(cfg, cells, Options{Device: torch.CPU}, stages)
	if err != nil {
		t.Fatal(err)
	}
	slots, _ := parseDevices("cpu:2", func() int { return 0 })
	if err := p.Schedule(ctx, slots); err != nil {
		t.Fatal(err)
	}
	a, b := resultFiles(t, serial), resultFiles(t, cells)
	if len(a) < 8 || a["summary.out"] == "" || !strings.HasPrefix(a["summary.out"], "lenet_w0.25 ") {
		t.Fatalf("serial run files %v, summary %q", slices.Sorted(maps.Keys(a)), a["summary.out"])
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s differs between the serial and the scheduled run", k)
		}
	}
	if len(a) != len(b) {
		t.Errorf("%d result files serially, %d scheduled", len(a), len(b))
	}
	// The serial run left the records of its training cells: its plan is done.
	ps, err := newPlan(cfg, serial, Options{}, stages)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ps.Cells {
		if !ps.Done[c.ID] {
			t.Errorf("after the serial run, cell %s is pending", c.ID)
		}
	}
}
