package nas

import (
	"math/rand"
	"slices"
	"testing"

	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

// TestMaxGenomeIsResNet50: the super-network with the full genome gives bitwise the
// outputs of nets' resnet50 on the same weights, in both styles and both modes.
func TestMaxGenomeIsResNet50(t *testing.T) {
	for _, st := range []nets.Style{nets.CIFAR, nets.ImageNet} {
		sn, e := newSuper(t, st, 0.125, 3, 10, 1)
		randomizeBN(t, e)
		ref, err := nets.NewUninitialized("resnet50", nets.Config{Style: st, Width: 0.125, Classes: 10}, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		defer ref.Close()
		if err := ref.Store.CopyFrom(sn.Store, true); err != nil {
			t.Fatalf("%s: state_dicts differ: %v", st, err)
		}
		x, shape := randImages(2, 3, 32, 7)
		for _, training := range []bool{false, true} {
			a := forward(t, e, sn.Store, x, shape, training)
			b := forward(t, ref.Model, ref.Store, x, shape, training)
			if !slices.Equal(a, b) {
				t.Fatalf("%s training=%v: super-network %v, resnet50 %v", st, training, a[:4], b[:4])
			}
		}
		if sn.Store.NumParams() != ref.Store.NumParams() {
			t.Fatalf("%s: %d parameters, resnet50 %d", st, sn.Store.NumParams(), ref.Store.NumParams())
		}
	}
}

// TestMACsResNet50 checks the analytic count against the published ImageNet figure
// and against nets' metered count (every convolution and linear layer as it runs;
// at 224 pixels not with -short).
func TestMACsResNet50(t *testing.T) {
	for _, c := range []struct {
		style   nets.Style
		size    int64
		classes int64
		want    int64
	}{
		{nets.ImageNet, 224, 1000, 4_089_184_256},
		{nets.CIFAR, 32, 10, 325_799_936},
	} {
		metered := c.want
		if !testing.Short() || c.size < 224 {
			ref, err := nets.NewUninitialized("resnet50", nets.Config{Style: c.style, Classes: c.classes}, torch.CPU)
			if err != nil {
				t.Fatal(err)
			}
			metered, err = ref.MACs(c.size)
			ref.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		sn, err := nets.NewUninitialized(SupernetArch, nets.Config{Style: c.style, Classes: c.classes}, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		e := sn.Model.(*Elastic)
		got, err := e.MACs(e.Space().Max(), c.size)
		sn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want || metered != c.want {
			t.Errorf("%s %d: analytic %d, metered %d, want %d", c.style, c.size, got, metered, c.want)
		}
	}
}

// TestMACsSubnets: the analytic count of random genomes equals the metered count of
// the standalone sub-network they describe, and shrinking never adds MACs.
func TestMACsSubnets(t *testing.T) {
	_, e := newSuper(t, nets.CIFAR, 0.125, 1, 10, 2)
	if err := e.SetSpace(tinySpace()); err != nil {
		t.Fatal(err)
	}
	full, _ := e.MACs(e.Space().Max(), 32)
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 4; i++ {
		g := e.Space().Random(rng, true, true)
		if err := e.SetGenome(g); err != nil {
			t.Fatal(err)
		}
		got, err := e.MACs(g, 32)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := nets.NewUninitialized(SubnetArch(e.InnerWidths()), nets.Config{Style: nets.CIFAR, Width: 0.125, InChannels: 1, Classes: 10}, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		metered, err := sub.MACs(32)
		sub.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != metered || got > full {
			t.Fatalf("genome %s: analytic %d, metered %d (full %d)", g.Key(), got, metered, full)
		}
	}
}

func TestGenomeKeyRoundTrip(t *testing.T) {
	s := ResNet50Space()
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		g := s.Random(rng, true, true)
		back, err := s.ParseGenome(g.Key())
		if err != nil || back.Key() != g.Key() {
			t.Fatalf("%s → %v (%v)", g.Key(), back, err)
		}
		if d := s.Decode(s.Encode(g)); d.Key() != g.Key() {
			t.Fatalf("encode/decode %s → %s", g.Key(), d.Key())
		}
	}
	if s.Max().Key() != "d3463-w000.0000.000000.000" {
		t.Fatalf("max key %s", s.Max().Key())
	}
	for _, bad := range []string{"", "d3463", "d9463-w000.0000.000000.000", "d3463-w000.0000.000000.003", "d3463-w00.0000.000000.000"} {
		if _, err := s.ParseGenome(bad); err == nil {
			t.Errorf("ParseGenome(%q) accepted", bad)
		}
	}
	// Inner widths: multiples of 8, within [8, full].
	for _, c := range []struct {
		full int64
		ch   int
		want int64
	}{{64, 1, 48}, {64, 2, 40}, {128, 1, 104}, {512, 2, 304}, {8, 2, 8}, {4, 2, 4}} {
		if got := s.InnerWidth(c.full, c.ch); got != c.want {
			t.Errorf("InnerWidth(%d, %d) = %d, want %d", c.full, c.ch, got, c.want)
		}
	}
}
