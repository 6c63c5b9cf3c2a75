package ensemble

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/data"
	"github.com/divres/divres/torch"
)

// TestPredictionCacheCorrupt damages a cached entry in each way a disk, a kill
// or a hand can (a truncated, bit-flipped, missing or replaced array, a cut or
// stale outputs.json, wrong labels, an injected NaN with a matching checksum):
// each is recomputed with a warning naming the problem (the missing file
// silently), the outputs equal the undamaged ones, and the repaired entry is a
// hit again.
func TestPredictionCacheCorrupt(t *testing.T) {
	root := t.TempDir()
	classes := []string{"a", "b", "c"}
	dir := filepath.Join(root, "m1")
	writeTinyMember(t, dir, 1, classes)
	members, err := OpenPoolMembers([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	clean := tinyImages(t, 6, 1, classes)
	ins := []InputSlice{{Slice: CleanSlice, Load: func() (data.Dataset, error) { return clean, nil }}}
	cdir := filepath.Join(root, "cache")
	ctx := context.Background()
	o := OutputsOptions{Batch: 8, Logits: true, Features: true}
	c0, _ := NewPredictionCache(cdir)
	want, err := c0.Outputs(ctx, members, ins, torch.CPU, o)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := FingerprintDataset(clean)
	if err != nil {
		t.Fatal(err)
	}
	entry := filepath.Join(cdir, members[0].Hash[:24], fp[:24])
	file := func(n string) string { return filepath.Join(entry, n) }
	readInfo := func() entryInfo {
		var info entryInfo
		b, err := os.ReadFile(file("outputs.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &info); err != nil {
			t.Fatal(err)
		}
		return info
	}
	writeInfo := func(info entryInfo) {
		b, err := json.Marshal(info)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file("outputs.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit := func(name string, f func([]byte) []byte) {
		b, err := os.ReadFile(file(name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file(name), f(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name   string
		damage func()
		warn   string // "" for a silent recomputation
	}{
		{"truncated-probs", func() { edit("probs.npy", func(b []byte) []byte { return b[:len(b)/2] }) }, "probs.npy holds"},
		{"bit-flip-logits", func() { edit("logits.npy", func(b []byte) []byte { b[len(b)-3] ^= 0x10; return b }) }, "logits.npy: SHA-256"},
		{"features-missing", func() { os.Remove(file("features.npy")) }, ""},
		{"probs-directory", func() { os.Remove(file("probs.npy")); os.Mkdir(file("probs.npy"), 0o755) }, "probs.npy holds"},
		{"outputs-json-cut", func() { edit("outputs.json", func(b []byte) []byte { return b[:len(b)/2] }) }, "outputs.json: unexpected end"},
		{"stale-format", func() { info := readInfo(); info.Format = "divres-outputs-1"; writeInfo(info) }, "not the entry of this checkpoint"},
		{"no-checksums", func() { info := readInfo(); info.Files = nil; writeInfo(info) }, "no checksum of probs.npy"},
		{"wrong-labels", func() { info := readInfo(); info.Labels[2] = 7; writeInfo(info) }, "label 7 of image 2"},
		{"bad-sizes", func() { info := readInfo(); info.Classes = 0; writeInfo(info) }, "0 classes"},
		{"nan-with-checksum", func() {
			edit("probs.npy", func(b []byte) []byte {
				binary.LittleEndian.PutUint32(b[len(b)-4:], math.Float32bits(float32(math.NaN())))
				return b
			})
			b, _ := os.ReadFile(file("probs.npy"))
			info := readInfo()
			sum := sumOf(b)
			sum.NonFinite = info.Files["probs.npy"].NonFinite
			info.Files["probs.npy"] = sum
			writeInfo(info)
		}, "probs.npy holds 1 NaN or Inf values, outputs.json says 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.damage()
			var logs bytes.Buffer
			log := logrus.New()
			log.Out, log.Level = &logs, logrus.WarnLevel
			pc, _ := NewPredictionCache(cdir)
			pc.Log = log
			got, err := pc.Outputs(ctx, members, ins, torch.CPU, o)
			if err != nil {
				t.Fatalf("damaged entry: %v", err)
			}
			if pc.ForwardPasses() == 0 {
				t.Error("the damaged entry was trusted: no forward pass")
			}
			if c.warn == "" && logs.Len() != 0 {
				t.Errorf("unexpected warning: %s", logs.String())
			}
			if c.warn != "" && (!strings.Contains(logs.String(), c.warn) || !strings.Contains(logs.String(), "recomputing")) {
				t.Errorf("warning %q, want one naming %q", logs.String(), c.warn)
			}
			a, b := want[0][0], got[0][0]
			if !slices.Equal(a.Probs, b.Probs) || !slices.Equal(a.Logits, b.Logits) || !slices.Equal(a.Features, b.Features) ||
				!slices.Equal(a.Labels, b.Labels) {
				t.Error("recomputed outputs differ from the undamaged ones")
			}
			again, _ := NewPredictionCache(cdir)
			if _, err := again.Outputs(ctx, members, ins, torch.CPU, o); err != nil || again.ForwardPasses() != 0 {
				t.Errorf("repaired entry: %v, %d forward passes", err, again.ForwardPasses())
			}
		})
	}
}
