package nets

import (
	"slices"
	"testing"

	"github.com/divres/divres/torch"
)

func TestViTForwardBackward(t *testing.T) {
	// vit_small: the smallest supported size (a 4×4 patch grid, interpolated
	// positions), Fashion-MNIST's 28 (7×7, interpolated) and the built 32; grayscale
	// input and 100 classes once.
	for _, size := range []int64{16, 28, 32} {
		ncTrain(t, "vit_small", Config{Style: CIFAR, Width: 0.25}, size)
	}
	ncTrain(t, "vit_small", Config{Style: CIFAR, Width: 0.125, InChannels: 1, Classes: 100}, 28)
	// vit_b_16 at its only size, 224, at width 1/16 (hidden 48, 12 heads of 4).
	ncTrain(t, "vit_b_16", Config{Style: ImageNet, Width: 0.0625}, 224)
}

func TestViTParameterCounts(t *testing.T) {
	// Counted with /usr/bin/python3 and torchvision 0.14.1:
	// VisionTransformer(image_size=32, patch_size=4, num_layers=7, num_heads=4,
	// hidden_dim=256, mlp_dim=512, num_classes=10) has 3,722,250 parameters; with
	// conv_proj replaced by Conv2d(1, 256, 4, 4) and num_classes=100, 3,737,188.
	// (vit_b_16 is checked against ../shared/nets by reference_test.go.)
	for _, c := range []struct {
		cfg  Config
		want int64
	}{
		{Config{Style: CIFAR}, 3_722_250},
		{Config{Style: CIFAR, InChannels: 1, Classes: 100}, 3_737_188},
	} {
		if got := ncCount(t, "vit_small", c.cfg); got != c.want {
			t.Errorf("vit_small %+v: %d parameters, want %d", c.cfg, got, c.want)
		}
	}
}

func TestViTWidthKeepsHeads(t *testing.T) {
	// Width scales the head dimension: at 0.3, 256/4·0.3 = 19.2 → 19 per head, hidden 76.
	n, err := NewUninitialized("vit_small", Config{Style: CIFAR, Width: 0.3}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	v := n.Store.Get("encoder.layers.encoder_layer_0.self_attention.in_proj_weight")
	if v == nil || !slices.Equal(v.T.Shape(), []int64{3 * 76, 76}) {
		t.Fatalf("in_proj_weight %v, want [228 76]", v)
	}
	if got := len(n.Model.(*ViT).layers); got != 7 {
		t.Errorf("%d layers, want 7", got)
	}
}

func TestViTParity(t *testing.T) {
	ncParity(t, "vit_small", CIFAR, 0.125, "vit/vit_small_cifar_w0.125")
}

func TestViTInitialisation(t *testing.T) {
	// torchvision: zero head and class token, N(0, 0.02²) positions, conv_proj
	// truncated normal with std √(1/fan_in).
	torch.ManualSeed(5)
	n, err := New("vit_small", Config{Style: CIFAR}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	std := func(name string) float64 {
		t.Helper()
		v := n.Store.Get(name)
		if v == nil {
			t.Fatalf("no %s", name)
		}
		s, err := v.T.Std(nil, true, false).Item()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, name := range []string{"heads.head.weight", "heads.head.bias", "class_token"} {
		if s := std(name); s != 0 {
			t.Errorf("%s: std %g, want all zeros", name, s)
		}
	}
	if s := std("encoder.pos_embedding"); s < 0.018 || s > 0.022 {
		t.Errorf("pos_embedding std %g, want ≈ 0.02", s)
	}
	if s, want := std("conv_proj.weight"), 1/6.928; s < 0.9*want || s > 1.1*want { // √(3·4·4) = 6.928
		t.Errorf("conv_proj std %g, want ≈ %g", s, want)
	}
}
