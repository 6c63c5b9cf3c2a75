package corrupt

import (
	"fmt"
	"testing"
)

// BenchmarkSeverities times every corruption at every severity on one goroutine with
// the default (stream) RNG, as the suite runs them: the per-image cost that the
// 19×5 suite adds up.
//
//	go test -run '^$' -bench 'Severities' -benchtime 2000x ./corrupt
func BenchmarkSeverities(b *testing.B) {
	imgs := benchInputs(b)
	opt := &Options{Params: CIFAR}
	if ft, err := LoadFrostDir(sharedCorrupt + "/frost"); err == nil {
		opt.Frost = ft
	}
	for _, c := range All() {
		for sev := 1; sev <= 5; sev++ {
			b.Run(fmt.Sprintf("%s/%d", c.Name, sev), func(b *testing.B) {
				rng := &StreamRNG{}
				rng.Reset(0, c.Index, sev, 0)
				c.Apply(imgs[0], sev, rng, opt)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					rng.Reset(0, c.Index, sev, i)
					c.Apply(imgs[i%len(imgs)], sev, rng, opt)
				}
			})
		}
	}
}
