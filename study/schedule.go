package study

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/torch"
)

// Slot is a place a cell runs: one device, one cell at a time.
type Slot struct {
	// Name is "cuda:N" or "cpu:N".
	Name   string
	Device torch.Device
}

// ParseDevices parses the devices of --devices: a list such as "cuda:0,cuda:1",
// "auto" (every CUDA device, or one CPU slot when there is none), "cpu" (one
// CPU slot) or "cpu:N" (N CPU slots, cells sharing the CPU).
func ParseDevices(s string) ([]Slot, error) {
	return parseDevices(s, func() int {
		if !torch.CUDAAvailable() {
			return 0
		}
		return torch.CUDADeviceCount()
	})
}

func parseDevices(s string, cudaCount func() int) ([]Slot, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	cpu := func(n int) []Slot {
		var out []Slot
		for i := range n {
			out = append(out, Slot{Name: "cpu:" + strconv.Itoa(i), Device: torch.CPU})
		}
		return out
	}
	switch {
	case s == "auto" || s == "":
		n := cudaCount()
		if n == 0 {
			return cpu(1), nil
		}
		var out []Slot
		for i := range n {
			out = append(out, Slot{Name: torch.CUDA(i).String(), Device: torch.CUDA(i)})
		}
		return out, nil
	case s == "cpu":
		return cpu(1), nil
	case strings.HasPrefix(s, "cpu:"):
		n, err := strconv.Atoi(s[4:])
		if err != nil || n < 1 {
			return nil, fmt.Errorf("devices %q: cpu:N needs a number of slots N ≥ 1", s)
		}
		return cpu(n), nil
	}
	var out []Slot
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if !strings.HasPrefix(part, "cuda:") {
			return nil, fmt.Errorf("devices %q: want cuda:N,cuda:M,..., auto, cpu or cpu:N", s)
		}
		d, err := torch.ParseDevice(part)
		if err != nil {
			return nil, fmt.Errorf("devices %q: %w", s, err)
		}
		if seen[d.String()] {
			return nil, fmt.Errorf("devices %q: %s is listed twice", s, d)
		}
		seen[d.String()] = true
		out = append(out, Slot{Name: d.String(), Device: d})
	}
	return out, nil
}

// Schedule runs the pending cells of the plan (of the stages Options.Stages
// names) on slots, one cell per slot at a time, each as soon as the cells it
// depends on are done. Cells run as goroutines of this process with their
// slot's device: libtorch runs work on several devices from several threads,
// and an error in a cell is returned, not fatal, so the other slots go on. A
// failed cell stops only the cells that depend on it; the error lists what
// failed and what could not run.
func (p *Plan) Schedule(ctx context.Context, slots []Slot) error {
	return p.schedule(ctx, slots, func(ctx context.Context, c PlanCell, s Slot) error {
		return p.runCell(ctx, c, s.Device)
	})
}

func (p *Plan) schedule(ctx context.Context, slots []Slot, run func(context.Context, PlanCell, Slot) error) error {
	if len(slots) == 0 {
		return errors.New("study: no devices to run cells on")
	}
	if err := p.save(); err != nil {
		return err
	}
	p.Refresh()
	var todo []PlanCell
	queued := map[string]bool{}
	for _, c := range p.Cells {
		if p.Done[c.ID] || !p.selected(c) {
			continue
		}
		for _, d := range c.Deps {
			if !p.Done[d] && !queued[d] {
				return fmt.Errorf("study: cell %s needs cell %s, which is neither done nor asked for", c.ID, d)
			}
		}
		todo = append(todo, c)
		queued[c.ID] = true
	}
	if out := p.run.Opts.Out; out != nil {
		p.run.Opts.Out = &lockedWriter{w: out}
		defer func() { p.run.Opts.Out = out }()
	}
	logrus.Infof("study: %d cells to run on %d slots", len(todo), len(slots))
	type result struct {
		id   string
		slot int
		err  error
	}
	results := make(chan result)
	free := make([]bool, len(slots))
	for i := range free {
		free[i] = true
	}
	finished := map[string]bool{}
	for id := range p.Done {
		finished[id] = true
	}
	started, failed := map[string]bool{}, map[string]bool{}
	var errs []error
	running := 0
	for {
		if ctx.Err() == nil {
			for _, c := range todo {
				if started[c.ID] {
					continue
				}
				ready := true
				for _, d := range c.Deps {
					ready = ready && finished[d]
				}
				slot := -1
				for i, f := range free {
					if f {
						slot = i
						break
					}
				}
				if !ready || slot < 0 {
					continue
				}
				started[c.ID], free[slot] = true, false
				running++
				go func(c PlanCell, i int) {
					results <- result{c.ID, i, run(ctx, c, slots[i])}
				}(c, slot)
			}
		}
		if running == 0 {
			break
		}
		res := <-results
		running--
		free[res.slot] = true
		if res.err != nil {
			failed[res.id] = true
			errs = append(errs, res.err)
			logrus.Errorf("study: %v", res.err)
			continue
		}
		finished[res.id] = true
	}
	var blocked []string
	for _, c := range todo {
		if !started[c.ID] {
			blocked = append(blocked, c.ID)
		}
	}
	if len(blocked) > 0 {
		why := "they depend on cells that failed"
		if ctx.Err() != nil {
			why = "interrupted"
		}
		errs = append(errs, fmt.Errorf("study: %d cells did not run (%s): %s", len(blocked), why, strings.Join(blocked, ", ")))
	}
	p.Refresh()
	return errors.Join(errs...)
}

// lockedWriter serialises the writes of cells running at once.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
