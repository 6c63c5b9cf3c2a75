package corrupt

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
)

// The parity test reproduces ../shared/corrupt/reference.npz: numpy mode, seed 0
// (numpy's generator reseeded with 1000·ci + severity before each corruption ×
// severity batch, images in order), CIFAR constants, the original frost textures.
// `go test -run Parity -v` prints the identical fraction per array and corruption.

const sharedCorrupt = "../../shared/corrupt"

var parityInputs = sync.OnceValues(func() ([]Image, error) {
	src, err := OpenNPYImages(sharedCorrupt + "/inputs.npy")
	if err != nil {
		return nil, err
	}
	defer src.Close()
	imgs := make([]Image, src.Len())
	for i := range imgs {
		if imgs[i], err = src.Image(i); err != nil {
			return nil, err
		}
	}
	return imgs, nil
})

// parityFrost loads the original frost textures, or returns nil when the loader is
// not available.
func parityFrost(t *testing.T) *FrostTextures {
	return loadParityFrost(t, sharedCorrupt+"/frost")
}

type parityRow struct {
	name      string
	identical [5]float64
	maxDiff   [5]int
}

func TestParity(t *testing.T) {
	inputs, err := parityInputs()
	if err != nil {
		t.Skipf("reference inputs not available: %v", err)
	}
	ref, err := npz.Open(sharedCorrupt + "/reference.npz")
	if err != nil {
		t.Skipf("reference.npz not available: %v", err)
	}
	defer ref.Close()
	opt := &Options{Params: CIFAR}
	var rows []parityRow
	for ci, name := range Names {
		c, ok := registry[name]
		if !ok {
			t.Run(name, func(t *testing.T) { t.Skipf("%s is not registered yet", name) })
			continue
		}
		if name == "frost" {
			opt.Frost = parityFrost(t)
			if opt.Frost == nil {
				t.Run(name, func(t *testing.T) { t.Skip("original frost textures not available") })
				continue
			}
		}
		row := parityRow{name: name}
		t.Run(name, func(t *testing.T) {
			for sev := 1; sev <= 5; sev++ {
				var want []uint8
				key := fmt.Sprintf("%s_%d.npy", name, sev)
				if err := ref.Read(key, &want); err != nil {
					t.Fatalf("read %s: %v", key, err)
				}
				rng := NewNumpyRNG(uint32(1000*ci + sev))
				same, total, maxd := 0, 0, 0
				for i, img := range inputs {
					out := c.Apply(img, sev, rng, opt)
					exp := want[i*len(img.Pix) : (i+1)*len(img.Pix)]
					for k, v := range out.Pix {
						d := int(v) - int(exp[k])
						if d < 0 {
							d = -d
						}
						if d == 0 {
							same++
						}
						if d > maxd {
							maxd = d
						}
						total++
					}
				}
				frac := float64(same) / float64(total)
				row.identical[sev-1] = frac
				row.maxDiff[sev-1] = maxd
				if frac < 0.999 || maxd > 1 {
					t.Errorf("%s severity %d: %.4f%% identical, max |diff| %d", name, sev, 100*frac, maxd)
				}
			}
		})
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].name < rows[j].name })
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-18s %9s %9s %9s %9s %9s  maxdiff\n", "corruption", "sev1", "sev2", "sev3", "sev4", "sev5")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-18s", r.name)
		for _, f := range r.identical {
			fmt.Fprintf(&b, " %8.4f%%", 100*f)
		}
		fmt.Fprintf(&b, "  %v\n", r.maxDiff)
	}
	t.Log(b.String())
}
