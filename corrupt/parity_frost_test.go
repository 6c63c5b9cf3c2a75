package corrupt

import "testing"

// loadParityFrost returns the original frost textures from dir for the parity test,
// or nil (frost is then skipped) when they cannot be read.
func loadParityFrost(t *testing.T, dir string) *FrostTextures {
	t.Helper()
	ft, err := LoadFrostDir(dir)
	if err != nil {
		t.Logf("frost textures: %v", err)
		return nil
	}
	return ft
}
