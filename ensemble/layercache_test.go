package ensemble

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/divres/divres/torch"
)

// TestLayerFeaturesCache: the first call runs the model and stores what
// LayerFeatures computes; a second cache on the same directory serves it with no
// forward pass; another layer name is another entry; a damaged entry and a name
// that is no file name are refused in one line.
func TestLayerFeaturesCache(t *testing.T) {
	root := t.TempDir()
	classes := []string{"a", "b", "c"}
	dir := filepath.Join(root, "m1")
	writeTinyMember(t, dir, 3, classes)
	members, err := OpenPoolMembers([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	m := members[0]
	ds := tinyImages(t, 20, 4, classes)
	ctx := context.Background()
	cdir := filepath.Join(root, "cache")
	c1, _ := NewPredictionCache(cdir)
	f1, d1, err := c1.LayerFeatures(ctx, m, ds, "conv2", torch.CPU, 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c1.ForwardPasses() != 3 || d1 == 0 || len(f1) != 20*d1 {
		t.Fatalf("first call: %d passes, D = %d, %d values", c1.ForwardPasses(), d1, len(f1))
	}
	want, wd, err := LayerFeatures(ctx, m, ds, "conv2", torch.CPU, 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	if wd != d1 || !slices.Equal(want, f1) {
		t.Fatal("cached layer features differ from LayerFeatures")
	}
	c2, _ := NewPredictionCache(cdir)
	f2, d2, err := c2.LayerFeatures(ctx, m, ds, "conv2", torch.CPU, 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c2.ForwardPasses() != 0 || d2 != d1 || !slices.Equal(f2, f1) {
		t.Fatalf("second call: %d passes, D %d vs %d, equal %v", c2.ForwardPasses(), d2, d1, slices.Equal(f2, f1))
	}
	f3, d3, err := c2.LayerFeatures(ctx, m, ds, "conv1", torch.CPU, 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c2.ForwardPasses() != 3 || d3 == d1 || len(f3) != 20*d3 {
		t.Fatalf("other layer: %d passes, D %d (conv2's %d)", c2.ForwardPasses(), d3, d1)
	}
	matches, _ := filepath.Glob(filepath.Join(cdir, "*", "*", "layer-conv2.npy"))
	if len(matches) != 1 {
		t.Fatalf("entries of conv2: %v", matches)
	}
	if err := os.WriteFile(matches[0], []byte("not an npy file"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c2.LayerFeatures(ctx, m, ds, "conv2", torch.CPU, 8, 0); err == nil || !strings.Contains(err.Error(), "layer-conv2.npy") {
		t.Errorf("damaged entry: %v", err)
	}
	if _, _, err := c2.LayerFeatures(ctx, m, ds, "../x", torch.CPU, 8, 0); err == nil || !strings.Contains(err.Error(), `layer name "../x"`) {
		t.Errorf("bad layer name: %v", err)
	}
}
