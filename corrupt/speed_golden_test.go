//go:build amd64

package corrupt

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// TestOutputsUnchanged pins the exact output of every corruption and severity where
// the parity test (../shared/corrupt/reference.npz, pinned by
// testdata/parity_sha256.txt) does not reach: the default random mode (StreamRNG,
// procedural frost) on the 80 reference inputs, both random modes on small odd-sized
// images (CIFAR and ImageNet constants), and the default mode on one 224×224 image
// with the ImageNet constants. testdata/speed_golden.txt
// holds one SHA-256 per (set, corruption) over the five severities' outputs; it was
// written by this test (DIVRES_WRITE_GOLDEN=1) before the speed work on the
// package, so any optimisation that changes a single value fails here.
// amd64 only: Go's math.Exp and math.Log have assembly versions there, and other
// architectures may differ in the last bit.
func TestOutputsUnchanged(t *testing.T) {
	got := map[string]string{}
	add := func(set string, imgs []Image, opt *Options, numpy bool) {
		for _, c := range All() {
			h := sha256.New()
			for sev := 1; sev <= 5; sev++ {
				var nr RNG
				if numpy {
					nr = NewNumpyRNG(uint32(7 + 1000*c.Index + sev))
				}
				sr := &StreamRNG{}
				for i, img := range imgs {
					rng := nr
					if !numpy {
						sr.Reset(11, c.Index, sev, i)
						rng = sr
					}
					h.Write(c.Apply(img, sev, rng, opt).Pix)
				}
			}
			got[set+" "+c.Name] = hex.EncodeToString(h.Sum(nil))
		}
	}
	add("ref80_default", mustParityInputs(t), &Options{Params: CIFAR}, false)
	odd := testImages(3, 20, 27, 3)
	add("odd_cifar_default", odd, &Options{Params: CIFAR}, false)
	add("odd_cifar_numpy", odd, &Options{Params: CIFAR}, true)
	add("odd_imagenet_numpy", odd, &Options{Params: ImageNet}, true)
	add("in224_default", testImages(1, 224, 224, 3), &Options{Params: ImageNet}, false)

	const path = "testdata/speed_golden.txt"
	if os.Getenv("DIVRES_WRITE_GOLDEN") != "" {
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString("# SHA-256 of the outputs of every corruption (severities 1-5) per image set; see TestOutputsUnchanged.\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "%s %s\n", k, got[k])
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	checked := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 3 {
			t.Fatalf("bad line %q in %s", line, path)
		}
		key := fs[0] + " " + fs[1]
		g, ok := got[key]
		if !ok {
			t.Errorf("%s: %s is not computed by this test", path, key)
			continue
		}
		checked++
		if g != fs[2] {
			t.Errorf("%s: output changed (sha256 %s, want %s)", key, g[:16], fs[2][:16])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if checked != len(got) {
		t.Errorf("checked %d of %d (set, corruption) pairs: %s is incomplete", checked, len(got), path)
	}
}
