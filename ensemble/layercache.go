package ensemble

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/divres/divres/data"
	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/internal/npyfile"
	"github.com/divres/divres/torch"
)

// LayerFeatures returns member m's outputs of layer on ds (N×D float32, as the
// package function LayerFeatures computes them) from the cache, running the model
// only when they are not stored. The entry is keyed by the checkpoint, the input
// fingerprint and the layer name: DIR/<checkpoint hash>/<input fingerprint>/
// layer-<name>.npy, written atomically.
func (c *PredictionCache) LayerFeatures(ctx context.Context, m PoolMember, ds data.Dataset, layer string, dev torch.Device,
	batch, workers int) ([]float32, int, error) {
	if !validLayerName(layer) {
		return nil, 0, fmt.Errorf("ensemble: layer name %q: want a state_dict prefix such as layer4 or features.7", layer)
	}
	fp, err := FingerprintDataset(ds)
	if err != nil {
		return nil, 0, fmt.Errorf("ensemble: layer %s: %w", layer, err)
	}
	path := filepath.Join(c.Dir, m.Hash[:24], fp[:24], "layer-"+layer+".npy")
	f, d, err := readLayerEntry(path, ds.Len())
	if err == nil {
		return f, d, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, 0, fmt.Errorf("ensemble: prediction cache: %w (delete the file to recompute)", err)
	}
	f, d, err = LayerFeatures(ctx, m, ds, layer, dev, batch, workers)
	if err != nil {
		return nil, 0, err
	}
	if batch <= 0 {
		batch = 256
	}
	c.passes.Add(int64((ds.Len() + batch - 1) / batch))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, 0, fmt.Errorf("prediction cache: %w", err)
	}
	if err := atomicfile.Write(path, func(w io.Writer) error { return npyfile.WriteFloat32(w, []int{ds.Len(), d}, f) }); err != nil {
		return nil, 0, fmt.Errorf("prediction cache: %w", err)
	}
	return f, d, nil
}

// readLayerEntry reads a stored (n, D) layer output; an error wrapping
// os.ErrNotExist means there is none.
func readLayerEntry(path string, n int) ([]float32, int, error) {
	f, err := npyfile.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	if len(f.Shape) != 2 || f.Shape[0] != n || f.Shape[1] <= 0 {
		return nil, 0, fmt.Errorf("%s has shape %v, want (%d, D)", path, f.Shape, n)
	}
	v, err := f.ReadFloat32s(0, f.Elems())
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return v, f.Shape[1], nil
}

// validLayerName reports whether name is a state_dict prefix that is safe as a
// file name: letters, digits, '_' and '.', not starting with '.'.
func validLayerName(name string) bool {
	if name == "" || name[0] == '.' {
		return false
	}
	for _, r := range name {
		if !(r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
