package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/divres/divres/study"
)

// killStudyConfig is the smallest study that has every stage: a tiny ResNet50
// baseline (the NAS stage's super-network) and two other architectures.
func killStudyConfig() study.Config {
	cfg := study.Default()
	cfg.PerClass, cfg.TestSubset, cfg.Epochs, cfg.Batch = 6, 16, 1, 20
	cfg.Models = []study.Model{{Arch: "resnet50", Width: 0.0625}, {Arch: "lenet", Width: 0.5}, {Arch: "resnet18", Width: 0.0625}}
	cfg.Corruptions, cfg.Severities = []string{"fog", "contrast"}, []int{1, 3}
	cfg.Seeds, cfg.Bootstrap = 2, 50
	cfg.Ensembles = &study.EnsembleRecipe{KMax: 2}
	cfg.NAS = &study.NASRecipe{Divisor: 2, Batch: 16, ValFraction: 0.25, ValLimit: 20, CalibImages: 16, Population: 6,
		Generations: 2, K: 2, AttribImages: 8}
	cfg.NCL = &study.NCLRecipe{Lambdas: []float64{0.5, 1}, Heuristics: []string{"none", "prediction"},
		Members: []study.Model{{Arch: "lenet", Width: 0.5}, {Arch: "resnet18", Width: 0.0625}}}
	return cfg
}

// stageLine matches the progress view's line of a stage's cell.
var stageLine = regexp.MustCompile(`study \[stage (\d+)/(\d+)`)

// startStudy starts this binary as `divres study` on cfgPath into run; lines
// receives the numbers of the stages whose cells start (from the log), exited
// the process's exit once its output is read.
func startStudy(t *testing.T, cfgPath, run string, lines chan<- int) (cmd *exec.Cmd, log *bytes.Buffer, exited <-chan error) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "--log-level", "info", "study", "--config", cfgPath, "--out", run, "--device", "cpu")
	cmd.Env = append(os.Environ(), "DIVRES_HARNESS_CHILD=1", "DIVRES_NO_REEXEC=1", "OMP_WAIT_POLICY=PASSIVE",
		"OMP_NUM_THREADS=1")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	log = &bytes.Buffer{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := stageLine.FindStringSubmatch(sc.Text()); m != nil && lines != nil {
				var k int
				fmt.Sscan(m[1], &k)
				select {
				case lines <- k:
				default:
				}
			}
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		wg.Wait()
		done <- err
	}()
	return cmd, log, done
}

// resultFiles lists the result files of a run directory with their contents:
// every file but logs and the files that record wall times.
func resultFiles(t *testing.T, run string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(run, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(run, p)
		base := filepath.Base(rel)
		if strings.HasSuffix(base, ".log") || strings.Contains(base, ".tmp") || timed(rel) {
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// timed reports whether a result file records wall-clock times (which differ
// between any two runs) rather than results.
func timed(rel string) bool {
	base := filepath.Base(rel)
	switch {
	case base == "history.json" || base == "history.csv" || base == "train_state.safetensors" || base == "ps_state.safetensors":
		return true
	case strings.HasPrefix(rel, "nas"+string(filepath.Separator)) && (base == "search.json" || base == "ps_history.json"):
		return true
	case strings.HasPrefix(rel, "report") || strings.HasPrefix(rel, "slurm"):
		return true
	}
	return false
}

// TestStudyKillAnywhere runs a tiny study with every stage, kills it with
// SIGKILL at seeded random moments inside each stage in turn, resumes it each
// time, and checks that the finished run's result files equal those of an
// uninterrupted run byte for byte.
func TestStudyKillAnywhere(t *testing.T) {
	dir := t.TempDir()
	js, _ := json.Marshal(killStudyConfig())
	cfgPath := filepath.Join(dir, "study.json")
	if err := os.WriteFile(cfgPath, js, 0o644); err != nil {
		t.Fatal(err)
	}
	// Directories of the same length, so that files naming their run directory
	// compare equal once one name is replaced by the other.
	ref := filepath.Join(dir, "runA")
	_, log, exited := startStudy(t, cfgPath, ref, nil)
	if err := <-exited; err != nil {
		t.Fatalf("uninterrupted study: %v\n%s", err, log)
	}
	want := resultFiles(t, ref)
	stages := len(study.Stages())

	rng := rand.New(rand.NewPCG(17, 4))
	run := filepath.Join(dir, "runB")
	kills := 0
	for target := 1; target <= stages; target++ {
		// Start (or resume) the study; once the log shows the target stage at
		// work, wait a random moment and kill it.
		lines := make(chan int, 64)
		cmd, log, exited := startStudy(t, cfgPath, run, lines)
		var killed bool
		seen, after := 0, 1+rng.IntN(3)
	wait:
		for {
			select {
			case k := <-lines:
				if k < target {
					continue
				}
				if seen++; k == target && seen < after {
					continue
				}
				time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
				if cmd.Process.Signal(syscall.SIGKILL) == nil {
					killed = true
				}
				<-exited
				break wait
			case err := <-exited:
				if err != nil {
					t.Fatalf("run before the kill in stage %d failed: %v\n%s", target, err, log)
				}
				break wait
			}
		}
		if killed {
			kills++
			t.Logf("killed in stage %d", target)
		}
	}
	_, log, exited = startStudy(t, cfgPath, run, nil)
	if err := <-exited; err != nil {
		t.Fatalf("resumed study: %v\n%s", err, log)
	}
	if kills == 0 {
		t.Fatal("the study was never killed")
	}
	got := resultFiles(t, run)
	var names []string
	for n := range want {
		names = append(names, n)
	}
	slices.Sort(names)
	bad := 0
	for _, n := range names {
		g, ok := got[n]
		switch {
		case !ok:
			t.Errorf("%s: missing after %d kills", n, kills)
			bad++
		case !bytes.Equal(bytes.ReplaceAll(g, []byte(run), []byte(ref)), want[n]):
			t.Errorf("%s differs from the uninterrupted run's", n)
			bad++
		}
		if bad > 40 {
			t.Fatal("too many differences")
		}
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			t.Errorf("%s: only in the killed run", n)
		}
	}
	t.Logf("%d result files equal after %d kills", len(want), kills)
}
