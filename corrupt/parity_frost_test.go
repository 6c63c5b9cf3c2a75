package corrupt

import "testing"

// loadParityFrost returns the original frost textures from dir for the parity test,
// or nil while the frost loader (LoadFrostDir, weather helper) does not exist yet.
// TODO(corrupt core): call LoadFrostDir(dir) once it is available.
func loadParityFrost(t *testing.T, dir string) *FrostTextures {
	t.Helper()
	_ = dir
	return nil
}
