package study

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseStages(t *testing.T) {
	got, err := ParseStages(" 1 ,1")
	if err != nil || !reflect.DeepEqual(got, []int{1}) {
		t.Fatalf("ParseStages(\" 1 ,1\") = %v, %v", got, err)
	}
	if got, err := ParseStages("1-1"); err != nil || !reflect.DeepEqual(got, []int{1}) {
		t.Fatalf("ParseStages(1-1) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "9", "x", "2-1", "1-"} {
		if _, err := ParseStages(bad); err == nil {
			t.Errorf("ParseStages(%q) accepted", bad)
		}
	}
	if _, err := ParseStages("9"); err == nil || !strings.Contains(err.Error(), "1 individual") {
		t.Errorf("the error for an unknown stage does not list the stages: %v", err)
	}
}

// The fingerprint follows the recipe the stage depends on and nothing else.
func TestFingerprint(t *testing.T) {
	s := individualStage()
	a, b := Default(), Default()
	if s.Fingerprint(a) != s.Fingerprint(b) {
		t.Fatal("equal recipes, different fingerprints")
	}
	b.Epochs++
	if s.Fingerprint(a) == s.Fingerprint(b) {
		t.Fatal("another epoch count, same fingerprint")
	}
	only := Stage{Name: "t", Recipe: func(c Config) any { return c.Models }}
	b = Default()
	b.Epochs++
	if only.Fingerprint(a) != only.Fingerprint(b) {
		t.Fatal("a stage that depends only on the models changed its fingerprint with the epochs")
	}
}

// fakeStages are two stages that count their runs; the second reads the first.
func fakeStages(runs map[string]int, fail map[string]bool) []Stage {
	mk := func(n int, name string, inputs []int, recipe func(Config) any) Stage {
		return Stage{Number: n, Name: name, Inputs: inputs, Outputs: []string{name + ".out"}, Recipe: recipe,
			Run: func(_ context.Context, r *Run) error {
				runs[name]++
				if fail[name] {
					return errors.New(name + " failed")
				}
				return os.WriteFile(filepath.Join(r.Dir, name+".out"), []byte("x"), 0o644)
			}}
	}
	return []Stage{
		mk(1, "first", nil, func(c Config) any { return c.Epochs }),
		mk(2, "second", []int{1}, func(c Config) any { return c.Seed }),
	}
}

// A complete stage is skipped; a failed one is retried; a stage whose input
// stage ran again runs again; a missing output makes a stage incomplete; a
// stage whose input stage is neither complete nor asked for is refused.
func TestExecuteResumes(t *testing.T) {
	dir := t.TempDir()
	cfg := Default()
	runs, fail := map[string]int{}, map[string]bool{"second": true}
	ctx := context.Background()
	if err := execute(ctx, cfg, dir, Options{Stages: []int{2}}, fakeStages(runs, fail)); err == nil {
		t.Fatal("stage 2 ran without stage 1")
	}
	if err := execute(ctx, cfg, dir, Options{}, fakeStages(runs, fail)); err == nil || !strings.Contains(err.Error(), "second failed") {
		t.Fatalf("the failure of stage 2 was not reported: %v", err)
	}
	delete(fail, "second")
	if err := execute(ctx, cfg, dir, Options{}, fakeStages(runs, fail)); err != nil {
		t.Fatal(err)
	}
	if runs["first"] != 1 || runs["second"] != 2 {
		t.Fatalf("runs %v, want first once (complete) and second twice (failed, then retried)", runs)
	}
	if err := execute(ctx, cfg, dir, Options{Stages: []int{2}}, fakeStages(runs, fail)); err != nil {
		t.Fatal(err)
	}
	if runs["second"] != 2 {
		t.Fatalf("a complete stage ran again: %v", runs)
	}
	if err := os.Remove(filepath.Join(dir, "first.out")); err != nil {
		t.Fatal(err)
	}
	if err := execute(ctx, cfg, dir, Options{}, fakeStages(runs, fail)); err != nil {
		t.Fatal(err)
	}
	if runs["first"] != 2 || runs["second"] != 3 {
		t.Fatalf("runs %v: a lost output reruns its stage and the stages after it", runs)
	}
	// A change of stage 2's part of the recipe reruns stage 2 only; one of
	// stage 1's reruns both.
	cfg.Seed++
	if err := execute(ctx, cfg, dir, Options{}, fakeStages(runs, fail)); err != nil {
		t.Fatal(err)
	}
	if runs["first"] != 2 || runs["second"] != 4 {
		t.Fatalf("runs %v after a change of stage 2's recipe: want stage 2 alone to rerun", runs)
	}
	cfg.Epochs++
	if err := execute(ctx, cfg, dir, Options{}, fakeStages(runs, fail)); err != nil {
		t.Fatal(err)
	}
	if runs["first"] != 3 || runs["second"] != 5 {
		t.Fatalf("runs %v after a change of stage 1's recipe: want both to rerun", runs)
	}
	saved, err := LoadConfig(filepath.Join(dir, "study.json"))
	if err != nil || saved.Epochs != cfg.Epochs {
		t.Fatalf("study.json does not hold the new recipe: %v", err)
	}
}
