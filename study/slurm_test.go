package study

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestShellQuote(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", `it's`, `"$(touch x)" ` + "`id`", "new\nline", `back\slash`, "$HOME ${x} !1 *"} {
		out, err := exec.Command("bash", "-c", "printf %s "+shellQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("bash reads %q back as %q (%v)", s, out, err)
		}
	}
}

// The job script of a stage runs divres study --out RUN --cell <id> with every
// value exactly as given: a model name, a run directory and a divres path
// holding spaces, quotes and $(...) run nothing.
func TestSlurmScriptQuotes(t *testing.T) {
	base := t.TempDir()
	evil := `we"ird 'x' $(touch PWNED) ` + "`touch PWNED2`"
	dir := filepath.Join(base, "run "+evil)
	binDir := filepath.Join(base, "bin $(touch PWNED3)")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	argsFile := filepath.Join(base, "args")
	// The fake divres writes its arguments, one per line, as %q.
	bin := filepath.Join(binDir, "div'res")
	fake := "#!/bin/bash\nfor a in \"$@\"; do printf '%q\\n' \"$a\"; done > " + shellQuote(argsFile) + "\n"
	if err := os.WriteFile(bin, []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.Models = []Model{{Arch: "resnet50", Width: 0.25}, {Arch: evil, Width: 1}}
	cfg.Seeds = 1
	p, err := NewPlan(cfg, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	script, err := p.slurmScript(1, SlurmOptions{Binary: bin, Args: []string{"--device", "cpu $(touch PWNED4)"}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(base, "job.sh")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cells := p.stageCells(1)
	if len(cells) != 3 || cells[1].ID != "1/train/"+evil+"_s0" {
		t.Fatalf("stage 1 cells %v", cells)
	}
	for i, c := range cells {
		cmd := exec.Command("bash", path)
		cmd.Dir = base
		cmd.Env = append(os.Environ(), "SLURM_ARRAY_TASK_ID="+strconv.Itoa(i))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("task %d: %v\n%s\n%s", i, err, out, script)
		}
		b, err := os.ReadFile(argsFile)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			out, err := exec.Command("bash", "-c", "eval \"printf %s $1\"", "-", line).Output()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(out))
		}
		want := []string{"study", "--out", dir, "--device", "cpu $(touch PWNED4)", "--cell", c.ID}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("task %d ran divres with %q, want %q", i, got, want)
		}
	}
	for _, n := range []string{"PWNED", "PWNED2", "PWNED3", "PWNED4"} {
		if _, err := os.Stat(filepath.Join(base, n)); err == nil {
			t.Errorf("the script ran a command hidden in a value (%s exists)", n)
		}
	}
	if strings.Contains(script, evil) {
		t.Errorf("the script holds the model name unquoted:\n%s", script)
	}
}

func TestSlurmStatusTable(t *testing.T) {
	var b bytes.Buffer
	err := WriteSlurmStatus(&b, []SlurmCell{{Cell: "1/train/a", State: SlurmDone, Job: "4_0"},
		{Cell: "1/train/b", State: SlurmFailed, Job: "4_1", Detail: "CANCELLED, exit 0:15"},
		{Cell: "1/individual", State: SlurmBlocked, Job: "5_2", Detail: "behind 1/train/b"}})
	if err != nil || !strings.Contains(b.String(), "3 cells: 1 done, 1 blocked, 1 failed") ||
		!strings.Contains(b.String(), "1/train/b     failed") {
		t.Fatalf("table %q (%v)", b.String(), err)
	}
}
