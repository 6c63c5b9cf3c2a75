//go:build !unix

package corrupt

// processCPUSeconds is unavailable here; benchmarks then report wall-clock rates only.
func processCPUSeconds() float64 { return 0 }
