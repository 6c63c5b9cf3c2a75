package corrupt

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// BenchmarkSeverities times every corruption at every severity on one goroutine with
// the default (stream) RNG, as the suite runs them: the per-image cost that the
// 19×5 suite adds up.
//
//	go test -run '^$' -bench 'Severities' -benchtime 2000x ./corrupt
func BenchmarkSeverities(b *testing.B) {
	imgs := benchInputs(b)
	opt := &Options{Params: CIFAR, Frost: mustParityFrost(b)}
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

// BenchmarkSetCLI runs what `divres corrupt --corruptions all --severities 1-5
// --workers 2` does after start-up (procedural frost, Run into a SetWriter, Commit)
// on the images of $DIVRES_SET_IN (skipped when unset), writing to a temporary
// directory: a profile of it shows the runner's and the writer's share.
func BenchmarkSetCLI(b *testing.B) {
	in := os.Getenv("DIVRES_SET_IN")
	if in == "" {
		b.Skip("DIVRES_SET_IN not set")
	}
	for i := 0; i < b.N; i++ {
		src, err := OpenNPYImages(in)
		if err != nil {
			b.Fatal(err)
		}
		opt := &Options{Params: CIFAR, Frost: ProceduralFrost(0)}
		cs := All()
		names := make([]string, len(cs))
		for k, c := range cs {
			names[k] = c.Name
		}
		h, w, ch := src.Shape()
		sw, err := CreateSet(b.TempDir(), names, []int{1, 2, 3, 4, 5}, src.Len(), h, w, ch, SetInfo{})
		if err != nil {
			b.Fatal(err)
		}
		cfg := RunConfig{Corruptions: cs, Severities: []int{1, 2, 3, 4, 5}, Workers: 2, Options: opt}
		if err := Run(context.Background(), src, cfg, sw.Write); err != nil {
			b.Fatal(err)
		}
		if err := sw.Commit(nil); err != nil {
			b.Fatal(err)
		}
		src.Close()
	}
}
